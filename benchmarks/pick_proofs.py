"""Proof of a pick route's optimality by an exact method other than the one that produced it.

Why: a route is only "optimal" in the benchmark when a second, independent method proves it; checking
Held-Karp's answer with Held-Karp (or the frontier DP's with our own length) proves nothing. Both the
route and the prover are measured on the same integer matrix (millimetres), so a tie is a tie, not a
rounding accident. The provers:

- ``cp_sat_circuit``: OR-Tools CP-SAT, one Boolean per arc, ``AddCircuit`` and the arc costs as the
  objective, solved without any hint from the route. It reports its own dual bound (best objective
  bound); OPTIMAL means bound == optimum. Never a producer in the service, so it may prove any route.
- ``held_karp``: the exact subset DP, for few stops, used only for routes CP-SAT produced (tests).

A case that no applicable second method proves within its time limit is ``unverified``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np

from warehouse_picking.solvers import held_karp

#: Metres -> integer units of the proof (millimetres).
SCALE = 1000
#: Held-Karp as a prover: beyond this many stops its table no longer pays.
HELD_KARP_PROVER_MAX_STOPS = 12
#: Which prover is the same method as which producer (``PickRoute.method``): never prove with these.
SAME_METHOD = {"cp_sat_circuit": {"cp_sat_circuit"}, "held_karp": {"held_karp"}}

#: optimal: route == proven optimum; suboptimal: longer; contradiction: shorter than a "proven" optimum
#: (one of the two methods is wrong); unverified: no second method proved an optimum in time.
Verdict = Literal["optimal", "suboptimal", "contradiction", "unverified"]


@dataclass(frozen=True)
class ExactResult:
    """What an exact prover answered: its best tour length, its dual bound, whether it proved optimality."""

    objective: int | None
    bound: int
    optimal: bool
    solve_ms: float = 0.0  # the search alone (not the solver library's first import)


@dataclass(frozen=True)
class Proof:
    """A route measured against a second method's proven optimum (all lengths in integer millimetres)."""

    produced_by: str
    proved_by: str  # "" when no second method applied
    verdict: Verdict
    route_mm: int
    optimum_mm: int | None  # proven optimum; None when unverified
    dual_bound_mm: int  # the prover's own best bound (a valid lower bound, == optimum when proven)
    prove_ms: float

    @property
    def verified(self) -> bool:
        """True when the second method proved an optimum (whether or not the route reaches it)."""
        return self.verdict != "unverified"

    @property
    def gap_pct(self) -> float | None:
        """Route over the proven optimum, in percent; None when unverified."""
        if self.optimum_mm is None:
            return None
        return 100.0 * (self.route_mm - self.optimum_mm) / self.optimum_mm if self.optimum_mm else 0.0

    @property
    def gap_to_bound_pct(self) -> float:
        """Route over the prover's dual bound, in percent (an upper bound on the true gap)."""
        bound = max(self.dual_bound_mm, 0)
        return 100.0 * (self.route_mm - bound) / bound if bound else 0.0


def integer_matrix(matrix: np.ndarray) -> tuple[np.ndarray, float]:
    """The matrix in millimetres (rounded) and the largest rounding error in metres (0 when exact)."""
    costs = np.rint(matrix * SCALE).astype(np.int64)
    error = float(np.abs(costs / SCALE - matrix).max()) if matrix.size else 0.0
    return costs, error


def closed_walk_mm(costs: np.ndarray, order: list[int]) -> int:
    """Length of depot -> order... -> depot in the integer matrix."""
    path = [0, *order, 0] if order else [0]
    return int(sum(int(costs[path[i], path[i + 1]]) for i in range(len(path) - 1)))


def cp_sat_tour(costs: np.ndarray, time_limit_s: float, *, workers: int = 1, seed: int = 0) -> ExactResult:
    """Shortest Hamiltonian circuit by CP-SAT (``AddCircuit``), with its dual bound.

    One worker by default (a shared 2-core machine); linearization level 2 puts the circuit's
    subtour cuts into CP-SAT's LP, without which its bound stays far from the optimum past ~30 stops.
    """
    from ortools.sat.python import cp_model

    n = costs.shape[0]
    if n <= 2:  # no choice: depot alone, or depot -> the one stop -> depot
        length = int(costs[0, 1] + costs[1, 0]) if n == 2 else 0
        return ExactResult(objective=length, bound=length, optimal=True)
    model = cp_model.CpModel()
    arcs: list[tuple[int, int, cp_model.IntVar]] = []
    for i in range(n):
        for j in range(n):
            if i != j:
                arcs.append((i, j, model.new_bool_var(f"x{i}_{j}")))
    model.add_circuit(arcs)
    model.minimize(sum(int(costs[i, j]) * x for i, j, x in arcs))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(time_limit_s, 0.001)
    solver.parameters.num_workers = workers
    solver.parameters.linearization_level = 2
    solver.parameters.random_seed = seed
    started = time.perf_counter()
    status = solver.solve(model)
    solve_ms = (time.perf_counter() - started) * 1000.0
    found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
    return ExactResult(
        objective=round(solver.objective_value) if found else None,
        bound=int(np.ceil(solver.best_objective_bound - 1e-6)),
        optimal=status == cp_model.OPTIMAL,
        solve_ms=solve_ms,
    )


def held_karp_exact(costs: np.ndarray) -> ExactResult:
    """Held-Karp on the integer matrix (exact by construction: bound == optimum)."""
    started = time.perf_counter()
    order = held_karp(costs.astype(float))
    length = closed_walk_mm(costs, order)
    return ExactResult(objective=length, bound=length, optimal=True, solve_ms=(time.perf_counter() - started) * 1000.0)


def choose_prover(produced_by: str, stops: int) -> str:
    """The first applicable exact method that is not the producer's; "" when none applies."""
    candidates = ["cp_sat_circuit"]
    if stops <= HELD_KARP_PROVER_MAX_STOPS:
        candidates.append("held_karp")
    for prover in candidates:
        if produced_by not in SAME_METHOD[prover]:
            return prover
    return ""


def prove_route(matrix: np.ndarray, order: list[int], produced_by: str, time_limit_s: float) -> Proof:
    """Measure ``order`` (stop indices, depot 0 implicit) against a second method's optimum on ``matrix``."""
    costs, _error = integer_matrix(matrix)
    route_mm = closed_walk_mm(costs, order)
    prover = choose_prover(produced_by, costs.shape[0] - 1)
    if prover in SAME_METHOD and produced_by in SAME_METHOD[prover]:
        raise AssertionError(f"{produced_by} route would be proved by {prover}")  # the rule, checked
    if prover == "cp_sat_circuit":
        result = cp_sat_tour(costs, time_limit_s)
    elif prover == "held_karp":
        result = held_karp_exact(costs)
    else:
        result = ExactResult(objective=None, bound=0, optimal=False)
    verdict: Verdict = "unverified"
    if result.optimal and result.objective is not None:
        if route_mm == result.objective:
            verdict = "optimal"
        else:
            verdict = "suboptimal" if route_mm > result.objective else "contradiction"
    return Proof(
        produced_by=produced_by,
        proved_by=prover,
        verdict=verdict,
        route_mm=route_mm,
        optimum_mm=result.objective if verdict != "unverified" else None,
        dual_bound_mm=result.bound,
        prove_ms=result.solve_ms,
    )
