"""Seeded simulation: minimum-cost batch assignment against greedy nearest-first on the same jobs.

Used by the tests and the match benchmark to show what the assignment solver buys: fewer unserved jobs
and a lower total pickup cost when jobs compete for the same nearby carriers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
