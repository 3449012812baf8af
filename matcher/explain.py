"""Why a match found nobody (or not the nearest): every known carrier counted under the first reason it fails.

Not the hot path: one vectorised scan of every carrier, straight from the contract's eligibility rule (as
:mod:`matcher.bruteforce`), run only when an answer is empty or the caller asks for an explanation. Each
carrier is counted once, under the first failed check in :data:`REASONS` order; ``stale_position`` comes
last, so it counts exactly the carriers that a fresh position would have made eligible.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from geo.distance import haversine_many_m
from matcher.model import MatchQuery

#: The checks in the order a carrier is tested (and counted under the first it fails).
REASONS = ("inactive", "no_position", "out_of_radius", "vehicle_type", "capacity", "coverage", "stale_position")

#: How many stale carriers an explanation names.
STALE_NAMED = 5


@dataclass(frozen=True)
class StaleCarrier:
    """A carrier that would have been eligible with a fresh position, nearer than the answer's best."""

    carrier_id: str
    distance_m: float
    position_age_s: float


@dataclass(frozen=True)
class MatchExplanation:
    """Counts of carriers per reason they were left out, and the nearer carriers skipped as stale."""

    carriers: int
    eligible: int
    excluded: dict[str, int]
    radius_m: float
    max_position_age_s: float | None
    stale_nearer: list[StaleCarrier] = field(default_factory=list)


@dataclass(frozen=True)
class FleetColumns:
    """The carriers as columns (what the index holds), one entry per carrier; lat/lng NaN without a fix."""

    ids: list[str]
    active: npt.NDArray[np.bool_]
    lat: npt.NDArray[np.float64]
    lng: npt.NDArray[np.float64]
    ts_s: npt.NDArray[np.float64]
    capacity_kg: npt.NDArray[np.float64]
    capacity_m3: npt.NDArray[np.float64]
    vehicle_ok: npt.NDArray[np.bool_]
    coverage_ok: npt.NDArray[np.bool_]


def explain_match(
    fleet: FleetColumns,
    query: MatchQuery,
    now_s: float,
    max_position_age_s: float,
    nearest_answer_m: float | None = None,
) -> MatchExplanation:
    """Count every carrier under the first reason it is not eligible for ``query`` (see the module docstring).

    ``nearest_answer_m``: distance of the nearest carrier answered (None: nobody); stale carriers nearer
    than it are named, nearest first, at most :data:`STALE_NAMED`."""
    positioned = ~np.isnan(fleet.lat)
    distance = np.full(len(fleet.ids), np.inf)
    if positioned.any():
        distance[positioned] = haversine_many_m(
            query.pickup_lat, query.pickup_lng, fleet.lat[positioned], fleet.lng[positioned]
        )
    limit = max_position_age_s if max_position_age_s > 0 and np.isfinite(max_position_age_s) else np.inf
    age = now_s - fleet.ts_s
    fails = (
        ~fleet.active,
        ~positioned,
        distance > query.radius_m,
        ~fleet.vehicle_ok,
        (fleet.capacity_kg < query.weight_kg) | (fleet.capacity_m3 < query.volume_m3),
        ~fleet.coverage_ok,
        age > limit,
    )
    left = np.ones(len(fleet.ids), dtype=bool)
    excluded: dict[str, int] = {}
    stale = np.zeros(len(fleet.ids), dtype=bool)
    for reason, failed in zip(REASONS, fails, strict=True):
        hit = left & failed
        excluded[reason] = int(hit.sum())
        if reason == "stale_position":
            stale = hit
        left &= ~failed
    nearer = stale & (distance < (np.inf if nearest_answer_m is None else nearest_answer_m))
    rows = sorted(np.flatnonzero(nearer).tolist(), key=lambda r: (float(distance[r]), fleet.ids[r]))[:STALE_NAMED]
    return MatchExplanation(
        carriers=len(fleet.ids),
        eligible=int(left.sum()),
        excluded=excluded,
        radius_m=query.radius_m,
        max_position_age_s=None if limit == np.inf else float(limit),
        stale_nearer=[StaleCarrier(fleet.ids[r], round(float(distance[r]), 1), round(float(age[r]), 1)) for r in rows],
    )


_REASON_TEXT = {
    "inactive": "inactive",
    "no_position": "without a known position",
    "out_of_radius": "outside the radius",
    "vehicle_type": "of another vehicle type",
    "capacity": "without the capacity for the load",
    "coverage": "not covering the drop-off",
    "stale_position": "skipped because their last position is too old",
}


def describe_explanation(explanation: MatchExplanation) -> str:
    """One sentence a dispatcher can act on: how many carriers were left out and why."""
    e = explanation
    if e.carriers == 0:
        return "no carrier is registered"
    parts = [f"{n} {_REASON_TEXT[reason]}" for reason, n in e.excluded.items() if n]
    head = f"{e.eligible} of {e.carriers} carriers eligible within {e.radius_m:.0f} m"
    text = head + (f"; left out: {', '.join(parts)}" if parts else "")
    if e.stale_nearer:
        nearest = e.stale_nearer[0]
        text += (
            f"; nearer carrier {nearest.carrier_id} ({nearest.distance_m:.0f} m) was skipped as stale:"
            f" last seen {nearest.position_age_s:.0f} s ago, limit {e.max_position_age_s:.0f} s"
        )
    return text


__all__ = ["REASONS", "FleetColumns", "MatchExplanation", "StaleCarrier", "describe_explanation", "explain_match"]
