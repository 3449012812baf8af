"""Carrier master data and position fixes as plain values (no I/O)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from shapely.geometry import MultiPolygon, Polygon

from foundation.errors import InvalidInput, NotFound


class CarrierNotFound(NotFound):
    """No carrier with this id."""

    code = "carrier_not_found"


class UnknownCarriers(InvalidInput):
    """A batch names carriers that do not exist (422: the batch is refused as a whole)."""

    code = "unknown_carrier"


class InvalidPosition(InvalidInput):
    """A position fix with impossible coordinates or time."""

    code = "invalid_position"


@dataclass(frozen=True)
class Carrier:
    """A carrier as the dispatcher maintains it; money in Decimal, capacities in kg and m3."""

    id: str
    name: str
    vehicle_type: str
    capacity_kg: float
    capacity_m3: float
    coverage: Polygon | MultiPolygon | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    active: bool = True
    rate_per_km: Decimal = Decimal("1")
    base_fare: Decimal = Decimal("0")
    on_time_rate: float = 0.95
    rating: float = 4.5


@dataclass(frozen=True)
class PositionFix:
    """One GPS fix in WGS-84; ``ts_s`` is Unix seconds (UTC)."""

    carrier_id: str
    lat: float
    lng: float
    ts_s: float


def latest_per_carrier(fixes: list[PositionFix]) -> list[PositionFix]:
    """Keep only the newest fix of each carrier (a batch writes at most one row per carrier)."""
    newest: dict[str, PositionFix] = {}
    for fix in fixes:
        current = newest.get(fix.carrier_id)
        if current is None or fix.ts_s > current.ts_s:
            newest[fix.carrier_id] = fix
    return list(newest.values())


@dataclass(frozen=True)
class PositionAge:
    """How old a carrier's newest fix is, and whether matching skips it for that (the desk's view)."""

    fixed_at: datetime
    age_s: float
    stale: bool


def position_age(ts_s: float, max_position_age_s: float, now_s: float | None = None) -> PositionAge:
    """The age of a fix taken at ``ts_s`` (Unix s) now; stale when older than the limit (``0``: no limit)."""
    now = time.time() if now_s is None else now_s
    age_s = max(0.0, now - ts_s)
    return PositionAge(
        fixed_at=datetime.fromtimestamp(ts_s, tz=UTC),
        age_s=round(age_s, 1),
        stale=max_position_age_s > 0 and age_s > max_position_age_s,
    )
