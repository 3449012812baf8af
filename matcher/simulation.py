"""Seeded simulation: minimum-cost batch assignment against greedy nearest-first on the same jobs.

Used by the tests and the match benchmark to show what the assignment solver buys: fewer unserved jobs
and a lower total pickup cost when jobs compete for the same nearby carriers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from shapely.geometry import Polygon

from matcher.batch import candidate_costs, greedy_assignment, solve_assignment
from matcher.index import CarrierIndex
from matcher.model import CarrierProfile, MatchQuery

HANGZHOU_LAT = 30.2741
HANGZHOU_LNG = 120.1551


@dataclass(frozen=True)
class BatchComparison:
    """Outcome of one simulation: totals and unserved counts of both strategies."""

    jobs: int
    carriers: int
    assignment_cost: float
    assignment_unserved: int
    greedy_cost: float
    greedy_unserved: int

    @property
    def cost_saving(self) -> float:
        """Relative saving of the solver over greedy on total cost (0.1 = 10% cheaper)."""
        return 0.0 if self.greedy_cost == 0 else 1.0 - self.assignment_cost / self.greedy_cost


def simulate_batch_vs_greedy(
    seed: int = 7,
    n_carriers: int = 400,
    n_jobs: int = 200,
    *,
    per_carrier_capacity: int = 1,
    spread_deg: float = 0.08,
    radius_m: float = 3000.0,
    rank_by: str = "distance",
) -> BatchComparison:
    """Place carriers and jobs at random (seeded) around Hangzhou and compare the two strategies."""
    rng = np.random.default_rng(seed)
    index = CarrierIndex(max_position_age_s=1e12)
    ids = [f"sim-{i}" for i in range(n_carriers)]
    for cid in ids:
        index.upsert_carrier(CarrierProfile(cid, "van", 1000.0, 10.0, None, rate_per_km=float(rng.uniform(0.8, 1.5))))
    lats = HANGZHOU_LAT + rng.uniform(-spread_deg, spread_deg, n_carriers)
    lngs = HANGZHOU_LNG + rng.uniform(-spread_deg, spread_deg, n_carriers)
    index.update_positions(ids, lats, lngs, np.zeros(n_carriers))
    queries = [
        MatchQuery(
            pickup_lat=float(HANGZHOU_LAT + rng.uniform(-spread_deg, spread_deg)),
            pickup_lng=float(HANGZHOU_LNG + rng.uniform(-spread_deg, spread_deg)),
            dropoff_lat=float(HANGZHOU_LAT + rng.uniform(-spread_deg, spread_deg)),
            dropoff_lng=float(HANGZHOU_LNG + rng.uniform(-spread_deg, spread_deg)),
            weight_kg=10.0,
            volume_m3=0.1,
            radius_m=radius_m,
            rank_by="distance" if rank_by == "distance" else "score",
        )
        for _ in range(n_jobs)
    ]
    costs = candidate_costs(index, queries, now_s=0.0)
    best = solve_assignment(costs, per_carrier_capacity)
    greedy = greedy_assignment(costs, per_carrier_capacity)
    return BatchComparison(
        jobs=n_jobs,
        carriers=n_carriers,
        assignment_cost=best.total_cost,
        assignment_unserved=len(best.unserved),
        greedy_cost=greedy.total_cost,
        greedy_unserved=len(greedy.unserved),
    )


@dataclass(frozen=True)
class Fleet:
    """A seeded synthetic fleet: profiles and one fix per carrier (lat, lng, ts_s arrays in profile order)."""

    profiles: list[CarrierProfile]
    lats: np.ndarray
    lngs: np.ndarray
    ts_s: np.ndarray
    half_lat_deg: float
    half_lng_deg: float
    coverages: list[Polygon]

    @property
    def ids(self) -> list[str]:
        """Carrier ids in profile order."""
        return [p.carrier_id for p in self.profiles]


VEHICLES = (("bike", 20.0, 0.1), ("scooter", 60.0, 0.4), ("van", 800.0, 6.0), ("truck", 5000.0, 30.0))


def region_half_extent_deg(
    n_carriers: int, density_per_km2: float, centre_lat: float = HANGZHOU_LAT
) -> tuple[float, float]:
    """Half side (lat, lng degrees) of the square region that holds ``n_carriers`` at the given density."""
    side_km = math.sqrt(n_carriers / density_per_km2)
    half_lat = side_km / 2.0 / 111.195
    return half_lat, half_lat / math.cos(math.radians(centre_lat))


def coverage_polygons(half_lat: float, half_lng: float) -> list[Polygon]:
    """A few service areas scaled to the region: a concave one, one with a hole, a thin corridor, a triangle."""
    la, ln = HANGZHOU_LAT, HANGZHOU_LNG
    concave = Polygon(
        [
            (ln - half_lng * 0.6, la - half_lat * 0.6),
            (ln + half_lng * 0.6, la - half_lat * 0.6),
            (ln + half_lng * 0.6, la + half_lat * 0.6),
            (ln, la),
            (ln - half_lng * 0.6, la + half_lat * 0.6),
        ]
    )
    outer = [
        (ln - half_lng * 0.9, la - half_lat * 0.9),
        (ln + half_lng * 0.2, la - half_lat * 0.9),
        (ln + half_lng * 0.2, la + half_lat * 0.2),
        (ln - half_lng * 0.9, la + half_lat * 0.2),
    ]
    hole = [
        (ln - half_lng * 0.5, la - half_lat * 0.5),
        (ln - half_lng * 0.1, la - half_lat * 0.5),
        (ln - half_lng * 0.1, la - half_lat * 0.1),
        (ln - half_lng * 0.5, la - half_lat * 0.1),
    ]
    corridor = Polygon(
        [
            (ln - half_lng, la - half_lat * 0.02),
            (ln + half_lng, la - half_lat * 0.02),
            (ln + half_lng, la + half_lat * 0.02),
            (ln - half_lng, la + half_lat * 0.02),
        ]
    )
    triangle = Polygon([(ln, la - half_lat), (ln + half_lng, la + half_lat), (ln - half_lng * 0.3, la + half_lat)])
    return [concave, Polygon(outer, [hole]), corridor, triangle]


def generate_fleet(
    n_carriers: int,
    seed: int = 7,
    *,
    density_per_km2: float = 5.0,
    now_s: float = 1_700_000_000.0,
    coverage_share: float = 0.3,
    max_fix_age_s: float = 1200.0,
    id_prefix: str = "car",
) -> Fleet:
    """Carriers spread uniformly over a square around Hangzhou sized for a constant density.

    The region grows with the fleet (about 140 km square for 100,000 carriers at 5/km2, roughly the
    municipality), so the per-query work depends on local density, not on fleet size. Some carriers are
    inactive, some fixes are older than a 900 s freshness limit, and ``coverage_share`` of carriers only
    serve one of :func:`coverage_polygons`.
    """
    rng = np.random.default_rng(seed)
    half_lat, half_lng = region_half_extent_deg(n_carriers, density_per_km2)
    coverages = coverage_polygons(half_lat, half_lng)
    kinds = rng.integers(0, len(VEHICLES), n_carriers)
    cover_pick = rng.integers(0, len(coverages), n_carriers)
    has_cover = rng.random(n_carriers) < coverage_share
    active = rng.random(n_carriers) < 0.95
    rates = rng.uniform(0.8, 2.5, n_carriers)
    fares = rng.uniform(0.0, 8.0, n_carriers)
    on_time = rng.uniform(0.7, 1.0, n_carriers)
    rating = rng.uniform(3.0, 5.0, n_carriers)
    load = rng.integers(0, 4, n_carriers)
    profiles = []
    for i in range(n_carriers):
        vehicle, kg, m3 = VEHICLES[int(kinds[i])]
        profiles.append(
            CarrierProfile(
                carrier_id=f"{id_prefix}-{i}",
                vehicle_type=vehicle,
                capacity_kg=kg,
                capacity_m3=m3,
                coverage=coverages[int(cover_pick[i])] if has_cover[i] else None,
                active=bool(active[i]),
                rate_per_km=float(rates[i]),
                base_fare=float(fares[i]),
                on_time_rate=float(on_time[i]),
                rating=float(rating[i]),
                current_load=int(load[i]),
            )
        )
    lats = HANGZHOU_LAT + rng.uniform(-half_lat, half_lat, n_carriers)
    lngs = HANGZHOU_LNG + rng.uniform(-half_lng, half_lng, n_carriers)
    ts_s = now_s - rng.uniform(0.0, max_fix_age_s, n_carriers)
    return Fleet(profiles, lats, lngs, ts_s, half_lat, half_lng, coverages)


def generate_queries(
    fleet: Fleet, n_queries: int, seed: int = 11, *, radius_m: float = 3000.0, limit: int = 5, rank_by: str = "distance"
) -> list[MatchQuery]:
    """Jobs with pickups inside the fleet's region, dropoffs up to ~15 km away, mixed loads and vehicles."""
    rng = np.random.default_rng(seed)
    queries = []
    vehicles = [None, None, "bike", "scooter", "van", "truck"]
    for _ in range(n_queries):
        plat = HANGZHOU_LAT + float(rng.uniform(-fleet.half_lat_deg, fleet.half_lat_deg)) * 0.95
        plng = HANGZHOU_LNG + float(rng.uniform(-fleet.half_lng_deg, fleet.half_lng_deg)) * 0.95
        queries.append(
            MatchQuery(
                pickup_lat=plat,
                pickup_lng=plng,
                dropoff_lat=plat + float(rng.uniform(-0.1, 0.1)),
                dropoff_lng=plng + float(rng.uniform(-0.1, 0.1)),
                weight_kg=float(rng.choice([1.0, 5.0, 15.0, 50.0, 300.0])),
                volume_m3=float(rng.choice([0.01, 0.05, 0.3, 2.0])),
                vehicle_type=vehicles[int(rng.integers(0, len(vehicles)))],
                radius_m=radius_m,
                limit=limit,
                rank_by="distance" if rank_by == "distance" else "score",
            )
        )
    return queries


def load_index(fleet: Fleet, index: CarrierIndex, batch_size: int = 100_000) -> float:
    """Upsert the fleet's profiles and ingest its fixes in batches; answers the ingest seconds."""
    for profile in fleet.profiles:
        index.upsert_carrier(profile)
    ids = fleet.ids
    elapsed = 0.0
    for start in range(0, len(ids), batch_size):
        end = start + batch_size
        t0 = time.perf_counter()
        index.update_positions(ids[start:end], fleet.lats[start:end], fleet.lngs[start:end], fleet.ts_s[start:end])
        elapsed += time.perf_counter() - t0
    return elapsed
