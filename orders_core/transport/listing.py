"""The desk's lists of transport: shipments (by status, warehouse, carrier, order) and master e-waybills (by
status and carrier; a carrier sees only its own), page by page on the shared keyset pagination."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from infra.pagination import Page, PageRequest, keyset_page
from orders_core.orders.tables import ShipmentLineRow, ShipmentRow
from orders_core.transport.tables import WaybillRow
from orders_core.transport.waybills import waybill_json
from orders_core.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True)
class ShipmentListItem:
    """A shipment as the desk lists it: where it leaves from, what it carries, who carries it."""

    id: str
    order_id: str
    warehouse_id: str
    status: str
    carrier_id: str | None
    waybill_no: str | None
    lines: tuple[tuple[str, int], ...]
    weight_kg: float | None
    volume_m3: float | None
    pieces: int | None
    route_id: str | None
    loading_position: int | None
    created_at: datetime


def shipment_page(
    new_uow: UnitOfWorkFactory,
    request: PageRequest,
    *,
    statuses: Collection[str] | None = None,
    warehouse_id: str | None = None,
    carrier_id: str | None = None,
    order_id: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> Page[ShipmentListItem]:
    """Shipments by creation time, filtered."""
    query = select(ShipmentRow)
    if statuses:
        query = query.where(ShipmentRow.status.in_(list(statuses)))
    if warehouse_id is not None:
        query = query.where(ShipmentRow.warehouse_id == warehouse_id)
    if carrier_id is not None:
        query = query.where(ShipmentRow.carrier_id == carrier_id)
    if order_id is not None:
        query = query.where(ShipmentRow.order_id == order_id)
    if created_from is not None:
        query = query.where(ShipmentRow.created_at >= created_from)
    if created_to is not None:
        query = query.where(ShipmentRow.created_at < created_to)
    with new_uow() as uow:
        rows, next_cursor = keyset_page(uow.session, query, (ShipmentRow.created_at, ShipmentRow.id), request)
        lines: dict[str, list[tuple[str, int]]] = {row.id: [] for row in rows}
        if rows:
            for line in uow.session.scalars(
                select(ShipmentLineRow).where(ShipmentLineRow.shipment_id.in_(list(lines))).order_by(ShipmentLineRow.id)
            ):
                lines[line.shipment_id].append((line.sku, line.qty))
        items = [
            ShipmentListItem(
                id=row.id,
                order_id=row.order_id,
                warehouse_id=row.warehouse_id,
                status=row.status,
                carrier_id=row.carrier_id,
                waybill_no=row.waybill_no,
                lines=tuple(lines[row.id]),
                weight_kg=row.weight_kg,
                volume_m3=row.volume_m3,
                pieces=row.pieces,
                route_id=row.route_id,
                loading_position=row.loading_position,
                created_at=row.created_at,
            )
            for row in rows
        ]
    return Page(items, next_cursor)


def waybill_page(
    new_uow: UnitOfWorkFactory,
    request: PageRequest,
    *,
    statuses: Collection[str] | None = None,
    carrier_id: str | None = None,
    order_id: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> Page[dict[str, Any]]:
    """Master (or single) e-waybills by creation time, each as ``GET /v1/waybills/{no}`` answers it; a
    master's packages are named in its ``child_waybill_nos``."""
    query = select(WaybillRow).where(WaybillRow.parent_no.is_(None))
    if statuses:
        query = query.where(WaybillRow.status.in_(list(statuses)))
    if carrier_id is not None:
        query = query.where(WaybillRow.carrier_id == carrier_id)
    if order_id is not None:
        query = query.where(WaybillRow.order_id == order_id)
    if created_from is not None:
        query = query.where(WaybillRow.created_at >= created_from)
    if created_to is not None:
        query = query.where(WaybillRow.created_at < created_to)
    with new_uow() as uow:
        rows, next_cursor = keyset_page(uow.session, query, (WaybillRow.created_at, WaybillRow.waybill_no), request)
        numbers = [row.waybill_no for row in rows]
        children: dict[str, list[WaybillRow]] = {no: [] for no in numbers}
        shipments: dict[str, ShipmentRow] = {}
        if rows:
            for child in uow.session.scalars(
                select(WaybillRow).where(WaybillRow.parent_no.in_(numbers)).order_by(WaybillRow.package_index)
            ):
                children[str(child.parent_no)].append(child)
            shipment_ids = list({row.shipment_id for row in rows})
            shipments = {
                s.id: s for s in uow.session.scalars(select(ShipmentRow).where(ShipmentRow.id.in_(shipment_ids)))
            }
        items = [waybill_json(row, shipments[row.shipment_id], children[row.waybill_no]) for row in rows]
    return Page(items, next_cursor)
