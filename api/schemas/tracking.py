"""The public tracking answer (``GET /track/{token}.json``), which the HTML page renders too: one order's
main-line nodes with their times and delay reasons, its lines, and its shipments; labels in ``zh``/``en``.

Nothing of the customer is in it (no customer id, credit or contact), only the order the token names.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from api.schemas.master_data import Money
from orders_core.orders.delays import Language, describe
from orders_core.orders.progress import NodeProgress
from orders_core.orders.tracking_view import TrackedShipment, TrackingView

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
    )


def tracking_out(view: TrackingView, language: Language) -> TrackingOut:
    """The tracking answer of one order, labels and reasons in ``language``."""
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
    )
