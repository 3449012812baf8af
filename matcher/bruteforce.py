"""The oracle: match by scanning every carrier, straight from the contract's definition of eligibility.

No index, no H3, no caching: haversine to every carrier, then every filter, then an exact shapely
``covers`` test of the dropoff. The tests and the benchmark compare :class:`matcher.index.CarrierIndex`
against it query by query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from shapely.geometry import Point

from geo.distance import haversine_m, haversine_many_m
from matcher.model import Candidate, CarrierProfile, MatchQuery, ScoreWeights


class BruteForceMatcher:
    """Scans all carriers for every query; positions are (lat, lng, ts_s) per carrier id."""

    def __init__(
        self,
        profiles: Sequence[CarrierProfile],
        positions: Mapping[str, tuple[float, float, float]],
        weights: ScoreWeights | None = None,
        max_position_age_s: float = 900.0,
    ) -> None:
        self.weights = weights or ScoreWeights()
        self.max_position_age_s = max_position_age_s
        placed = [p for p in profiles if p.carrier_id in positions]
        self.profiles = placed
        self.ids = [p.carrier_id for p in placed]
        self.lat = np.array([positions[p.carrier_id][0] for p in placed], dtype=np.float64)
        self.lng = np.array([positions[p.carrier_id][1] for p in placed], dtype=np.float64)
        self.ts = np.array([positions[p.carrier_id][2] for p in placed], dtype=np.float64)
        self.active = np.array([p.active for p in placed], dtype=bool)
        self.kg = np.array([p.capacity_kg for p in placed], dtype=np.float64)
        self.m3 = np.array([p.capacity_m3 for p in placed], dtype=np.float64)
        self.vehicle = np.array([p.vehicle_type for p in placed], dtype=object)
        self.has_coverage = np.array([p.coverage is not None for p in placed], dtype=bool)

    def match(self, query: MatchQuery, now_s: float) -> list[Candidate]:
        """Eligible carriers best first, exactly as the contract defines them."""
        dist = haversine_many_m(query.pickup_lat, query.pickup_lng, self.lat, self.lng)
        mask = (
            self.active
            & (self.ts >= now_s - self.max_position_age_s)
            & (self.kg >= query.weight_kg)
            & (self.m3 >= query.volume_m3)
            & (dist <= query.radius_m)
        )
        if query.vehicle_type is not None:
            mask &= self.vehicle == query.vehicle_type
        dropoff = Point(query.dropoff_lng, query.dropoff_lat)
        verdicts: dict[int, bool] = {}
        rows = []
        for i in np.flatnonzero(mask).tolist():
            coverage = self.profiles[i].coverage
            if coverage is not None:
                key = id(coverage)
                if key not in verdicts:
                    verdicts[key] = bool(coverage.covers(dropoff))
                if not verdicts[key]:
                    continue
            rows.append(i)
        w = self.weights
        trip_km = haversine_m(query.pickup_lat, query.pickup_lng, query.dropoff_lat, query.dropoff_lng) / 1000.0
        out = []
        for i in rows:
            p = self.profiles[i]
            static = (
                w.lateness * (1.0 - p.on_time_rate) + w.load_per_job * p.current_load + w.rating_gap * (5.0 - p.rating)
            )
            score = (
                (w.distance_per_km / 1000.0) * float(dist[i])
                + w.price * (p.base_fare + p.rate_per_km * trip_km)
                + static
            )
            out.append(Candidate(p.carrier_id, float(dist[i]), score, None))
        if query.rank_by == "distance":
            out.sort(key=lambda c: (c.distance_m, c.carrier_id))
        else:
            out.sort(key=lambda c: (c.score, c.carrier_id))
        return out[: query.limit]
