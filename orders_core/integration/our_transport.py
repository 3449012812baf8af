"""Our shipments and master e-waybills of a period as canonical records, for exports to a TMS.

Shipments are read with their order's delivery point and key (the other system's order number when the
order was imported from it), lines fetched per batch; waybills as issued (the document the carrier got).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orders_core.integration.profile_records import ITEMS
from orders_core.integration.tables import ImportSourceKeyRow
from orders_core.orders.tables import OrderRow, ShipmentLineRow, ShipmentRow
from orders_core.transport.tables import WaybillRow
from orders_core.unit_of_work import UnitOfWorkFactory

BATCH = 1000


def _order_keys(system: str | None) -> Any:
    return (
        select(ImportSourceKeyRow.entity_id, ImportSourceKeyRow.source_key)
        .where(ImportSourceKeyRow.system == (system or ""), ImportSourceKeyRow.entity == "order")
        .subquery()
    )


def shipment_records(
    new_uow: UnitOfWorkFactory, start: datetime, end: datetime, *, system: str | None = None
) -> Iterator[dict[str, Any]]:
    """Shipments created in ``[start, end)`` with their lines, oldest first, streamed in batches."""
    keys = _order_keys(system)
    query = (
        select(
            ShipmentRow,
            func.coalesce(keys.c.source_key, OrderRow.id).label("order_no"),
            OrderRow.delivery_lat,
            OrderRow.delivery_lng,
        )
        .join(OrderRow, OrderRow.id == ShipmentRow.order_id)
        .outerjoin(keys, keys.c.entity_id == OrderRow.id)
        .where(ShipmentRow.created_at >= start, ShipmentRow.created_at < end)
        .order_by(ShipmentRow.created_at, ShipmentRow.id)
        .execution_options(yield_per=BATCH)
    )
    with new_uow() as uow:
        chunk: list[dict[str, Any]] = []
        for shipment, order_no, lat, lng in uow.session.execute(query):
            chunk.append(
                {
                    "shipment_id": shipment.id,
                    "order_no": order_no,
                    "warehouse_id": shipment.warehouse_id,
                    "status": shipment.status,
                    "carrier_id": shipment.carrier_id,
                    "waybill_no": shipment.waybill_no,
                    "weight_kg": shipment.weight_kg,
                    "volume_m3": shipment.volume_m3,
                    "pieces": shipment.pieces,
                    "created_at": shipment.created_at,
                    "delivery_lat": lat,
                    "delivery_lng": lng,
                }
            )
            if len(chunk) >= BATCH:
                yield from _with_lines(uow.session, chunk)
                chunk = []
        if chunk:
            yield from _with_lines(uow.session, chunk)


def _with_lines(session: Session, chunk: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The chunk's shipments with their lines, read on the streaming session (one transaction on SQLite)."""
    lines: dict[str, list[dict[str, Any]]] = {record["shipment_id"]: [] for record in chunk}
    query = (
        select(ShipmentLineRow.shipment_id, ShipmentLineRow.sku, ShipmentLineRow.qty)
        .where(ShipmentLineRow.shipment_id.in_(list(lines)))
        .order_by(ShipmentLineRow.shipment_id, ShipmentLineRow.id)
    )
    for line in session.execute(query):
        lines[line.shipment_id].append({"sku": line.sku, "qty": line.qty})
    for record in chunk:
        yield {**record, ITEMS: lines[record["shipment_id"]]}


def waybill_records(
    new_uow: UnitOfWorkFactory, start: datetime, end: datetime, *, system: str | None = None
) -> Iterator[dict[str, Any]]:
    """Master e-waybills issued in ``[start, end)`` as the carrier got them, oldest first, streamed."""
    keys = _order_keys(system)
    query = (
        select(WaybillRow, func.coalesce(keys.c.source_key, WaybillRow.order_id).label("order_no"))
        .outerjoin(keys, keys.c.entity_id == WaybillRow.order_id)
        .where(WaybillRow.parent_no.is_(None), WaybillRow.created_at >= start, WaybillRow.created_at < end)
        .order_by(WaybillRow.created_at, WaybillRow.waybill_no)
        .execution_options(yield_per=BATCH)
    )
    with new_uow() as uow:
        for waybill, order_no in uow.session.execute(query):
            document = waybill.document or {}
            sender, receiver = document.get("sender") or {}, document.get("receiver") or {}
            sender_at, receiver_at = sender.get("location") or {}, receiver.get("location") or {}
            cod = document.get("cash_on_delivery") or {}
            promised = document.get("promised_delivery_at")
            yield {
                "waybill_no": waybill.waybill_no,
                "shipment_id": waybill.shipment_id,
                "order_no": order_no,
                "carrier_id": waybill.carrier_id,
                "status": waybill.status,
                "weight_kg": waybill.weight_kg,
                "volume_m3": waybill.volume_m3,
                "pieces": waybill.pieces,
                "sender_name": sender.get("name"),
                "sender_lat": sender_at.get("lat"),
                "sender_lng": sender_at.get("lng"),
                "receiver_name": receiver.get("name"),
                "receiver_phone": receiver.get("phone"),
                "receiver_address": receiver.get("address"),
                "receiver_lat": receiver_at.get("lat"),
                "receiver_lng": receiver_at.get("lng"),
                "cash_on_delivery": Decimal(str(cod["amount"])) if cod.get("amount") is not None else None,
                "promised_by": datetime.fromisoformat(promised.replace("Z", "+00:00")) if promised else None,
                "created_at": waybill.created_at,
                ITEMS: [{"sku": item.get("sku"), "qty": item.get("qty")} for item in document.get("items") or []],
            }
