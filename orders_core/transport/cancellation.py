"""When an order is cancelled its shipments are cancelled too, and the carriers holding their waybills
are told (``waybill.cancelled``), in the cancellation's transaction."""

from __future__ import annotations

from foundation.clock import utc_now
from orders_core.transport.model import ShipmentStatus
from orders_core.transport.repository import TransportRepository
from orders_core.transport.waybills import cancel_waybill
from orders_core.unit_of_work import UnitOfWork


def cancel_shipments_of(uow: UnitOfWork, order_id: str) -> list[str]:
    """Cancel the order's shipments and their waybills; answers the waybill numbers cancelled."""
    cancelled: list[str] = []
    now = utc_now()
    for shipment in TransportRepository(uow.session).shipments_of_order(order_id):
        if shipment.status == ShipmentStatus.CANCELLED.value:
            continue
        if shipment.waybill_no is not None:
            row = cancel_waybill(uow, shipment.waybill_no, shipment)
            if row is not None:
                cancelled.append(row.waybill_no)
        shipment.status = ShipmentStatus.CANCELLED.value
        shipment.updated_at = now
    uow.session.flush()
    return cancelled
