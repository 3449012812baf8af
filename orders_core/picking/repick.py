"""After a short pick: a new pick task for the remainder, and loading an order once its picks cover it.

Used by the short-pick recovery (orders_core.orders.recovery.short_pick); the task is built like a wave's
(same slots, same route solver), for one order, with a cart sized to the remainder.
"""

from __future__ import annotations

from collections.abc import Sequence

from orders_core.orders.lifecycle import advance_order, load_order
from orders_core.orders.model import AllocatedLine, OrderStatus
from orders_core.picking.model import PickTask
from orders_core.picking.repository import PickingRepository
from orders_core.picking.service import _order_fully_picked, _pick_items, _write_tasks, load_layout
from orders_core.unit_of_work import UnitOfWork
from warehouse_picking.params import DEFAULT_PICKING_PARAMS, PickingParams
from warehouse_picking.waves import CartLimits, batch_orders


def create_repick_task(
    uow: UnitOfWork,
    warehouse_id: str,
    order_id: str,
    lines: Sequence[tuple[str, int]],
    *,
    actor: str,
    params: PickingParams = DEFAULT_PICKING_PARAMS,
) -> list[PickTask]:
    """Pick tasks for ``lines`` (sku, qty) of one order at one warehouse; the order's status is left as it
    is (the caller moves it). One cart carries the whole remainder: it fitted one before."""
    layout = load_layout(uow, warehouse_id)
    allocated = [AllocatedLine(order_id=order_id, warehouse_id=warehouse_id, sku=s, qty=q) for s, q in lines if q > 0]
    items = _pick_items(uow, warehouse_id, layout, allocated)
    units = items[order_id]
    cart = CartLimits(
        max_items=sum(i.qty for i in units),
        max_weight_kg=sum(i.qty * i.unit_weight_kg for i in units) + 1.0,
        max_volume_m3=sum(i.qty * i.unit_volume_m3 for i in units) + 1.0,
    )
    batches = batch_orders(layout, items, cart, params=params)
    return _write_tasks(uow, warehouse_id, batches, {order_id}, actor=actor, reason_code="repick")


def load_if_fully_picked(uow: UnitOfWork, order_id: str, *, actor: str, reason: str) -> bool:
    """Move a ``picking`` order to ``loaded`` when its confirmed picks cover every shipment line; answers
    whether it moved."""
    order = load_order(uow, order_id)
    if order.status != OrderStatus.PICKING.value:
        return False
    steps = PickingRepository(uow.session).step_rows_of_orders([order_id])
    if not steps or not _order_fully_picked(uow, order_id, steps):
        return False
    advance_order(uow, order_id, OrderStatus.LOADED, actor=actor, reason_code="picked", reason=reason)
    return True
