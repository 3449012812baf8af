"""The order as a state machine: statuses, the allowed transitions, and the values a use case returns.

Plain Python; persistence is in ``tables.py``/``repository.py`` and the use cases in ``lifecycle.py``,
``intake.py``, ``exceptions_flow.py`` and ``timeouts.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
from typing import Any

from foundation.errors import Conflict


class OrderStatus(StrEnum):
    """The contract's ten statuses."""

    PLACED = "placed"
    CREDIT_REVIEW = "credit_review"
    STOCK_LOCKED = "stock_locked"
    ALLOCATED = "allocated"
    PICKING = "picking"
    LOADED = "loaded"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    ON_HOLD = "on_hold"
    CANCELLED = "cancelled"


#: The main line of the lifecycle, in order.
MAIN_LINE: tuple[OrderStatus, ...] = (
    OrderStatus.PLACED,
    OrderStatus.CREDIT_REVIEW,
    OrderStatus.STOCK_LOCKED,
    OrderStatus.ALLOCATED,
    OrderStatus.PICKING,
    OrderStatus.LOADED,
    OrderStatus.IN_TRANSIT,
    OrderStatus.DELIVERED,
)

#: States from which an order may be held for a person or cancelled (nothing has left the building).
PRE_SHIPPING: frozenset[OrderStatus] = frozenset(
    {
        OrderStatus.PLACED,
        OrderStatus.CREDIT_REVIEW,
        OrderStatus.STOCK_LOCKED,
        OrderStatus.ALLOCATED,
        OrderStatus.PICKING,
    }
)

#: Orders in these states no longer count towards a customer's open exposure.
CLOSED: frozenset[OrderStatus] = frozenset({OrderStatus.DELIVERED, OrderStatus.CANCELLED})


def _transitions() -> dict[OrderStatus, frozenset[OrderStatus]]:
    table: dict[OrderStatus, set[OrderStatus]] = {status: set() for status in OrderStatus}
    for current, following in pairwise(MAIN_LINE):
        table[current].add(following)
    for status in PRE_SHIPPING:
        table[status] |= {OrderStatus.ON_HOLD, OrderStatus.CANCELLED}
    # Back from hold to the state it was held in (checked against the order's held_from).
    table[OrderStatus.ON_HOLD] |= set(PRE_SHIPPING) | {OrderStatus.CANCELLED}
    return {status: frozenset(targets) for status, targets in table.items()}


TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = _transitions()


class InvalidTransition(Conflict):
    """The order's current status does not allow the requested move."""

    code = "invalid_transition"


def check_transition(current: OrderStatus, target: OrderStatus, held_from: OrderStatus | None = None) -> None:
    """Raise InvalidTransition unless ``current -> target`` is allowed (leaving hold returns to held_from)."""
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final state)"
        raise InvalidTransition(f"cannot move an order from {current} to {target} (allowed: {allowed})")
    leaving_hold = current is OrderStatus.ON_HOLD and target is not OrderStatus.CANCELLED
    if leaving_hold and held_from is not None and target is not held_from:
        raise InvalidTransition(f"an order held in {held_from} can only return to {held_from}, not {target}")


#: Order priorities, lowest first: held orders waiting for stock are retried highest first, then oldest first.
ORDER_PRIORITIES: tuple[str, ...] = ("low", "normal", "high", "urgent")


class PaymentStatus(StrEnum):
    """Payment state: prepaid orders start ``pending``; others are invoiced (``not_required``)."""

    NOT_REQUIRED = "not_required"
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    REFUNDED = "refunded"


class ExceptionStatus(StrEnum):
    """An exception waits (open) until a person approves or rejects it; cancelling closes it."""

    OPEN = "open"
    APPROVED = "approved"
    REJECTED = "rejected"
    CLOSED = "closed"


@dataclass(frozen=True)
class OrderLine:
    """One requested line: the quoted unit price is checked against the catalogue."""

    sku: str
    qty: int
    unit_price: Decimal


@dataclass(frozen=True)
class DeliveryPoint:
    """Where the goods go (WGS-84)."""

    lat: float
    lng: float
    address: str | None = None
    #: Who receives the goods (printed on the e-waybill; the customer's name and phone when absent).
    contact_name: str | None = None
    contact_phone: str | None = None
    #: The driver collects the goods' value on delivery (unless the order is paid by then).
    cash_on_delivery: bool = False


@dataclass(frozen=True)
class RequestedLine:
    """A line as the client sent it: without ``unit_price``, the catalogue price applies."""

    sku: str
    qty: int
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class PlaceOrder:
    """The command to place an order, as the client sent it (what it leaves out, intake fills in)."""

    customer_id: str
    lines: tuple[OrderLine | RequestedLine, ...]
    #: None: the customer's registered location (422 delivery_required when it has none).
    delivery: DeliveryPoint | None
    #: Delivery promised by this time (None: placement + the configured lead time).
    promised_by: datetime | None = None
    #: low | normal | high | urgent (ORDER_PRIORITIES): the order of retries when held orders wait for stock.
    priority: str = "normal"
    #: The order whose remainder this one back-orders.
    backorder_of: str | None = None


@dataclass(frozen=True)
class TimelineEntry:
    """One transition (or notable event) in an order's history."""

    status: str
    at: datetime
    actor: str
    reason_code: str | None
    reason: str | None
    expected_next_at: datetime | None = None


@dataclass(frozen=True)
class ShipmentView:
    """Goods leaving one warehouse for the order, with their transport state (carrier, waybill)."""

    warehouse_id: str
    lines: tuple[tuple[str, int], ...]
    id: str = ""
    status: str = "ready"
    carrier_id: str | None = None
    waybill_no: str | None = None
    weight_kg: float | None = None
    volume_m3: float | None = None
    pieces: int | None = None


@dataclass(frozen=True)
class ExceptionView:
    """An exception raised on an order."""

    id: str
    order_id: str
    kind: str
    status: str
    message: str
    details: dict[str, Any]
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    note: str | None
    #: orders_core.orders.root_causes.RootCause as stored (None only for a view built without one).
    root_cause: str | None = None


@dataclass(frozen=True)
class OrderView:
    """Everything the API shows about an order."""

    id: str
    status: str
    customer_id: str
    lines: tuple[OrderLine, ...]
    delivery: DeliveryPoint
    total: Decimal
    payment_status: str
    created_at: datetime
    updated_at: datetime
    timeline: tuple[TimelineEntry, ...]
    shipments: tuple[ShipmentView, ...]
    exceptions: tuple[ExceptionView, ...]
    #: When delivery was promised (None for orders placed before promises were stored).
    promised_by: datetime | None = None
    priority: str = "normal"
    backorder_of: str | None = None
    #: The secret of the customer's public tracking page (``tracking_view``).
    tracking_token: str | None = None


@dataclass(frozen=True)
class AllocatedLine:
    """A line of an allocated order at one warehouse (what picking's waves collect)."""

    order_id: str
    warehouse_id: str
    sku: str
    qty: int
