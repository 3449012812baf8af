"""Shipments follow an amended order (issue 12): one shipment per warehouse of the new plan.

A shipment whose warehouse stays in the plan keeps its id; when its lines or the drop-off change, its
lines are replaced and, if a carrier holds its waybill, the waybill is cancelled (the carrier is told,
``waybill.cancelled``) and the shipment goes back to ``ready`` for assignment (the sweep or a dispatcher
assigns it again, with a waybill that carries the new load and drop-off). A shipment whose warehouse
leaves the plan is cancelled the same way and loses its lines (nothing is picked for it); the timeline
and the amendment record keep what it held. Shipments are only touched before picking, so no pick task
refers to them.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from sqlalchemy import delete

from foundation.clock import utc_now
from orders_core.orders.allocation import AllocationPlan
from orders_core.orders.repository import SHIPMENT_LINES, OrderRepository
from orders_core.orders.tables import ShipmentRow
from orders_core.unit_of_work import UnitOfWork

Lines = tuple[tuple[str, int], ...]


def _normal(lines: Sequence[tuple[str, int]]) -> Lines:
    merged: dict[str, int] = {}
    for sku, qty in lines:
        merged[sku] = merged.get(sku, 0) + qty
    return tuple(sorted(merged.items()))


def _release_carrier(uow: UnitOfWork, shipment: ShipmentRow) -> str | None:
    """Cancel the shipment's waybill (telling its carrier) and clear the assignment; answers the waybill no."""
    from orders_core.transport.waybills import cancel_waybill  # transport builds on orders

    cancelled = None
    if shipment.waybill_no is not None:
        row = cancel_waybill(uow, shipment.waybill_no, shipment)
        cancelled = shipment.waybill_no if row is not None else None
    shipment.carrier_id = None
    shipment.waybill_no = None
    shipment.weight_kg = None
    shipment.volume_m3 = None
    shipment.pieces = None
    shipment.assignment_mode = None
    shipment.assignment_reason = None
    shipment.assigned_by = None
    shipment.assigned_at = None
    shipment.assign_attempts = 0
    shipment.last_assign_attempt_at = None
    shipment.route_id = None
    shipment.stop_sequence = None
    shipment.loading_position = None
    return cancelled


def _replace_lines(uow: UnitOfWork, shipment_id: str, lines: Lines) -> None:
    uow.session.execute(delete(SHIPMENT_LINES).where(SHIPMENT_LINES.c.shipment_id == shipment_id))
    if lines:
        uow.session.execute(
            SHIPMENT_LINES.insert(), [{"shipment_id": shipment_id, "sku": sku, "qty": qty} for sku, qty in lines]
        )


def follow_plan(uow: UnitOfWork, order_id: str, plan: AllocationPlan, *, drop_off_moved: bool) -> list[str]:
    """Make the order's live shipments match ``plan``; answers one sentence per shipment changed."""
    from orders_core.transport.model import ShipmentStatus
    from orders_core.transport.repository import TransportRepository

    transport = TransportRepository(uow.session)
    live = [s for s in transport.shipments_of_order(order_id) if s.status != ShipmentStatus.CANCELLED.value]
    current = transport.shipment_lines([s.id for s in live]) if live else {}
    wanted = {s.warehouse_id: _normal(s.lines) for s in plan.shipments}
    notes: list[str] = []
    now = utc_now()
    kept: set[str] = set()
    for shipment in live:
        lines = wanted.get(shipment.warehouse_id)
        if lines is None or shipment.warehouse_id in kept:
            waybill = _release_carrier(uow, shipment)
            _replace_lines(uow, shipment.id, ())
            shipment.status = ShipmentStatus.CANCELLED.value
            shipment.updated_at = now
            notes.append(
                f"shipment {shipment.id} at {shipment.warehouse_id} cancelled"
                + (f", waybill {waybill} cancelled" if waybill else "")
            )
            continue
        kept.add(shipment.warehouse_id)
        if _normal(current.get(shipment.id, [])) == lines and not drop_off_moved:
            continue
        waybill = _release_carrier(uow, shipment)
        _replace_lines(uow, shipment.id, lines)
        shipment.status = ShipmentStatus.READY.value
        shipment.updated_at = now
        summary = ", ".join(f"{sku} x{qty}" for sku, qty in lines)
        notes.append(
            f"shipment {shipment.id} at {shipment.warehouse_id} now {summary}"
            + (f"; waybill {waybill} cancelled, carrier to be assigned again" if waybill else "")
        )
    repository = OrderRepository(uow.session)
    for warehouse_id, lines in sorted(wanted.items()):
        if warehouse_id in kept:
            continue
        shipment_id = "shp_" + secrets.token_hex(8)
        repository.add_shipment(shipment_id, order_id, warehouse_id, lines)
        notes.append(f"shipment {shipment_id} at {warehouse_id} added ({', '.join(f'{s} x{q}' for s, q in lines)})")
    uow.session.flush()
    return notes
