"""The independent referee of ``dispatch bench match``: the best carrier per query by an exhaustive scan.

Written apart from everything whose answers it judges, so that no method is checked by itself: not the
index (H3 buckets, compiled kernels, H3 coverage covers), not :mod:`matcher.bruteforce` (which shares
:mod:`geo.distance`'s haversine with the index), not the PostGIS or Redis baselines. Distances come from
the chord between unit vectors (``d = 2 R asin(|u - v| / 2)``, another formula than haversine for the
same great circle on the contract's sphere, R = 6,371,008.8 m); coverage is shapely's exact ``covers``
of the drop-off by the carrier's polygon; the score is re-derived from the contract's definition
(:mod:`matcher.model`). Ties on the score are resolved by carrier id, as the contract says.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from shapely.geometry import Point

from matcher.model import MatchQuery, ScoreWeights
from matcher.simulation import Fleet

#: The contract's sphere (DESIGN.md; the same constant as geo.distance, written out so as not to import it).
SPHERE_RADIUS_M = 6_371_008.8
#: Degrees of latitude a carrier may differ from the pickup and still be in range (3 km is 0.027 deg):
#: a cheap pre-filter before the exact distance, generous for any radius up to 50 km.
_LAT_SLACK_PER_M = 1.0 / 100_000.0


@dataclass(frozen=True)
class Pick:
    """One system's chosen carrier for a query: id, great-circle metres to the pickup, score."""

    carrier_id: str
    distance_m: float
    score: float


def _unit(lat_deg: np.ndarray, lng_deg: np.ndarray) -> np.ndarray:
    phi = np.radians(lat_deg)
    lmb = np.radians(lng_deg)
    return np.stack([np.cos(phi) * np.cos(lmb), np.cos(phi) * np.sin(lmb), np.sin(phi)], axis=-1)


def _chord_distance_m(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    chord = np.linalg.norm(u - v, axis=-1)
    return np.asarray(2.0 * SPHERE_RADIUS_M * np.arcsin(np.minimum(chord * 0.5, 1.0)), dtype=np.float64)


class ReferenceMatcher:
    """Exhaustive scan of a fleet (profiles + one fix each) for the best ``limit`` carriers by score."""

    def __init__(self, fleet: Fleet, now_s: float, max_age_s: float, weights: ScoreWeights | None = None) -> None:
        w = weights or ScoreWeights()
        self.weights = w
        self.ids = np.array(fleet.ids, dtype=object)
        self.lat = np.asarray(fleet.lats, dtype=np.float64)
        self.units = _unit(self.lat, np.asarray(fleet.lngs, dtype=np.float64))
        ps = fleet.profiles
        fresh = np.asarray(fleet.ts_s, dtype=np.float64) >= now_s - max_age_s
        self.usable = np.array([p.active for p in ps], dtype=bool) & fresh
        self.kg = np.array([p.capacity_kg for p in ps])
        self.m3 = np.array([p.capacity_m3 for p in ps])
        self.vehicle = np.array([p.vehicle_type for p in ps], dtype=object)
        self.coverage = [p.coverage for p in ps]
        self.fare = np.array([p.base_fare for p in ps])
        self.rate = np.array([p.rate_per_km for p in ps])
        self.static = np.array(
            [
                w.lateness * (1.0 - p.on_time_rate) + w.load_per_job * p.current_load + w.rating_gap * (5.0 - p.rating)
                for p in ps
            ]
        )

    def best(self, q: MatchQuery) -> list[Pick]:
        """The query's ``limit`` best eligible carriers by (score, id), from every carrier of the fleet."""
        mask = self.usable & (self.kg >= q.weight_kg) & (self.m3 >= q.volume_m3)
        mask &= np.abs(self.lat - q.pickup_lat) <= q.radius_m * _LAT_SLACK_PER_M + 1e-9
        if q.vehicle_type is not None:
            mask &= self.vehicle == q.vehicle_type
        rows = np.flatnonzero(mask)
        pickup = _unit(np.array([q.pickup_lat]), np.array([q.pickup_lng]))[0]
        dist = _chord_distance_m(self.units[rows], pickup)
        near = dist <= q.radius_m
        rows, dist = rows[near], dist[near]
        dropoff = Point(q.dropoff_lng, q.dropoff_lat)
        verdict: dict[int, bool] = {}
        keep = []
        for k, row in enumerate(rows.tolist()):
            area = self.coverage[row]
            if area is not None:
                if id(area) not in verdict:
                    verdict[id(area)] = bool(area.covers(dropoff))
                if not verdict[id(area)]:
                    continue
            keep.append(k)
        rows, dist = rows[keep], dist[keep]
        dropoff_u = _unit(np.array([q.dropoff_lat]), np.array([q.dropoff_lng]))[0]
        trip_km = float(_chord_distance_m(pickup[None, :], dropoff_u)[0]) / 1000.0
        w = self.weights
        score = (w.distance_per_km / 1000.0) * dist + w.price * (self.fare[rows] + self.rate[rows] * trip_km)
        score += self.static[rows]
        ranked = sorted(zip(score.tolist(), self.ids[rows].tolist(), dist.tolist(), strict=True))
        return [Pick(cid, d, s) for s, cid, d in ranked[: q.limit]]


@dataclass
class Agreement:
    """How one method's picks compare with a reference's on every query.

    ``same``: same carrier ids in the same order; ``tied``: different ids but every pick's score within
    ``SCORE_TOLERANCE`` of the reference's (a tie the two resolved differently); ``score_ok``: every
    pick's score within the tolerance (whatever the ids)."""

    method: str
    against: str
    queries: int = 0
    same: int = 0
    tied: int = 0
    score_ok: int = 0
    first_differences: list[int] | None = None

    def line(self) -> str:
        """``agree 5000/5000 (0 ties resolved otherwise), scores within 1e-6: 5000/5000``."""
        return (
            f"agree {self.same}/{self.queries}"
            + (f" (+{self.tied} ties broken otherwise)" if self.tied else "")
            + f", scores within {SCORE_TOLERANCE:g}: {self.score_ok}/{self.queries}"
        )


#: Two systems' scores for the same carrier differ by rounding only (different formula order, float
#: parsing); a score difference above this is a real disagreement.
SCORE_TOLERANCE = 1e-6


def compare(method: str, against: str, picks: Sequence[list[Pick]], reference: Sequence[list[Pick]]) -> Agreement:
    """Count, query by query, how ``picks`` agree with ``reference`` (ids first, then scores)."""
    out = Agreement(method, against, queries=len(reference), first_differences=[])
    for i, (mine, ref) in enumerate(zip(picks, reference, strict=True)):
        scores_ok = len(mine) == len(ref) and all(
            math.isclose(a.score, b.score, rel_tol=0.0, abs_tol=SCORE_TOLERANCE) for a, b in zip(mine, ref, strict=True)
        )
        if [p.carrier_id for p in mine] == [p.carrier_id for p in ref]:
            out.same += 1
        elif scores_ok:
            out.tied += 1
        elif out.first_differences is not None and len(out.first_differences) < 5:
            out.first_differences.append(i)
        out.score_ok += scores_ok
    return out
