"""The customer's tracking page of one order, found by the secret token of its public link (no login).

The token is the only key: the view holds that order alone and nothing of its customer (no customer id,
no credit, no contact phone), so whoever holds the link sees where the goods are and why they are late,
and nothing else. Progress is the order answer's own (``progress.progress_of`` with the carriers' ETAs),
so the page, the API and the desk tell the same story with the same delay codes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation.errors import NotFound
from orders_core.carriers.repository import CarrierRepository
from orders_core.master_data.repository import MasterDataRepository
from orders_core.orders.line_fulfilment import LineFulfilment, line_fulfilment
from orders_core.orders.model import OrderStatus, OrderView
from orders_core.orders.progress import CarrierEtas, NodeProgress, progress_of
from orders_core.orders.promise import DeliveryTargets
from orders_core.orders.repository import OrderRepository
from orders_core.orders.tracking_reads import fulfilment_facts
from orders_core.transport.eta import etas_of
from orders_core.transport.eta_history import forecast_errors_s
from orders_core.transport.eta_window import (
    DEFAULT_ETA_WINDOW,
    EtaWindow,
    EtaWindowParams,
    eta_window,
    lateness_spread,
)
from orders_core.transport.tracking import DEFAULT_CARRIER_EVENT_POLICY, CarrierEventPolicy
from orders_core.transport.tracking_tables import ShipmentTrackingRow
from orders_core.unit_of_work import UnitOfWorkFactory

#: Shipments whose goods may still reach the customer, so their carrier's position and ETA matter.
_ON_THE_WAY = frozenset({"assigned", "picked_up", "failed"})

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
class CarrierPosition:
    """Where the carrier of a shipment on its way was last seen (WGS-84) and when."""

    lat: float
    lng: float
    at: datetime
    #: Seconds between that fix and the page's clock.
    age_s: float


@dataclass(frozen=True)
class ProofOfDelivery:
    """What the carrier's ``delivered`` event carried: who signed, the photo reference, a note, where."""

    signer: str | None = None
    photo_ref: str | None = None
    note: str | None = None
    location: tuple[float, float] | None = None


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
    #: The carrier's last position while the goods are on their way (None otherwise or unknown).
    position: CarrierPosition | None = None
    #: The delivery window around ``eta_at`` (``eta_window``); None without an ETA.
    eta_window: EtaWindow | None = None
    proof: ProofOfDelivery | None = None
    failed_attempts: int = 0
    returned: bool = False


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
    #: The drop-off (WGS-84), for the map.
    dropoff: tuple[float, float] | None = None
    #: The window of the shipment that decides ``eta_at`` (the last to arrive), and its carrier's position.
    eta_window: EtaWindow | None = None
    position: CarrierPosition | None = None
    #: Line by line: ordered, reserved, loaded, delivered and why any units fell short.
    fulfilment: tuple[LineFulfilment, ...] = field(default_factory=tuple)
    #: SKU -> name for every SKU the view mentions.
    sku_names: dict[str, str] = field(default_factory=dict)
    #: The clock the view was computed at (ages and windows are relative to it).
    as_of: datetime | None = None

    @property
    def cancelled(self) -> bool:
        """The order was cancelled (its nodes ahead carry no plan)."""
        return self.status == OrderStatus.CANCELLED.value

    @property
    def on_hold(self) -> bool:
        """The order waits for a person (a credit approval, a price confirmation...)."""
        return self.status == OrderStatus.ON_HOLD.value


def tracking_view(
    new_uow: UnitOfWorkFactory,
    token: str,
    *,
    targets: DeliveryTargets,
    now: datetime,
    policy: CarrierEventPolicy = DEFAULT_CARRIER_EVENT_POLICY,
    window: EtaWindowParams = DEFAULT_ETA_WINDOW,
) -> TrackingView:
    """The tracking page of the order whose link carries ``token``; TrackingNotFound (404) otherwise.
    ``policy`` gives the driving time left from a carrier's position, ``window`` how ETAs widen."""
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
        tracked = _tracked(uow.session, view)
        fulfilment = line_fulfilment(fulfilment_facts(uow.session, view, tracked))
        names |= {
            sku: item.name for sku, item in masters.get_skus({line.sku for line in fulfilment} - set(names)).items()
        }
        errors = forecast_errors_s(
            uow.session,
            {s.carrier_id for s in view.shipments if s.carrier_id is not None and s.status in _ON_THE_WAY},
        )
        shipments = _shipments(
            view,
            names,
            masters,
            CarrierRepository(uow.session),
            tracked,
            _Clock(now, policy, window, errors),
        )
    progress = progress_of(view, targets=targets, now=now, etas=etas)
    eta_at = None if view.status == OrderStatus.DELIVERED.value else etas.dropoff_at
    deciding = _deciding(shipments, eta_at)
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
        eta_at=eta_at,
        shipments=shipments,
        dropoff=(view.delivery.lat, view.delivery.lng),
        eta_window=None if deciding is None else deciding.eta_window,
        position=None if deciding is None else deciding.position,
        fulfilment=fulfilment,
        sku_names=names,
        as_of=now,
    )


@dataclass(frozen=True)
class _Clock:
    """What a shipment's window is computed with: now, the travel policy, the window rule, carrier history."""

    now: datetime
    policy: CarrierEventPolicy
    window: EtaWindowParams
    errors_s: dict[str, list[float]]


def _deciding(shipments: tuple[TrackedShipment, ...], eta_at: datetime | None) -> TrackedShipment | None:
    """The shipment on its way that speaks for the order: the last to arrive by its ETA, or, without any
    ETA, the one whose carrier was seen most recently (None: nothing on its way has a position or ETA)."""
    timed = [s for s in shipments if s.eta_at is not None and s.eta_window is not None]
    if eta_at is not None and timed:
        return max(timed, key=lambda s: (s.eta_at, s.id))
    seen = [(s.position.at, s.id, s) for s in shipments if s.position is not None]
    return max(seen, key=lambda found: found[:2])[2] if seen else None


def _tracked(session: Session, view: OrderView) -> dict[str, ShipmentTrackingRow]:
    ids = [s.id for s in view.shipments]
    return {
        row.shipment_id: row
        for row in session.scalars(select(ShipmentTrackingRow).where(ShipmentTrackingRow.shipment_id.in_(ids)))
    }


def _proof(row: ShipmentTrackingRow | None) -> ProofOfDelivery | None:
    if row is None or row.delivered_at is None:
        return None
    proof: dict[str, Any] = row.proof or {}

    def text(key: str) -> str | None:
        value = proof.get(key)
        return value if isinstance(value, str) and value.strip() else None

    where = proof.get("location")
    location = None
    if isinstance(where, dict) and all(isinstance(where.get(k), int | float) for k in ("lat", "lng")):
        location = (float(where["lat"]), float(where["lng"]))
    return ProofOfDelivery(signer=text("signer"), photo_ref=text("photo_ref"), note=text("note"), location=location)


def _position_and_window(
    shipment_status: str,
    carrier_id: str | None,
    row: ShipmentTrackingRow | None,
    dropoff: tuple[float, float],
    clock: _Clock,
) -> tuple[CarrierPosition | None, EtaWindow | None]:
    if row is None or shipment_status not in _ON_THE_WAY or row.returned:
        return None, None
    position = None
    remaining_s = None
    if row.position_lat is not None and row.position_lng is not None and row.position_at is not None:
        age_s = max(0.0, (clock.now - row.position_at).total_seconds())
        position = CarrierPosition(row.position_lat, row.position_lng, row.position_at, age_s)
        remaining_s = clock.policy.travel_s(row.position_lat, row.position_lng, *dropoff)
    if row.eta_at is None:
        return position, None
    spread = None if carrier_id is None else lateness_spread(clock.errors_s.get(carrier_id, []))
    window = eta_window(
        row.eta_at,
        now=clock.now,
        position_age_s=None if position is None else position.age_s,
        remaining_drive_s=remaining_s,
        spread=spread,
        params=clock.window,
    )
    return position, window


def _shipments(
    view: OrderView,
    names: dict[str, str],
    masters: MasterDataRepository,
    carriers: CarrierRepository,
    tracked: dict[str, ShipmentTrackingRow],
    clock: _Clock,
) -> tuple[TrackedShipment, ...]:
    """The order's shipments (cancelled ones left out) with what their carriers reported."""
    dropoff = (view.delivery.lat, view.delivery.lng)
    out: list[TrackedShipment] = []
    for shipment in view.shipments:
        if shipment.status == "cancelled":
            continue
        warehouse = masters.get_warehouse(shipment.warehouse_id)
        carrier = None if shipment.carrier_id is None else carriers.get(shipment.carrier_id)
        row = tracked.get(shipment.id)
        signer = None if row is None or not row.proof else row.proof.get("signer")
        position, window = _position_and_window(shipment.status, shipment.carrier_id, row, dropoff, clock)
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
                position=position,
                eta_window=window,
                proof=_proof(row),
                failed_attempts=0 if row is None else row.failed_attempts or 0,
                returned=False if row is None else bool(row.returned),
            )
        )
    return tuple(out)
