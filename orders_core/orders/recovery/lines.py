"""Shrinking an order to what ships (a partial shipment), and back-ordering the rest as a new order.

The order's lines, total and (when allocated) shipment lines are lowered in the caller's transaction and
the change is written on the order's timeline (``lines_adjusted``), so the record says what ships and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from sqlalchemy import select

from foundation.clock import utc_now
from foundation.money import MONEY_QUANTUM
from orders_core.orders.lifecycle import load_order, record_order_event
from orders_core.orders.model import DeliveryPoint, OrderLine, PlaceOrder
from orders_core.orders.pipeline import StockPort
from orders_core.orders.repository import write_pending_history
from orders_core.orders.tables import OrderLineRow, ShipmentLineRow, ShipmentRow
from orders_core.unit_of_work import UnitOfWork

#: Key of a resolution's lines still to back-order (replaced by ``backorder_id`` once placed).
BACKORDER_LINES = "backorder_lines"


def _summary(quantities: Mapping[str, int]) -> str:
    return ", ".join(f"{sku} x{qty}" for sku, qty in sorted(quantities.items()) if qty > 0)


def reduce_order_lines(
    uow: UnitOfWork, order_id: str, cut: Mapping[str, int], *, actor: str, reason: str
) -> list[tuple[str, int, Decimal]]:
    """Lower the order's lines by ``cut`` (sku -> units; later lines first), drop lines that reach 0 and
    recompute the total; answers the (sku, qty, unit price) taken off, for a back-order."""
    write_pending_history(uow.session)
    order = load_order(uow, order_id)
    rows = list(
        uow.session.scalars(
            select(OrderLineRow).where(OrderLineRow.order_id == order_id).order_by(OrderLineRow.line_no.desc())
        )
    )
    left = {sku: qty for sku, qty in cut.items() if qty > 0}
    taken: list[tuple[str, int, Decimal]] = []
    for row in rows:
        want = left.get(row.sku, 0)
        if want <= 0:
            continue
        take = min(want, row.qty)
        left[row.sku] = want - take
        taken.append((row.sku, take, Decimal(row.unit_price)))
        row.qty -= take
        if row.qty == 0:
            uow.session.delete(row)
    uow.session.flush()
    remaining = [r for r in rows if r.qty > 0]
    order.total = sum((Decimal(r.unit_price) * r.qty for r in remaining), Decimal("0")).quantize(MONEY_QUANTUM)
    record_order_event(
        uow,
        order_id,
        actor=actor,
        reason_code="lines_adjusted",
        reason=f"{reason}: taken off {_summary({s: q for s, q, _ in _merge(taken)})}; new total {order.total}",
        payload={"removed": [{"sku": s, "qty": q} for s, q, _ in _merge(taken)], "total": str(order.total)},
    )
    return taken


def _merge(taken: list[tuple[str, int, Decimal]]) -> list[tuple[str, int, Decimal]]:
    merged: dict[tuple[str, Decimal], int] = {}
    for sku, qty, price in taken:
        merged[(sku, price)] = merged.get((sku, price), 0) + qty
    return [(sku, qty, price) for (sku, price), qty in sorted(merged.items())]


def reduce_shipment_line(uow: UnitOfWork, order_id: str, warehouse_id: str, sku: str, qty: int) -> None:
    """Lower the order's shipment line of ``sku`` at ``warehouse_id`` by ``qty``; an emptied shipment is
    cancelled (with its waybill, if one was issued)."""
    write_pending_history(uow.session)
    shipments = list(
        uow.session.scalars(
            select(ShipmentRow).where(ShipmentRow.order_id == order_id, ShipmentRow.warehouse_id == warehouse_id)
        )
    )
    for shipment in shipments:
        lines = list(uow.session.scalars(select(ShipmentLineRow).where(ShipmentLineRow.shipment_id == shipment.id)))
        for line in lines:
            if qty <= 0:
                break
            if line.sku != sku:
                continue
            take = min(qty, line.qty)
            line.qty -= take
            qty -= take
            if line.qty == 0:
                uow.session.delete(line)
        if all(line.qty == 0 for line in lines) and shipment.status != "cancelled":
            if shipment.waybill_no is not None:
                from orders_core.transport.waybills import cancel_waybill  # transport builds on orders

                cancel_waybill(uow, shipment.waybill_no, shipment)
            shipment.status = "cancelled"
            shipment.updated_at = utc_now()
    uow.session.flush()


def place_backorder(
    uow: UnitOfWork,
    stock: StockPort,
    order_id: str,
    lines: list[tuple[str, int, Decimal]],
    *,
    actor: str,
    price_tolerance: Decimal,
) -> str:
    """A new order for ``lines`` (sku, qty, unit price) to the same customer and place, linked by
    ``backorder_of``, through the normal pipeline (it usually waits for stock); answers its id."""
    from orders_core.orders.intake import place_order  # intake builds on the pipeline, like this module

    order = load_order(uow, order_id)
    command = PlaceOrder(
        customer_id=order.customer_id,
        lines=tuple(OrderLine(sku=sku, qty=qty, unit_price=price) for sku, qty, price in _merge(lines)),
        delivery=DeliveryPoint(
            lat=order.delivery_lat,
            lng=order.delivery_lng,
            address=order.delivery_address,
            contact_name=order.delivery_contact_name,
            contact_phone=order.delivery_contact_phone,
            cash_on_delivery=bool(order.cash_on_delivery),
        ),
        priority=order.priority or "normal",
        backorder_of=order_id,
    )
    placed = place_order(uow, stock, command, actor=actor, price_tolerance=price_tolerance)
    record_order_event(
        uow,
        order_id,
        actor=actor,
        reason_code="backordered",
        reason=f"{_summary({s: q for s, q, _ in _merge(lines)})} back-ordered as {placed.order_id}",
        payload={"backorder_id": placed.order_id},
    )
    return placed.order_id
