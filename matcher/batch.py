"""Batch matching: assign many jobs at once with minimum total cost instead of greedy nearest-first.

Cost of giving job ``i`` to carrier ``c`` is the candidate's score (or its pickup distance in metres when
the job says ``rank_by="distance"``). The cost matrix has one column per carrier *slot* (a carrier that
can take ``per_carrier_capacity`` jobs appears that many times) plus one "unserved" column per job whose
cost exceeds any total of real costs, so the solver first serves as many jobs as possible and then
minimises their total cost (scipy's Hungarian-type ``linear_sum_assignment``). Ineligible pairs get a
cost above the unserved one and are never chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from matcher.model import BatchResult, MatchQuery

if TYPE_CHECKING:
    from matcher.index import CarrierIndex


def candidate_costs(
    index: CarrierIndex, queries: Sequence[MatchQuery], now_s: float | None = None
) -> list[dict[str, float]]:
    """Per job, the cost of every eligible carrier (score, or distance for rank_by="distance")."""
    costs: list[dict[str, float]] = []
    for query in queries:
        rows = index.eligible_with_scores(query, now_s=now_s)
        use_distance = query.rank_by == "distance"
        costs.append({cid: (dist if use_distance else score) for cid, dist, score in rows})
    return costs


def solve_assignment(costs: Sequence[dict[str, float]], per_carrier_capacity: int = 1) -> BatchResult:
    """Minimum-cost assignment of jobs to carrier slots, maximising the number of jobs served first."""
    if per_carrier_capacity < 1:
        raise ValueError("per_carrier_capacity must be at least 1")
    n = len(costs)
    carriers = sorted({cid for row in costs for cid in row})
    if n == 0:
        return BatchResult()
    if not carriers:
        return BatchResult(unserved=list(range(n)))
    col_of = {cid: i for i, cid in enumerate(carriers)}
    real = np.full((n, len(carriers)), np.inf)
    for i, row in enumerate(costs):
        for cid, cost in row.items():
            real[i, col_of[cid]] = cost
    finite = real[np.isfinite(real)]
    span = float(np.abs(finite).sum()) + 1.0
    unserved_cost = span * 2.0
    ineligible_cost = unserved_cost * 2.0
    slots = np.repeat(np.where(np.isfinite(real), real, ineligible_cost), per_carrier_capacity, axis=1)
    dummy = np.full((n, n), ineligible_cost)
    np.fill_diagonal(dummy, unserved_cost)
    matrix = np.hstack([slots, dummy])
    from scipy.optimize import linear_sum_assignment  # here: SciPy's import costs every CLI command 0.4 s

    rows, cols = linear_sum_assignment(matrix)
    result = BatchResult()
    n_slots = slots.shape[1]
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        if j < n_slots and np.isfinite(real[i, j // per_carrier_capacity]):
            carrier = carriers[j // per_carrier_capacity]
            result.assignments[i] = carrier
            result.total_cost += float(real[i, j // per_carrier_capacity])
        else:
            result.unserved.append(i)
    result.unserved.sort()
    return result


def greedy_assignment(costs: Sequence[dict[str, float]], per_carrier_capacity: int = 1) -> BatchResult:
    """The baseline: jobs in arrival order each take their cheapest carrier that still has room."""
    left: dict[str, int] = {}
    result = BatchResult()
    for i, row in enumerate(costs):
        best = None
        for cid, cost in sorted(row.items(), key=lambda item: (item[1], item[0])):
            if left.get(cid, per_carrier_capacity) > 0:
                best = (cid, cost)
                break
        if best is None:
            result.unserved.append(i)
            continue
        left[best[0]] = left.get(best[0], per_carrier_capacity) - 1
        result.assignments[i] = best[0]
        result.total_cost += best[1]
    return result


def assign_batch(
    index: CarrierIndex, queries: Sequence[MatchQuery], now_s: float | None = None, per_carrier_capacity: int = 1
) -> BatchResult:
    """Match every query against the index, then solve the assignment (see the module docstring)."""
    return solve_assignment(candidate_costs(index, queries, now_s=now_s), per_carrier_capacity)


def assign_widening(
    index: CarrierIndex,
    queries: Sequence[MatchQuery],
    radii_m: Sequence[Sequence[float]],
    per_carrier_capacity: int = 1,
    now_s: float | None = None,
) -> BatchResult:
    """Minimum-cost assignment round by round: round ``k`` solves the still-unserved jobs that have a
    ``k``-th radius in ``radii_m`` (one increasing list per query: its own radius, then its fallbacks)
    together, over the carriers with room left. A job is never served further out than it had to be."""
    if per_carrier_capacity < 1:
        raise ValueError("per_carrier_capacity must be at least 1")
    result = BatchResult()
    used: dict[str, int] = {}
    rounds = max((len(r) for r in radii_m), default=0)
    for k in range(rounds):
        pending = [i for i in range(len(queries)) if i not in result.assignments and k < len(radii_m[i])]
        if not pending:
            continue
        costs = candidate_costs(index, [replace(queries[i], radius_m=radii_m[i][k]) for i in pending], now_s=now_s)
        # A carrier with some room left keeps it: one column per free slot, solved at capacity 1.
        slots = [
            {
                f"{cid}\x00{slot}": cost
                for cid, cost in row.items()
                for slot in range(per_carrier_capacity - used.get(cid, 0))
            }
            for row in costs
        ]
        solved = solve_assignment(slots, per_carrier_capacity=1)
        for local, slot_id in solved.assignments.items():
            cid = slot_id.split("\x00", 1)[0]
            job = pending[local]
            result.assignments[job] = cid
            result.radius_m[job] = radii_m[job][k]
            result.total_cost += costs[local][cid]
            used[cid] = used.get(cid, 0) + 1
    result.unserved = [i for i in range(len(queries)) if i not in result.assignments]
    return result
