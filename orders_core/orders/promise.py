"""The delivery promise and the planned duration of each step of the main line, as one parameter object.

An order promises delivery by ``promised_by``: what the customer asked for (``delivery.promised_by``) or
placement + ``lead_time_s``. The plan spreads the steps before delivery by their target durations, so
every node of the main line has a time it is due; the promise always wins for ``delivered``. Operators
tune them as settings (``DISPATCH_DELIVERY__LEAD_TIME_S=172800``, ``DISPATCH_DELIVERY__TO_PICKING_S=3600``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from foundation.errors import InvalidInput
from orders_core.orders.model import OrderStatus

#: A promise further out than this is a typo, not a plan.
MAX_PROMISE_AHEAD = timedelta(days=366)


class InvalidPromise(InvalidInput):
    """A requested delivery time in the past, without a time zone, or absurdly far ahead."""

    code = "invalid_promise"


@dataclass(frozen=True)
class DeliveryTargets:
    """Seconds each step of the main line is planned to take, and the default promise."""

    #: Delivery is promised this long after placement unless the order names its own time.
    lead_time_s: float = 86_400.0
    #: The automatic checks: placed -> credit_review -> stock_locked -> allocated.
    to_credit_review_s: float = 60.0
    to_stock_locked_s: float = 300.0
    to_allocated_s: float = 300.0
    #: The warehouse: a pick wave starts, then the goods are picked and staged for loading.
    to_picking_s: float = 7_200.0
    to_loaded_s: float = 7_200.0
    #: The carrier collects the goods (first shipment picked up).
    to_in_transit_s: float = 3_600.0
    #: Forecast of the drive when no carrier ETA is known yet (the due time of delivery is the promise).
    to_delivered_s: float = 7_200.0

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")
        if self.lead_time_s <= 0:
            raise ValueError(f"lead_time_s must be positive, got {self.lead_time_s!r}")

    def step_s(self, status: OrderStatus) -> float:
        """Planned seconds from the previous main-line node to ``status`` (0 for ``placed``)."""
        return {
            OrderStatus.PLACED: 0.0,
            OrderStatus.CREDIT_REVIEW: self.to_credit_review_s,
            OrderStatus.STOCK_LOCKED: self.to_stock_locked_s,
            OrderStatus.ALLOCATED: self.to_allocated_s,
            OrderStatus.PICKING: self.to_picking_s,
            OrderStatus.LOADED: self.to_loaded_s,
            OrderStatus.IN_TRANSIT: self.to_in_transit_s,
            OrderStatus.DELIVERED: self.to_delivered_s,
        }[status]


DEFAULT_DELIVERY_TARGETS = DeliveryTargets()


def promised_delivery(placed_at: datetime, requested: datetime | None, targets: DeliveryTargets) -> datetime:
    """When delivery is promised: the requested time (checked) or placement + the lead time.

    InvalidPromise (422, naming ``delivery.promised_by``) for a naive, past or absurdly distant time.
    """
    if requested is None:
        return placed_at + timedelta(seconds=targets.lead_time_s)
    if requested.tzinfo is None or requested.utcoffset() is None:
        raise InvalidPromise("delivery.promised_by must carry a time zone (ISO-8601 with Z or an offset)")
    if requested <= placed_at:
        raise InvalidPromise(f"delivery.promised_by {requested.isoformat()} is not in the future")
    if requested - placed_at > MAX_PROMISE_AHEAD:
        raise InvalidPromise(f"delivery.promised_by is more than {MAX_PROMISE_AHEAD.days} days ahead")
    return requested
