"""Approving a short pick leads somewhere: a re-pick of the missing units, or shipping what was picked.

Before, approval only released the hold: the order sat in ``picking`` with its task completed, no new wave
picked the rest and the missing units stayed reserved.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from foundation.errors import Conflict
from orders_core.orders.lifecycle import advance_order, load_order
from orders_core.orders.model import OrderStatus
from orders_core.orders.recovery.lines import BACKORDER_LINES, reduce_order_lines, reduce_shipment_line
from orders_core.orders.recovery.ports import RecoveryStock
from orders_core.orders.recovery.strategies import Remainder, Strategy
from orders_core.orders.tables import ExceptionRow
from orders_core.stock.model import ReservationLine
from orders_core.unit_of_work import UnitOfWork


class ShortPickNotRecoverable(Conflict):
    """The short pick's order or stock no longer allows the chosen way out."""

    code = "short_pick_not_recoverable"


def _held_units(uow: UnitOfWork, stock: RecoveryStock, order_id: str, warehouse_id: str, sku: str) -> int:
    return sum(
        line.qty
        for line in stock.reservations_of(uow, order_id)
        if line.warehouse_id == warehouse_id and line.sku == sku
    )


def apply_short_pick_strategy(
    uow: UnitOfWork,
    stock: RecoveryStock,
    row: ExceptionRow,
    strategy: Strategy,
    remainder: Remainder,
    *,
    actor: str,
    price_tolerance: Decimal,
) -> dict[str, Any]:
    """Carry out ``strategy`` for the short pick ``row`` (still open; the caller marks it approved and
    releases the hold); answers what was done, for the exception's ``details.resolution``."""
    details = row.details or {}
    order_id, warehouse_id, sku = row.order_id, str(details["warehouse_id"]), str(details["sku"])
    missing = int(details["qty"]) - int(details["picked_qty"])
    order = load_order(uow, order_id)
    if order.status != OrderStatus.ON_HOLD.value or order.held_from != OrderStatus.PICKING.value:
        raise ShortPickNotRecoverable(f"order {order_id} is {order.status}, not held in picking")
    held = _held_units(uow, stock, order_id, warehouse_id, sku)
    if held < missing:
        raise ShortPickNotRecoverable(
            f"order {order_id} holds {held} of the {missing} missing {sku} at {warehouse_id}; nothing left to"
            " re-pick or release"
        )
    if strategy is Strategy.REPICK:
        from orders_core.picking.repick import create_repick_task  # picking builds on orders

        tasks = create_repick_task(uow, warehouse_id, order_id, [(sku, missing)], actor=actor)
        return {"strategy": strategy.value, "pick_task_ids": [t.id for t in tasks], "qty": missing}
    # Ship what was picked: the remainder's hold goes back, the order and its shipment shrink.
    stock.release_lines(uow, order_id, [ReservationLine(warehouse_id, sku, missing)])
    reduce_shipment_line(uow, order_id, warehouse_id, sku, missing)
    taken = reduce_order_lines(
        uow, order_id, {sku: missing}, actor=actor, reason=f"short pick of {sku} at {warehouse_id} shipped as picked"
    )
    if not any(True for _ in _remaining_lines(uow, order_id)):
        raise ShortPickNotRecoverable(f"nothing of order {order_id} was picked; re-pick or reject instead")
    resolution: dict[str, Any] = {"strategy": strategy.value, "remainder": remainder.value, "qty": missing}
    if remainder is Remainder.BACKORDER:
        resolution[BACKORDER_LINES] = [[s, q, str(price)] for s, q, price in taken]  # placed by approval.py
    return resolution


def _remaining_lines(uow: UnitOfWork, order_id: str) -> list[Any]:
    from orders_core.orders.repository import OrderRepository

    return [line for line in OrderRepository(uow.session).priced_lines(order_id) if line.qty > 0]


def resume_picking(uow: UnitOfWork, order_id: str, *, actor: str, reason_code: str, reason: str) -> None:
    """Back from hold to ``picking``, then ``loaded`` at once if the confirmed picks already cover it."""
    from orders_core.picking.repick import load_if_fully_picked

    advance_order(uow, order_id, OrderStatus.PICKING, actor=actor, reason_code=reason_code, reason=reason)
    load_if_fully_picked(uow, order_id, actor=actor, reason="picks complete after the short pick was resolved")
