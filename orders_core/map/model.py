"""What the live map shows, as plain values: order points, carrier statuses, heat cells, and the late rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from foundation.errors import InvalidInput
from geo.h3_cells import HEAT_RESOLUTIONS

#: The desk's calendar: "today's orders" are those placed on this zone's day (the customers are in East China).
DESK_TIME_ZONE = ZoneInfo("Asia/Shanghai")
#: The heat map's period when the caller names none: the last week.
DEFAULT_HEAT_SPAN = timedelta(days=7)


class HeatKind(StrEnum):
    """``demand``: every order placed in the period; ``late``: those whose delivery promise is missed."""

    DEMAND = "demand"
    LATE = "late"


class CarrierMapStatus(StrEnum):
    """What a carrier's dot says: off duty, no fix, an old fix, on a delivery, or free."""

    INACTIVE = "inactive"
    NO_POSITION = "no_position"
    STALE = "stale"
    BUSY = "busy"
    IDLE = "idle"


class InvalidResolution(InvalidInput):
    """A heat resolution the orders carry no cell for."""

    code = "invalid_resolution"


class InvalidDate(InvalidInput):
    """A day at the edge of the calendar (year 1 or 9999) whose bounds cannot be expressed in UTC."""

    code = "invalid_date"


def check_resolution(res: int) -> int:
    """``res`` when orders store cells at it; 422 ``invalid_resolution`` naming the allowed ones otherwise."""
    if res not in HEAT_RESOLUTIONS:
        allowed = ", ".join(str(r) for r in HEAT_RESOLUTIONS)
        raise InvalidResolution(f"resolution must be one of {allowed}, got {res}")
    return res


def desk_day_bounds(day: date) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC of a calendar day on the desk's clock (Asia/Shanghai); 422 ``invalid_date`` for
    the first and last representable days, which have no such bounds."""
    try:
        start = datetime.combine(day, time.min, tzinfo=DESK_TIME_ZONE)
        end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=DESK_TIME_ZONE)
        return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))
    except OverflowError as exc:
        raise InvalidDate(f"no UTC bounds for the day {day.isoformat()}") from exc


def desk_today(now: datetime) -> date:
    """Today's date on the desk's clock."""
    return now.astimezone(DESK_TIME_ZONE).date()


def is_late(status: str, promised_by: datetime | None, delivered_at: datetime | None, now: datetime) -> bool:
    """The late flag: delivered after the promise, or not delivered (nor cancelled) once the promise passed.

    The SQL in ``orders_core.map.queries`` applies the same rule; the tests hold one against the other.
    """
    if promised_by is None or status == "cancelled":
        return False
    if status == "delivered":
        return delivered_at is not None and delivered_at > promised_by
    return now > promised_by


@dataclass(frozen=True)
class OrderPoint:
    """One order on the map: where it goes, how far it is, whether it is late."""

    order_id: str
    customer_id: str
    status: str
    lat: float
    lng: float
    address: str | None
    placed_at: datetime
    promised_by: datetime | None
    late: bool


@dataclass(frozen=True)
class CarrierPoint:
    """One carrier on the map: its newest fix (if any), its age, and what it is doing."""

    carrier_id: str
    name: str
    vehicle_type: str
    status: CarrierMapStatus
    lat: float | None
    lng: float | None
    fixed_at: datetime | None
    age_s: float | None
    active_shipments: int


@dataclass(frozen=True)
class HeatCell:
    """How many orders of the period fall in one H3 cell."""

    cell: int
    count: int
