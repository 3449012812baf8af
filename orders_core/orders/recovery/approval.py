"""Approving a short pick or a stock shortage with the dispatcher's strategy (called by
``orders_core.orders.exceptions_flow.approve_exception`` for these kinds)."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from foundation.clock import utc_now
from orders_core.orders.lifecycle import advance_order, load_order, record_order_event
from orders_core.orders.model import ExceptionStatus, OrderStatus
from orders_core.orders.pipeline import StockPort, continue_pipeline
from orders_core.orders.recovery.lines import BACKORDER_LINES, place_backorder
from orders_core.orders.recovery.ports import RecoveryStock
from orders_core.orders.recovery.short_pick import apply_short_pick_strategy, resume_picking
from orders_core.orders.recovery.shortage import apply_shortage_strategy, stock_covers
from orders_core.orders.recovery.strategies import SHORT_PICK, STRATEGIES, RecoveryChoice, Strategy, chosen_strategy
from orders_core.orders.repository import OrderRepository
from orders_core.orders.root_causes import root_cause_after_resolution
from orders_core.orders.tables import ExceptionRow
from orders_core.unit_of_work import UnitOfWork

#: Exception kinds whose approval takes a strategy.
RECOVERY_KINDS = frozenset(STRATEGIES)


def approve_with_strategy(
    uow: UnitOfWork,
    stock: StockPort,
    row: ExceptionRow,
    choice: RecoveryChoice | None,
    *,
    actor: str,
    price_tolerance: Decimal,
    note: str | None,
) -> None:
    """Apply the chosen (or default) strategy, mark ``row`` approved with its ``details.resolution``, and
    release the hold when nothing else keeps the order there."""
    strategy, remainder = chosen_strategy(row.kind, choice)
    port = cast(RecoveryStock, stock)
    if row.kind == SHORT_PICK:
        resolution = apply_short_pick_strategy(
            uow, port, row, strategy, remainder, actor=actor, price_tolerance=price_tolerance
        )
    else:
        resolution = apply_shortage_strategy(
            uow, port, row, strategy, remainder, actor=actor, price_tolerance=price_tolerance
        )
    row.status = ExceptionStatus.APPROVED.value
    row.resolved_at = utc_now()
    row.resolved_by = actor
    row.note = note
    row.details = {**(row.details or {}), "resolution": resolution}
    row.root_cause = root_cause_after_resolution(row.kind, row.root_cause, resolution.get("strategy"))
    order = load_order(uow, row.order_id)
    still_open = [
        e
        for e in OrderRepository(uow.session).exception_rows_of(order.id, status=ExceptionStatus.OPEN.value)
        if e.id != row.id
    ]
    reason = note or f"{row.kind.replace('_', ' ')} approved: {strategy.value}"
    covered_now = strategy is Strategy.WAIT_FOR_STOCK and not still_open and stock_covers(uow, port, order)
    if strategy in (Strategy.WAIT_FOR_STOCK, Strategy.TRANSFER) and not covered_now:
        record_order_event(uow, order.id, actor=actor, reason_code="waiting_for_stock", reason=reason)
    elif order.status == OrderStatus.ON_HOLD.value and not still_open:
        if row.kind == SHORT_PICK:
            resume_picking(uow, order.id, actor=actor, reason_code=f"{row.kind}_approved", reason=reason)
        else:
            back_to = OrderStatus(order.held_from or OrderStatus.CREDIT_REVIEW.value)
            advance_order(uow, order.id, back_to, actor=actor, reason_code=f"{row.kind}_approved", reason=reason)
            continue_pipeline(uow, stock, order.id, price_tolerance=price_tolerance, actor=actor)
            if covered_now:  # stock arrived by a way that retries nothing (a cancellation freed it)
                resolution["allocated_at_once"] = order.status == OrderStatus.ALLOCATED.value
                row.details = {**(row.details or {}), "resolution": resolution}
    pending = resolution.pop(BACKORDER_LINES, None)
    if pending:
        lines = [(str(sku), int(qty), Decimal(price)) for sku, qty, price in pending]
        resolution["backorder_id"] = place_backorder(
            uow, stock, order.id, lines, actor=actor, price_tolerance=price_tolerance
        )
        row.details = {**(row.details or {}), "resolution": resolution}
    uow.session.flush()
