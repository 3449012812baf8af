"""Carrier callbacks as plain values: the event a carrier reports, the policy that judges it, and the pure
rules (which event may follow which, ETAs from a position, the distance check of a delivery).

The use case that applies events to shipments, waybills and orders is ``carrier_events``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from foundation.errors import Conflict, InvalidInput
from geo.distance import haversine_m


class CarrierEventType(StrEnum):
    """What a carrier reports about a waybill (the contract's four types)."""

    PICKED_UP = "picked_up"
    POSITION = "position"
    DELIVERED = "delivered"
    FAILED = "failed"


class FailStrategy(StrEnum):
    """What happens after a failed delivery.

    ``re_attempt``: the carrier keeps the goods and tries again (the shipment waits in ``failed`` with its
    attempt count; a later ``delivered`` or ``failed`` is accepted). ``return``: the goods go back to the
    warehouse (the shipment stays ``failed`` for good, its goods are put back on hand, and the order gets an
    open ``shipment_returned`` exception for a dispatcher).
    """

    RE_ATTEMPT = "re_attempt"
    RETURN = "return"


class InvalidCarrierEvent(InvalidInput):
    """A callback with a missing or impossible field (422, naming the field; nothing is written)."""

    code = "invalid_carrier_event"


class ImpossibleCarrierEvent(Conflict):
    """The event cannot follow what the waybill has already seen (409, with the reason)."""

    code = "impossible_carrier_event"


@dataclass(frozen=True)
class CarrierEventPolicy:
    """How callbacks are judged: travel speed for ETAs, the delivery distance check, clock skew, attempts."""

    #: Average speed and detour (road over straight line) for ETAs from a position.
    speed_kmh: float = 30.0
    detour_factor: float = 1.3
    #: A delivery reported further than this from the drop-off is flagged on the order.
    delivery_tolerance_m: float = 500.0
    #: Events dated further in the future than this are refused (a carrier's clock may run a little fast).
    max_future_skew_s: float = 300.0
    #: After this many failed attempts a re-attempt becomes a return to the warehouse.
    max_delivery_attempts: int = 3

    def __post_init__(self) -> None:
        for name in ("speed_kmh", "detour_factor", "delivery_tolerance_m", "max_future_skew_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if self.speed_kmh <= 0 or self.detour_factor < 1:
            raise ValueError("speed_kmh must be positive and detour_factor at least 1")
        if isinstance(self.max_delivery_attempts, bool) or self.max_delivery_attempts < 1:
            raise ValueError(f"max_delivery_attempts must be a positive integer, got {self.max_delivery_attempts!r}")

    def travel_s(self, from_lat: float, from_lng: float, to_lat: float, to_lng: float) -> float:
        """Seconds to drive between two points (straight line x detour at the average speed)."""
        return haversine_m(from_lat, from_lng, to_lat, to_lng) * self.detour_factor / (self.speed_kmh / 3.6)


DEFAULT_CARRIER_EVENT_POLICY = CarrierEventPolicy()


@dataclass(frozen=True)
class CarrierEvent:
    """One callback as the carrier sent it."""

    event_id: str
    waybill_no: str
    type: CarrierEventType
    at: datetime
    location: tuple[float, float] | None = None
    proof: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    strategy: FailStrategy | None = None

    def check(self, now: datetime, policy: CarrierEventPolicy) -> None:
        """InvalidCarrierEvent naming the field when the event cannot be right whatever the waybill's state."""
        if self.at.tzinfo is None or self.at.utcoffset() is None:
            raise InvalidCarrierEvent("at must carry a time zone (ISO-8601 with Z or an offset)")
        if self.at > now + timedelta(seconds=policy.max_future_skew_s):
            ahead = (self.at - now).total_seconds()
            raise InvalidCarrierEvent(
                f"at is {ahead:.0f} s in the future (allowed skew {policy.max_future_skew_s:.0f} s)"
            )
        if self.location is not None:
            lat, lng = self.location
            if not (math.isfinite(lat) and -90 <= lat <= 90 and math.isfinite(lng) and -180 <= lng <= 180):
                raise InvalidCarrierEvent("location must be a WGS-84 point (lat in [-90, 90], lng in [-180, 180])")
        if self.type is CarrierEventType.POSITION and self.location is None:
            raise InvalidCarrierEvent("location is required for a position event")
        if self.type is CarrierEventType.FAILED and not (self.reason and self.reason.strip()):
            raise InvalidCarrierEvent("reason is required for a failed event (why the delivery failed)")
        if self.type is not CarrierEventType.FAILED and self.strategy is not None:
            raise InvalidCarrierEvent("strategy is only for failed events")

    def fingerprint(self) -> dict[str, Any]:
        """The event as stored: what a duplicate is recognised by and what the desk may inspect."""
        return {
            "type": self.type.value,
            "at": self.at.isoformat(),
            "location": None if self.location is None else {"lat": self.location[0], "lng": self.location[1]},
            "proof": dict(self.proof),
            "reason": self.reason,
            "strategy": None if self.strategy is None else self.strategy.value,
        }


# --- which event may follow which -------------------------------------------------------------------

#: Shipment statuses (``orders_core.transport.model.ShipmentStatus`` values) from which each status
#: event applies; ``picked_up`` is implied when a delivery outcome comes first.
_APPLIES_FROM: dict[CarrierEventType, frozenset[str]] = {
    CarrierEventType.PICKED_UP: frozenset({"assigned"}),
    CarrierEventType.DELIVERED: frozenset({"assigned", "picked_up", "failed"}),
    CarrierEventType.FAILED: frozenset({"assigned", "picked_up", "failed"}),
}


def impossible_because(
    event: CarrierEvent,
    shipment_status: str,
    waybill_status: str,
    *,
    returned: bool,
    last_status_at: datetime | None,
) -> str | None:
    """Why ``event`` cannot be applied now (None: it can). Events older than the last status event
    applied are judged by ``is_superseded_pickup`` first; any other stale status event is impossible."""
    if waybill_status == "cancelled" or shipment_status == "cancelled":
        return f"waybill {event.waybill_no} is cancelled; no event can change it"
    if event.type is CarrierEventType.POSITION:
        return None
    if shipment_status == "delivered":
        return f"waybill {event.waybill_no} was already delivered; it cannot be {event.type.value} afterwards"
    if returned:
        return f"waybill {event.waybill_no} is being returned to the warehouse; it cannot be {event.type.value}"
    if shipment_status not in _APPLIES_FROM[event.type]:
        return f"a {event.type.value} event cannot follow a waybill in status {shipment_status}"
    if last_status_at is not None and event.at < last_status_at:
        return (
            f"{event.type.value} at {event.at.isoformat()} is older than the waybill's last recorded event"
            f" ({last_status_at.isoformat()}); it would rewrite history"
        )
    return None


def is_superseded_pickup(event: CarrierEvent, shipment_status: str, picked_up_at: datetime | None) -> bool:
    """A ``picked_up`` that arrives after a delivery outcome implied it, dated no later than that outcome:
    late but consistent (it only corrects the pickup time)."""
    return (
        event.type is CarrierEventType.PICKED_UP
        and shipment_status in {"delivered", "failed"}
        and picked_up_at is not None
        and event.at <= picked_up_at
    )


def dropoff_eta(
    policy: CarrierEventPolicy,
    at: datetime,
    position: tuple[float, float],
    dropoff: tuple[float, float],
    pickup: tuple[float, float] | None = None,
) -> tuple[datetime | None, datetime]:
    """(ETA at the pickup, ETA at the drop-off) from a position fixed at ``at``; with ``pickup`` (goods not
    collected yet) the drive goes through it first, otherwise straight to the drop-off (no pickup ETA)."""
    if pickup is None:
        return None, at + timedelta(seconds=policy.travel_s(*position, *dropoff))
    at_pickup = at + timedelta(seconds=policy.travel_s(*position, *pickup))
    return at_pickup, at_pickup + timedelta(seconds=policy.travel_s(*pickup, *dropoff))


def delivery_distance_m(location: tuple[float, float] | None, dropoff: tuple[float, float]) -> float | None:
    """Great-circle metres from the reported delivery location to the drop-off (None when not reported)."""
    return None if location is None else haversine_m(location[0], location[1], dropoff[0], dropoff[1])
