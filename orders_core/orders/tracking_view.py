"""The customer's tracking page of one order, found by the secret token of its public link (no login).

The token is the only key: the view holds that order alone and nothing of its customer (no customer id,
no credit, no contact phone), so whoever holds the link sees where the goods are and why they are late,
and nothing else. Progress is the order answer's own (``progress.progress_of`` with the carriers' ETAs),
so the page, the API and the desk tell the same story with the same delay codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation.errors import NotFound
from orders_core.carriers.repository import CarrierRepository
from orders_core.master_data.repository import MasterDataRepository
from orders_core.orders.model import OrderStatus, OrderView
from orders_core.orders.progress import CarrierEtas, NodeProgress, progress_of
from orders_core.orders.promise import DeliveryTargets
from orders_core.orders.repository import OrderRepository
from orders_core.transport.eta import etas_of
from orders_core.transport.tracking_tables import ShipmentTrackingRow
from orders_core.unit_of_work import UnitOfWorkFactory

#: What an issued token looks like (``intake.new_tracking_token``); anything else is not looked up.
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class TrackingNotFound(NotFound):
    """No order has this tracking token (the same answer whatever the token looks like)."""

    code = "tracking_not_found"


@dataclass(frozen=True)
class TrackedLine:
    """A line as ordered: the SKU, its name, quantity and unit price."""

    sku: str
    name: str
    qty: int
    unit_price: Decimal


@dataclass(frozen=True)
class TrackedShipment:
    """One shipment of the order as its carrier reported it."""

    id: str
    status: str
    warehouse_name: str
    lines: tuple[tuple[str, str, int], ...]  # (sku, name, qty)
    carrier_name: str | None
    waybill_no: str | None
    eta_at: datetime | None
    delivered_at: datetime | None
    signer: str | None


@dataclass(frozen=True)
class TrackingView:
    """Everything the tracking page shows of one order."""

    order_id: str
    status: str
    created_at: datetime
    promised_by: datetime
    delivery_address: str | None
    total: Decimal
    lines: tuple[TrackedLine, ...]
    nodes: tuple[NodeProgress, ...]
    #: The carriers' forecast at the drop-off (None: not known yet, or delivered).
    eta_at: datetime | None
    shipments: tuple[TrackedShipment, ...]

    @property
    def cancelled(self) -> bool:
        """The order was cancelled (its nodes ahead carry no plan)."""
        return self.status == OrderStatus.CANCELLED.value

    @property
    def on_hold(self) -> bool:
        """The order waits for a person (a credit approval, a price confirmation...)."""
        return self.status == OrderStatus.ON_HOLD.value


def tracking_view(new_uow: UnitOfWorkFactory, token: str, *, targets: DeliveryTargets, now: datetime) -> TrackingView:
    """The tracking page of the order whose link carries ``token``; TrackingNotFound (404) otherwise."""
    if not TOKEN_SHAPE.fullmatch(token):
        raise TrackingNotFound("no such tracking link")
    with new_uow() as uow:
        view = OrderRepository(uow.session).view_by_tracking_token(token)
        if view is None:
            raise TrackingNotFound("no such tracking link")
        etas = etas_of(uow.session, [view.id]).get(view.id, CarrierEtas())
        masters = MasterDataRepository(uow.session)
        skus = masters.get_skus({line.sku for line in view.lines} | {sku for s in view.shipments for sku, _ in s.lines})
        names = {sku: item.name for sku, item in skus.items()}
        shipments = _shipments(uow.session, view, names, masters, CarrierRepository(uow.session))
    progress = progress_of(view, targets=targets, now=now, etas=etas)
    return TrackingView(
        order_id=view.id,
        status=view.status,
        created_at=view.created_at,
        promised_by=progress.promised_by,
        delivery_address=view.delivery.address,
        total=view.total,
        lines=tuple(
            TrackedLine(sku=line.sku, name=names.get(line.sku, line.sku), qty=line.qty, unit_price=line.unit_price)
            for line in view.lines
        ),
        nodes=progress.nodes,
        eta_at=None if view.status == OrderStatus.DELIVERED.value else etas.dropoff_at,
        shipments=shipments,
    )


def _shipments(
    session: Session,
    view: OrderView,
    names: dict[str, str],
    masters: MasterDataRepository,
    carriers: CarrierRepository,
) -> tuple[TrackedShipment, ...]:
    """The order's shipments (cancelled ones left out) with what their carriers reported."""
    ids = [s.id for s in view.shipments]
    tracked = {
        row.shipment_id: row
        for row in session.scalars(select(ShipmentTrackingRow).where(ShipmentTrackingRow.shipment_id.in_(ids)))
    }
    out: list[TrackedShipment] = []
    for shipment in view.shipments:
        if shipment.status == "cancelled":
            continue
        warehouse = masters.get_warehouse(shipment.warehouse_id)
        carrier = None if shipment.carrier_id is None else carriers.get(shipment.carrier_id)
        row = tracked.get(shipment.id)
        signer = None if row is None or not row.proof else row.proof.get("signer")
        out.append(
            TrackedShipment(
                id=shipment.id,
                status=shipment.status,
                warehouse_name=warehouse.name if warehouse is not None else shipment.warehouse_id,
                lines=tuple((sku, names.get(sku, sku), qty) for sku, qty in shipment.lines),
                carrier_name=None if carrier is None else carrier.name,
                waybill_no=shipment.waybill_no,
                eta_at=None if row is None else row.eta_at,
                delivered_at=None if row is None else row.delivered_at,
                signer=signer if isinstance(signer, str) else None,
            )
        )
    return tuple(out)
