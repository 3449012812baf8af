"""Request and response bodies for orders, and the API form of the domain's order and exception views
(``order_out``, ``exception_out``: shared by the orders and exceptions routers)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from api.schemas.master_data import ID_PATTERN, Money, NonNegativeMoney
from orders_core.orders.delays import Language, delay_code_of_exception, describe
from orders_core.orders.model import ExceptionView, OrderView
from orders_core.orders.progress import NodeProgress, OrderProgress
from orders_core.orders.root_causes import root_cause_of_delay, root_cause_of_kind


class OrderLineIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN, description="A SKU of the catalogue.")
    qty: int = Field(gt=0, le=1_000_000_000, description="Units ordered (a positive integer).")
    unit_price: NonNegativeMoney | None = Field(
        default=None, description="Quoted unit price; default: the SKU's catalogue price."
    )


class DeliveryIn(BaseModel):
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lng: float = Field(ge=-180, le=180, allow_inf_nan=False)
    address: str | None = Field(default=None, max_length=500)
    promised_by: AwareDatetime | None = Field(
        default=None, description="Deliver by this time (ISO-8601 with a zone); default: now + the lead time."
    )
    contact_name: str | None = Field(default=None, max_length=200, description="Receiver on the e-waybill.")
    contact_phone: str | None = Field(
        default=None, max_length=32, pattern=r"^\+?[0-9 ()\-]{3,32}$", description="Printed masked on the e-waybill."
    )
    cash_on_delivery: bool = Field(default=False, description="The driver collects the goods' value unless paid.")


class OrderIn(BaseModel):
    customer_id: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN, description="An existing customer.")
    lines: list[OrderLineIn] = Field(min_length=1, max_length=500)
    delivery: DeliveryIn | None = Field(
        default=None,
        description="Where to deliver; default: the customer's registered location (422 delivery_required if none).",
    )
    priority: Literal["low", "normal", "high", "urgent"] = Field(
        default="normal", description="Held orders waiting for stock are retried highest priority first, then oldest."
    )


class OrderLineOut(BaseModel):
    sku: str
    qty: int
    unit_price: Money


class DeliveryOut(BaseModel):
    lat: float
    lng: float
    address: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    cash_on_delivery: bool = False


class TimelineEntryOut(BaseModel):
    status: str
    at: datetime
    actor: str
    reason_code: str | None = None
    reason: str | None = None
    expected_next_at: datetime | None = None
    # On the entry that first reached a main-line node: when it was due, whether it came late and why.
    expected_at: datetime | None = None
    late: bool = False
    late_by_s: float = 0.0
    delay_reason_code: str | None = None
    delay_reason: str | None = None
    root_cause_code: str | None = None


class NodeOut(BaseModel):
    """A main-line node against the promise: due (the plan), expected (forecast), reached, late and why."""

    status: str
    due_at: datetime | None = None
    expected_at: datetime | None = None
    reached_at: datetime | None = None
    late: bool
    late_by_s: float
    forecast_late: bool
    delay_reason_code: str | None = None
    delay_reason: str | None = None
    #: The root cause of the delay (docs/ROOT_CAUSES.md), derived from its reason code.
    root_cause_code: str | None = None


class ShipmentLineOut(BaseModel):
    sku: str
    qty: int


class ShipmentOut(BaseModel):
    id: str
    warehouse_id: str
    lines: list[ShipmentLineOut]
    status: str
    carrier_id: str | None = None
    waybill_no: str | None = None
    weight_kg: float | None = None
    volume_m3: float | None = None
    pieces: int | None = None


class ExceptionOut(BaseModel):
    id: str
    order_id: str
    kind: str
    status: str
    message: str
    details: dict[str, Any]
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    note: str | None = None
    #: The delay reason this exception counts under (orders_core.orders.delays: the inbox's key).
    delay_reason_code: str | None = None
    #: Its root cause (orders_core.orders.root_causes, docs/ROOT_CAUSES.md: the Pareto chart's key).
    root_cause_code: str | None = None


class OrderOut(BaseModel):
    id: str
    status: str
    customer_id: str
    lines: list[OrderLineOut]
    delivery: DeliveryOut
    total: Money
    payment_status: str
    created_at: datetime
    updated_at: datetime
    timeline: list[TimelineEntryOut]
    shipments: list[ShipmentOut]
    exceptions: list[ExceptionOut]
    promised_by: datetime | None = None
    progress: list[NodeOut] = []
    priority: str = "normal"
    #: The order whose remainder this one back-orders (a partial shipment's rest), if any.
    backorder_of: str | None = None
    #: The customer's public tracking page of this order alone (no auth; see api.routers.tracking).
    tracking_url: str | None = None


class OrderListItem(OrderOut):
    """An order in a list: ``timeline`` and ``progress`` (most of an order's size) only when ``include`` names
    them (``?include=timeline&include=progress``)."""

    timeline: list[TimelineEntryOut] | None = Field(default=None, description="Only with ?include=timeline.")  # type: ignore[assignment]
    progress: list[NodeOut] | None = Field(default=None, description="Only with ?include=progress.")  # type: ignore[assignment]


class OrderPage(BaseModel):
    items: list[OrderListItem]
    next_cursor: str | None = None


class CancelIn(BaseModel):
    reason: str | None = Field(default=None, max_length=500)


def exception_out(view: ExceptionView) -> ExceptionOut:
    """API form of an exception."""
    return ExceptionOut(
        id=view.id,
        order_id=view.order_id,
        kind=view.kind,
        status=view.status,
        message=view.message,
        details=view.details,
        created_at=view.created_at,
        resolved_at=view.resolved_at,
        resolved_by=view.resolved_by,
        note=view.note,
        delay_reason_code=delay_code_of_exception(view.kind, view.root_cause).value,
        root_cause_code=view.root_cause or root_cause_of_kind(view.kind).value,
    )


def _reason(node: NodeProgress | None, language: Language) -> str | None:
    return None if node is None or node.delay_code is None else describe(node.delay_code, language)


def _root_cause(node: NodeProgress | None) -> str | None:
    return None if node is None or node.delay_code is None else root_cause_of_delay(node.delay_code).value


def node_out(node: NodeProgress, language: Language) -> NodeOut:
    """API form of a main-line node's progress."""
    return NodeOut(
        status=node.status.value,
        due_at=node.due_at,
        expected_at=node.expected_at,
        reached_at=node.reached_at,
        late=node.late,
        late_by_s=round(node.late_by_s, 3),
        forecast_late=node.forecast_late,
        delay_reason_code=None if node.delay_code is None else node.delay_code.value,
        delay_reason=_reason(node, language),
        root_cause_code=_root_cause(node),
    )


def tracking_path(token: str) -> str:
    """The path of the public tracking page behind ``token`` (served by api.routers.tracking)."""
    return f"/track/{token}"


def order_out(view: OrderView, progress: OrderProgress | None = None, language: Language = "en") -> OrderOut:
    """API form of an order; with its ``progress``, the delay fields in ``language``."""
    nodes: tuple[NodeProgress | None, ...] = progress.entry_nodes if progress else (None,) * len(view.timeline)
    return OrderOut(
        id=view.id,
        status=view.status,
        customer_id=view.customer_id,
        lines=[OrderLineOut(sku=line.sku, qty=line.qty, unit_price=line.unit_price) for line in view.lines],
        delivery=DeliveryOut(
            lat=view.delivery.lat,
            lng=view.delivery.lng,
            address=view.delivery.address,
            contact_name=view.delivery.contact_name,
            contact_phone=view.delivery.contact_phone,
            cash_on_delivery=view.delivery.cash_on_delivery,
        ),
        total=view.total,
        payment_status=view.payment_status,
        created_at=view.created_at,
        updated_at=view.updated_at,
        timeline=[
            TimelineEntryOut(
                status=e.status,
                at=e.at,
                actor=e.actor,
                reason_code=e.reason_code,
                reason=e.reason,
                expected_next_at=e.expected_next_at,
                expected_at=None if node is None else node.due_at,
                late=node is not None and node.late,
                late_by_s=0.0 if node is None else round(node.late_by_s, 3),
                delay_reason_code=None if node is None or node.delay_code is None else node.delay_code.value,
                delay_reason=_reason(node, language),
                root_cause_code=_root_cause(node),
            )
            for e, node in zip(view.timeline, nodes, strict=True)
        ],
        shipments=[
            ShipmentOut(
                id=s.id,
                warehouse_id=s.warehouse_id,
                lines=[ShipmentLineOut(sku=sku, qty=qty) for sku, qty in s.lines],
                status=s.status,
                carrier_id=s.carrier_id,
                waybill_no=s.waybill_no,
                weight_kg=s.weight_kg,
                volume_m3=s.volume_m3,
                pieces=s.pieces,
            )
            for s in view.shipments
        ],
        exceptions=[exception_out(e) for e in view.exceptions],
        promised_by=progress.promised_by if progress else view.promised_by,
        progress=[node_out(n, language) for n in progress.nodes] if progress else [],
        priority=view.priority,
        backorder_of=view.backorder_of,
        tracking_url=None if view.tracking_token is None else tracking_path(view.tracking_token),
    )
