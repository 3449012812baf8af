"""Approving a stock shortage leads somewhere, and held orders are retried when stock arrives.

Before, approving released the hold and re-ran allocation at once: with the stock still missing the order
was held again with a new exception. Now the dispatcher chooses: wait for stock (the default), execute the
transfer suggestion, or ship what is available now. Orders waiting for stock (an open shortage exception,
or one approved to wait or transfer) are retried through the normal allocation path whenever stock arrives,
highest priority first, then oldest first; each retry is its own transaction and leaves nothing behind
when the stock still does not cover the order.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import case, select

from foundation.clock import utc_now
from foundation.errors import Conflict
from orders_core.master_data.repository import MasterDataRepository
from orders_core.orders.allocation import describe_shortage, plan_allocation
from orders_core.orders.lifecycle import advance_order, load_order
from orders_core.orders.model import ORDER_PRIORITIES, ExceptionStatus, OrderStatus
from orders_core.orders.pipeline import continue_pipeline
from orders_core.orders.recovery.lines import BACKORDER_LINES, reduce_order_lines
from orders_core.orders.recovery.ports import RecoveryStock
from orders_core.orders.recovery.strategies import STOCK_SHORTAGE, Remainder, Strategy
from orders_core.orders.repository import OrderRepository
from orders_core.orders.root_causes import RootCause
from orders_core.orders.tables import ExceptionRow, OrderLineRow, OrderRow
from orders_core.stock.service import StockService
from orders_core.stock.transfers import RequestTransfer, request_transfer_in
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory

#: Approved shortages whose order still waits for stock.
WAITING_STRATEGIES = frozenset({Strategy.WAIT_FOR_STOCK.value, Strategy.TRANSFER.value})


class NothingToShip(Conflict):
    """A partial shipment was chosen but no unit of the order is available anywhere."""

    code = "nothing_available"


class NoTransferPossible(Conflict):
    """The transfer strategy was chosen but no other warehouse has units to send."""

    code = "no_transfer_possible"


def _demand(uow: UnitOfWork, order_id: str) -> dict[str, int]:
    demand: dict[str, int] = {}
    for line in OrderRepository(uow.session).priced_lines(order_id):
        demand[line.sku] = demand.get(line.sku, 0) + line.qty
    return demand


def _availability(uow: UnitOfWork, stock: RecoveryStock, order: OrderRow) -> tuple[dict[str, int], Any, Any]:
    demand = _demand(uow, order.id)
    available = stock.available_by_warehouse(uow, demand.keys())
    sites = MasterDataRepository(uow.session).warehouse_sites()
    return demand, available, sites


def stock_covers(uow: UnitOfWork, stock: RecoveryStock, order: OrderRow) -> bool:
    """Whether the warehouses' free stock covers the whole order now (a plan exists)."""
    demand, available, sites = _availability(uow, stock, order)
    return plan_allocation(demand, available, sites, (order.delivery_lat, order.delivery_lng)) is not None


def apply_shortage_strategy(
    uow: UnitOfWork,
    stock: RecoveryStock,
    row: ExceptionRow,
    strategy: Strategy,
    remainder: Remainder,
    *,
    actor: str,
    price_tolerance: Decimal,
) -> dict[str, Any]:
    """Carry out ``strategy`` for the open shortage ``row`` (the caller marks it approved); answers what
    was done (``details.resolution``). Only ``ship_available`` lets the order leave hold here."""
    order = load_order(uow, row.order_id)
    if order.status != OrderStatus.ON_HOLD.value:
        raise NothingToShip(f"order {order.id} is {order.status}, not held for stock")
    demand, available, sites = _availability(uow, stock, order)
    delivery = (order.delivery_lat, order.delivery_lng)
    if strategy is Strategy.WAIT_FOR_STOCK:
        return {"strategy": strategy.value, "waiting_since": utc_now().isoformat()}
    if strategy is Strategy.TRANSFER:
        report = describe_shortage(demand, available, sites, delivery)
        by_source: dict[str, list[tuple[str, int]]] = {}
        for t in report.transfers:
            by_source.setdefault(t.from_warehouse_id, []).append((t.sku, t.qty))
        if not by_source or report.nearest_warehouse_id is None:
            raise NoTransferPossible(f"no other warehouse has units of {', '.join(sorted(demand))} to send")
        transfer_ids = [
            request_transfer_in(
                uow,
                stock,  # type: ignore[arg-type]  # the StockService behind the port
                RequestTransfer(
                    from_warehouse_id=source,
                    to_warehouse_id=report.nearest_warehouse_id,
                    lines=tuple(lines),
                    order_id=order.id,
                    exception_id=row.id,
                    note=f"for order {order.id} (exception {row.id})",
                ),
                actor=actor,
            ).id
            for source, lines in sorted(by_source.items())
        ]
        return {
            "strategy": strategy.value,
            "transfer_ids": transfer_ids,
            "to_warehouse_id": report.nearest_warehouse_id,
            "still_missing": report.still_missing_at_nearest,
        }
    # Ship what is available now.
    totals = {sku: sum(max(0, available.get(w, {}).get(sku, 0)) for w in sites) for sku in demand}
    shipping = {sku: min(qty, totals[sku]) for sku, qty in demand.items()}
    if not any(shipping.values()):
        raise NothingToShip(f"none of {', '.join(sorted(demand))} is available at any warehouse")
    cut = {sku: qty - shipping[sku] for sku, qty in demand.items() if qty > shipping[sku]}
    if plan_allocation(shipping, available, sites, delivery) is None:  # pragma: no cover - covered by totals
        raise NothingToShip("the available units cannot be allocated")
    taken = reduce_order_lines(uow, order.id, cut, actor=actor, reason="shipping what is available now")
    resolution: dict[str, Any] = {
        "strategy": strategy.value,
        "remainder": remainder.value,
        "shipping": {s: q for s, q in shipping.items() if q},
        "left_out": cut,
    }
    if remainder is Remainder.BACKORDER and taken:
        # Placed once this order is allocated (approval.py), so the back-order cannot take its stock.
        resolution[BACKORDER_LINES] = [[sku, qty, str(price)] for sku, qty, price in taken]
    return resolution


# --- retries when stock arrives -------------------------------------------------------------------------


@dataclass
class RetryOutcome:
    """Orders a retry allocated, and those still waiting (in the order they were tried)."""

    allocated: list[str] = field(default_factory=list)
    still_waiting: list[str] = field(default_factory=list)


def _priority_rank() -> Any:
    return case({p: i for i, p in enumerate(ORDER_PRIORITIES)}, value=OrderRow.priority, else_=1)


def waiting_order_ids(uow: UnitOfWork, *, skus: Collection[str] | None = None, limit: int = 500) -> list[str]:
    """Held orders waiting for stock (needing any of ``skus`` when given): highest priority first, then oldest."""
    query = (
        select(OrderRow.id, ExceptionRow.status, ExceptionRow.details)
        .join(ExceptionRow, ExceptionRow.order_id == OrderRow.id)
        .where(
            OrderRow.status == OrderStatus.ON_HOLD.value,
            ExceptionRow.kind == STOCK_SHORTAGE,
            ExceptionRow.status.in_([ExceptionStatus.OPEN.value, ExceptionStatus.APPROVED.value]),
        )
        .order_by(_priority_rank().desc(), OrderRow.created_at, OrderRow.id, ExceptionRow.created_at)
    )
    if skus is not None:
        needing = select(OrderLineRow.order_id).where(OrderLineRow.sku.in_(list(skus)))
        query = query.where(OrderRow.id.in_(needing))
    found: dict[str, bool] = {}
    for order_id, status, details in uow.session.execute(query):
        resolution = (details or {}).get("resolution") or {}
        waiting = status == ExceptionStatus.OPEN.value or resolution.get("strategy") in WAITING_STRATEGIES
        found[order_id] = found.get(order_id, False) or waiting
    return [order_id for order_id, waiting in found.items() if waiting][:limit]


def retry_order(
    uow: UnitOfWork, stock: RecoveryStock, order_id: str, *, price_tolerance: Decimal, actor: str, reason: str
) -> bool:
    """Try the order's allocation again (normal path) if stock now covers it; answers whether it is
    allocated. On False the caller must not commit (a lost race may have opened an exception)."""
    order = load_order(uow, order_id)
    if order.status != OrderStatus.ON_HOLD.value:
        return False
    repository = OrderRepository(uow.session)
    open_rows = repository.exception_rows_of(order_id, status=ExceptionStatus.OPEN.value)
    if any(row.kind != STOCK_SHORTAGE for row in open_rows):
        return False  # another problem still needs a person
    if not stock_covers(uow, stock, order):
        return False
    back_to = OrderStatus(order.held_from or OrderStatus.CREDIT_REVIEW.value)
    advance_order(uow, order_id, back_to, actor=actor, reason_code="stock_arrived", reason=reason)
    continue_pipeline(uow, stock, order_id, price_tolerance=price_tolerance, actor=actor)
    if order.status != OrderStatus.ALLOCATED.value:
        return False
    now = utc_now()
    for row in open_rows:
        row.status = ExceptionStatus.CLOSED.value
        row.resolved_at = now
        row.resolved_by = actor
        row.note = f"resolved automatically: {reason}"
        row.root_cause = RootCause.SUPPLIER_LEAD_TIME.value  # it waited for stock to arrive
    uow.session.flush()
    return True


def retry_waiting_orders(
    new_uow: UnitOfWorkFactory,
    stock: RecoveryStock,
    *,
    price_tolerance: Decimal,
    skus: Collection[str] | None = None,
    reason: str = "stock arrived",
    actor: str = "system",
    limit: int = 500,
) -> RetryOutcome:
    """Retry every order waiting for stock (of ``skus``), highest priority first, then oldest, each in its
    own transaction: an order the stock now covers is allocated; the others stay held, untouched."""
    with new_uow() as uow:
        candidates = waiting_order_ids(uow, skus=skus, limit=limit)
    outcome = RetryOutcome()
    for order_id in candidates:
        with new_uow() as uow:
            if retry_order(uow, stock, order_id, price_tolerance=price_tolerance, actor=actor, reason=reason):
                uow.commit()
                outcome.allocated.append(order_id)
            else:
                outcome.still_waiting.append(order_id)
    return outcome


def set_stock_and_retry(
    new_uow: UnitOfWorkFactory,
    stock: StockService,
    warehouse_id: str,
    sku: str,
    on_hand: int,
    *,
    price_tolerance: Decimal,
    actor: str = "system",
) -> tuple[Any, RetryOutcome]:
    """Set a stock level (``orders_core.stock.levels.set_stock_level``); when on hand rose, retry the
    orders waiting for that SKU. Answers (the level, the retry's outcome)."""
    from orders_core.stock.levels import set_stock_level
    from orders_core.stock.model import StockLevelNotFound

    with new_uow() as uow:
        try:
            before = stock.level(uow, warehouse_id, sku).on_hand
        except StockLevelNotFound:
            before = 0
    level = set_stock_level(new_uow, stock, warehouse_id, sku, on_hand)
    if level.on_hand <= before:
        return level, RetryOutcome()
    reason = f"stock of {sku} at {warehouse_id} raised to {level.on_hand}"
    outcome = retry_waiting_orders(
        new_uow, stock, price_tolerance=price_tolerance, skus=[sku], reason=reason, actor=actor
    )
    if outcome.allocated:  # answer the level as the retries left it
        with new_uow() as uow:
            level = stock.level(uow, warehouse_id, sku)
    return level, outcome


def advance_transfer_and_retry(
    new_uow: UnitOfWorkFactory,
    stock: StockService,
    transfer_id: str,
    to_status: str,
    *,
    price_tolerance: Decimal,
    actor: str,
    note: str | None = None,
) -> tuple[Any, RetryOutcome]:
    """Move a transfer one step (``orders_core.stock.transfers.advance_transfer``); once ``received``,
    retry the orders waiting for its SKUs (the order it was made for among them)."""
    from orders_core.stock.transfers import advance_transfer

    view = advance_transfer(new_uow, stock, transfer_id, to_status, actor=actor, note=note)
    if view.status != "received":
        return view, RetryOutcome()
    reason = f"transfer {view.id} received at {view.to_warehouse_id}"
    skus = [sku for sku, _ in view.lines]
    return view, retry_waiting_orders(new_uow, stock, price_tolerance=price_tolerance, skus=skus, reason=reason)
