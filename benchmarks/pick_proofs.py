"""Proof of a pick route's optimality by an exact method other than the one that produced it.

Why: a route is only "optimal" in the benchmark when a second, independent method proves it; checking
Held-Karp's answer with Held-Karp (or the frontier DP's with our own length) proves nothing. Lengths
are compared in integer millimetres on the route's own distance matrix, so a tie is a tie, not a
rounding accident. The provers, tried in this order until one proves an optimum, skipping the producer:

- ``cp_sat_circuit``: OR-Tools CP-SAT, one Boolean per arc, ``AddCircuit`` and the arc costs as the
  objective, on the millimetre matrix, without any hint from the route. Its dual bound is CP-SAT's
  best objective bound; OPTIMAL means bound == optimum. Never a producer in the service.
- ``segment_mip``: the Steiner-TSP integer programme on the layout graph (``routes.mip_order``, HiGHS,
  lazy connectivity cuts), whose shortest paths are the matrix. Its dual bound is the MIP's; its own
  walk, measured on the millimetre matrix, must equal its objective (else it proves nothing).
  The service's ``exact_mip``, so it never proves an ``exact_mip`` route.
- ``held_karp``: the exact subset DP, for few stops (tests; no service route needs it).

A prover whose dual bound reaches the route's length proves the route optimal even without a walk of
its own. A case that no applicable second method proves within its time limit is ``unverified``; its
dual bound is the best any prover reached.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np

from warehouse_picking.routes import RouteProblem, mip_order
from warehouse_picking.solvers import held_karp

#: Metres -> integer units of the proof (millimetres).
SCALE = 1000
#: Held-Karp as a prover: beyond this many stops its table no longer pays.
HELD_KARP_PROVER_MAX_STOPS = 12
#: Which prover is the same method as which producer (``PickRoute.method``): never prove with these.
SAME_METHOD = {"cp_sat_circuit": {"cp_sat_circuit"}, "segment_mip": {"exact_mip"}, "held_karp": {"held_karp"}}
#: A prover's objective (float metres) and its walk on the millimetre matrix may differ by float noise only.
AGREEMENT_MM = 0.5

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
    proved_by: str  # the prover that proved the optimum, else the last one tried ("" when none applied)
    verdict: Verdict
    route_mm: int
    optimum_mm: int | None  # proven optimum; None when unverified
    dual_bound_mm: int  # the prover's own best bound (a valid lower bound, == optimum when proven)
    prove_ms: float  # all provers tried, search time only
    tried: tuple[str, ...] = ()  # every prover run on the case, in order
    bounds: tuple[int, ...] = ()  # each tried prover's own dual bound, same order as ``tried``
    #: Proven because the prover's dual bound reached the route's length although the prover found no
    #: walk of its own in time (our walk is feasible, its bound says nothing shorter exists).
    closed_by_bound: bool = False

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


def segment_mip_exact(problem: RouteProblem, costs: np.ndarray, time_limit_s: float) -> ExactResult:
    """The graph MIP; proven only if its own walk, on the millimetre matrix, matches its objective."""
    started = time.perf_counter()
    order, lower, proven = mip_order(problem, time_limit_s)
    solve_ms = (time.perf_counter() - started) * 1000.0
    bound = int(np.ceil(lower * SCALE - AGREEMENT_MM))
    if not proven or order is None:
        return ExactResult(objective=None, bound=bound, optimal=False, solve_ms=solve_ms)
    walk = closed_walk_mm(costs, order)
    agrees = abs(walk - lower * SCALE) <= AGREEMENT_MM
    return ExactResult(objective=walk, bound=walk if agrees else bound, optimal=agrees, solve_ms=solve_ms)


def provers_for(produced_by: str, stops: int, *, has_graph: bool) -> list[str]:
    """The applicable exact methods other than the producer's, in the order they are tried."""
    candidates = ["cp_sat_circuit"]
    if has_graph:
        candidates.append("segment_mip")
    if stops <= HELD_KARP_PROVER_MAX_STOPS:
        candidates.append("held_karp")
    return [prover for prover in candidates if produced_by not in SAME_METHOD[prover]]


def _run_prover(prover: str, costs: np.ndarray, problem: RouteProblem | None, time_limit_s: float) -> ExactResult:
    if prover == "cp_sat_circuit":
        return cp_sat_tour(costs, time_limit_s)
    if prover == "segment_mip":
        assert problem is not None
        return segment_mip_exact(problem, costs, time_limit_s)
    return held_karp_exact(costs)


def _verdict(route_mm: int, optimum_mm: int) -> Verdict:
    if route_mm == optimum_mm:
        return "optimal"
    return "suboptimal" if route_mm > optimum_mm else "contradiction"


def prove_route(
    matrix: np.ndarray,
    order: list[int],
    produced_by: str,
    time_limit_s: float,
    *,
    problem: RouteProblem | None = None,
) -> Proof:
    """Measure ``order`` (stop indices, depot 0 implicit) against a second method's optimum on ``matrix``.

    ``problem`` (the route's layout graph and stops, whose distances are ``matrix``) lets the graph MIP
    try when CP-SAT does not prove the case within ``time_limit_s``; each prover gets that limit.
    """
    costs, _error = integer_matrix(matrix)
    route_mm = closed_walk_mm(costs, order)
    provers = provers_for(produced_by, costs.shape[0] - 1, has_graph=problem is not None)
    bound, spent, tried, bounds, closed_by_bound = 0, 0.0, [], [], False
    verdict: Verdict = "unverified"
    optimum: int | None = None
    for prover in provers:
        if produced_by in SAME_METHOD[prover]:
            raise AssertionError(f"{produced_by} route would be proved by {prover}")  # the rule, checked
        result = _run_prover(prover, costs, problem, time_limit_s)
        tried.append(prover)
        bounds.append(result.bound)
        spent += result.solve_ms
        if result.optimal and result.objective is not None:
            optimum, bound = result.objective, result.bound
            verdict = _verdict(route_mm, optimum)
            break
        bound = max(bound, result.bound)
        if bound >= route_mm:  # the prover's own bound meets our walk: no shorter walk exists
            optimum, verdict, closed_by_bound = route_mm, "optimal", True
            break
    return Proof(
        produced_by=produced_by,
        proved_by=tried[-1] if tried else "",
        verdict=verdict,
        route_mm=route_mm,
        optimum_mm=optimum,
        dual_bound_mm=bound,
        prove_ms=spent,
        tried=tuple(tried),
        bounds=tuple(bounds),
        closed_by_bound=closed_by_bound,
    )
