"""The public tracking answer (``GET /track/{token}.json``), which the HTML page renders too: one order's
main-line nodes with their times and delay reasons, its lines, and its shipments; labels in ``zh``/``en``.

Nothing of the customer is in it (no customer id, credit or contact), only the order the token names.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas.master_data import Money
from orders_core.orders.delays import Language, describe
from orders_core.orders.line_fulfilment import LineFulfilment
from orders_core.orders.progress import NodeProgress
from orders_core.orders.tracking_view import CarrierPosition, ProofOfDelivery, TrackedShipment, TrackingView
from orders_core.transport.eta_window import EtaWindow

#: Status names as customers read them.
STATUS_LABELS: dict[str, dict[Language, str]] = {
    "placed": {"zh": "已下单", "en": "Order placed"},
    "credit_review": {"zh": "信用审核", "en": "Credit check"},
    "stock_locked": {"zh": "库存已锁定", "en": "Stock reserved"},
    "allocated": {"zh": "已分配仓库", "en": "Warehouse assigned"},
    "picking": {"zh": "拣货中", "en": "Picking"},
    "loaded": {"zh": "已装车", "en": "Loaded"},
    "in_transit": {"zh": "运输中", "en": "On the way"},
    "delivered": {"zh": "已送达", "en": "Delivered"},
    "on_hold": {"zh": "暂停处理", "en": "On hold"},
    "cancelled": {"zh": "已取消", "en": "Cancelled"},
    # Shipment statuses that are not order statuses.
    "ready": {"zh": "待发运", "en": "Ready"},
    "assigned": {"zh": "已分配承运商", "en": "Carrier assigned"},
    "picked_up": {"zh": "已揽收", "en": "Picked up"},
    "failed": {"zh": "派送失败", "en": "Delivery failed"},
}


def status_label(status: str, language: Language) -> str:
    """The customer's name of an order or shipment status (the code itself when unnamed)."""
    labels = STATUS_LABELS.get(status)
    return status if labels is None else labels[language]


class TrackedNodeOut(BaseModel):
    status: str
    label: str
    reached_at: datetime | None = None
    #: Reached: when it was due; ahead: the forecast (the carrier's ETA where known).
    expected_at: datetime | None = None
    due_at: datetime | None = None
    late: bool
    late_by_s: float
    forecast_late: bool
    delay_reason_code: str | None = None
    delay_reason: str | None = None


class TrackedLineOut(BaseModel):
    sku: str
    name: str
    qty: int
    unit_price: Money


class TrackedShipmentLineOut(BaseModel):
    sku: str
    name: str
    qty: int


class PointOut(BaseModel):
    """A WGS-84 point (the contract's coordinates)."""

    lat: float
    lng: float


class PositionOut(BaseModel):
    """The carrier's last reported position (WGS-84), when, and how old it is."""

    lat: float
    lng: float
    at: datetime
    age_s: float


class EtaWindowOut(BaseModel):
    """The delivery window: the forecast and the earliest and latest it may honestly be."""

    eta_at: datetime
    earliest: datetime
    latest: datetime


class ProofOut(BaseModel):
    """Proof of delivery as the carrier reported it."""

    signer: str | None = None
    photo_ref: str | None = None
    note: str | None = None
    location: PointOut | None = None


class ShortfallOut(BaseModel):
    #: A delay code (``orders_core.orders.delays``): the same taxonomy as the nodes' delay reasons.
    code: str
    qty: int
    reason: str


class FulfilmentLineOut(BaseModel):
    """One SKU through the stages: ordered, reserved, loaded, delivered, and why units fell short."""

    sku: str
    name: str
    ordered: int
    reserved: int
    loaded: int
    delivered: int
    shortfalls: list[ShortfallOut]


class TrackedShipmentOut(BaseModel):
    id: str
    status: str
    status_label: str
    warehouse: str
    lines: list[TrackedShipmentLineOut]
    carrier: str | None = None
    waybill_no: str | None = None
    eta_at: datetime | None = None
    delivered_at: datetime | None = None
    #: Proof of delivery: who signed for the goods.
    signer: str | None = None
    proof: ProofOut | None = None
    position: PositionOut | None = None
    eta_window: EtaWindowOut | None = None
    failed_attempts: int = 0
    returned: bool = False


class TrackingOut(BaseModel):
    language: Language
    order_id: str
    status: str
    status_label: str
    created_at: datetime
    promised_by: datetime
    #: When the goods are expected at the drop-off, by the carriers' reports (None: not known yet).
    eta_at: datetime | None = None
    delivery_address: str | None = None
    total: Money
    lines: list[TrackedLineOut]
    progress: list[TrackedNodeOut]
    shipments: list[TrackedShipmentOut]
    #: The window of the last shipment to arrive, and its carrier's last position (WGS-84).
    eta_window: EtaWindowOut | None = None
    position: PositionOut | None = None
    dropoff: PointOut | None = None
    fulfilment: list[FulfilmentLineOut] = []
    #: When this answer was computed (the page's clock; not in the JSON, so two reads compare equal).
    as_of: datetime | None = Field(default=None, exclude=True)


def _node_out(node: NodeProgress, language: Language) -> TrackedNodeOut:
    return TrackedNodeOut(
        status=node.status.value,
        label=status_label(node.status.value, language),
        reached_at=node.reached_at,
        expected_at=node.expected_at,
        due_at=node.due_at,
        late=node.late,
        late_by_s=round(node.late_by_s, 3),
        forecast_late=node.forecast_late,
        delay_reason_code=None if node.delay_code is None else node.delay_code.value,
        delay_reason=None if node.delay_code is None else describe(node.delay_code, language),
    )


def _position_out(position: CarrierPosition | None) -> PositionOut | None:
    if position is None:
        return None
    return PositionOut(lat=position.lat, lng=position.lng, at=position.at, age_s=round(position.age_s, 1))


def _window_out(window: EtaWindow | None) -> EtaWindowOut | None:
    return None if window is None else EtaWindowOut(eta_at=window.eta, earliest=window.earliest, latest=window.latest)


def _proof_out(proof: ProofOfDelivery | None) -> ProofOut | None:
    if proof is None:
        return None
    where = None if proof.location is None else PointOut(lat=proof.location[0], lng=proof.location[1])
    return ProofOut(signer=proof.signer, photo_ref=proof.photo_ref, note=proof.note, location=where)


def _fulfilment_out(line: LineFulfilment, names: dict[str, str], language: Language) -> FulfilmentLineOut:
    return FulfilmentLineOut(
        sku=line.sku,
        name=names.get(line.sku, line.sku),
        ordered=line.ordered,
        reserved=line.reserved,
        loaded=line.loaded,
        delivered=line.delivered,
        shortfalls=[
            ShortfallOut(code=s.code.value, qty=s.qty, reason=describe(s.code, language)) for s in line.shortfalls
        ],
    )


def _shipment_out(shipment: TrackedShipment, language: Language) -> TrackedShipmentOut:
    return TrackedShipmentOut(
        id=shipment.id,
        status=shipment.status,
        status_label=status_label(shipment.status, language),
        warehouse=shipment.warehouse_name,
        lines=[TrackedShipmentLineOut(sku=sku, name=name, qty=qty) for sku, name, qty in shipment.lines],
        carrier=shipment.carrier_name,
        waybill_no=shipment.waybill_no,
        eta_at=shipment.eta_at,
        delivered_at=shipment.delivered_at,
        signer=shipment.signer,
        proof=_proof_out(shipment.proof),
        position=_position_out(shipment.position),
        eta_window=_window_out(shipment.eta_window),
        failed_attempts=shipment.failed_attempts,
        returned=shipment.returned,
    )


def tracking_out(view: TrackingView, language: Language) -> TrackingOut:
    """The tracking answer of one order, labels and reasons in ``language``."""
    names = view.sku_names
    return TrackingOut(
        language=language,
        order_id=view.order_id,
        status=view.status,
        status_label=status_label(view.status, language),
        created_at=view.created_at,
        promised_by=view.promised_by,
        eta_at=view.eta_at,
        delivery_address=view.delivery_address,
        total=view.total,
        lines=[
            TrackedLineOut(sku=line.sku, name=line.name, qty=line.qty, unit_price=line.unit_price)
            for line in view.lines
        ],
        progress=[_node_out(node, language) for node in view.nodes],
        shipments=[_shipment_out(s, language) for s in view.shipments],
        eta_window=_window_out(view.eta_window),
        position=_position_out(view.position),
        dropoff=None if view.dropoff is None else PointOut(lat=view.dropoff[0], lng=view.dropoff[1]),
        fulfilment=[_fulfilment_out(line, names, language) for line in view.fulfilment],
        as_of=view.as_of,
    )
