"""The pick benchmark's second-method proofs: CP-SAT agrees with Held-Karp, catches a worse route, and
never proves a route with the method that produced it."""

from __future__ import annotations

import random

import numpy as np
import pytest

from benchmarks.pick_proofs import (
    closed_walk_mm,
    cp_sat_tour,
    held_karp_exact,
    integer_matrix,
    prove_route,
    provers_for,
    segment_mip_exact,
)
from warehouse_picking.layouts import parse_layout
from warehouse_picking.routes import RouteProblem, build_problem, solve


def random_metric(n: int, seed: int) -> np.ndarray:
    """Euclidean distances between random points (metres, rounded to the millimetre)."""
    rng = np.random.default_rng(seed)
    points = rng.uniform(0.0, 50.0, size=(n, 2))
    return np.round(np.linalg.norm(points[:, None, :] - points[None, :, :], axis=2), 3)


def warehouse_problem(blocks: int, picks: int, seed: int) -> np.ndarray:
    return warehouse_route_problem(blocks, picks, seed).matrix


def warehouse_route_problem(blocks: int, picks: int, seed: int) -> RouteProblem:
    layout = parse_layout(
        {
            "kind": "rectangular",
            "aisles": 6,
            "aisle_spacing_m": 3.0,
            "aisle_length_m": 24.0,
            "blocks": blocks,
            "slots_per_side": 12,
            "depot_x_m": 1.5 * (seed % 3),
        }
    )
    slots = random.Random(seed).sample(layout.all_slot_ids(), picks)
    return build_problem(layout, slots)


@pytest.mark.parametrize("seed", range(6))
def test_cp_sat_finds_held_karps_optimum_on_random_instances(seed: int) -> None:
    matrix = random_metric(4 + seed, seed) if seed % 2 else warehouse_problem(1 + seed % 3, 4 + seed, seed)
    costs, error = integer_matrix(matrix)
    assert error < 1e-6  # both methods see the very same integers
    cp_sat = cp_sat_tour(costs, time_limit_s=10.0)
    exact = held_karp_exact(costs)
    assert cp_sat.optimal
    assert cp_sat.objective == exact.objective
    assert cp_sat.bound == exact.objective  # the dual bound meets the optimum once it is proven


@pytest.mark.parametrize("seed", range(4))
def test_the_graph_mip_finds_held_karps_optimum_on_the_same_matrix(seed: int) -> None:
    problem = warehouse_route_problem(1 + seed % 3, 6 + seed, seed)
    costs, _ = integer_matrix(problem.matrix)
    mip = segment_mip_exact(problem, costs, time_limit_s=10.0)
    assert mip.optimal
    assert mip.objective == mip.bound == held_karp_exact(costs).objective


def test_a_deliberately_worse_route_is_proved_suboptimal() -> None:
    matrix = warehouse_problem(2, 8, seed=3)
    costs, _ = integer_matrix(matrix)
    best = held_karp_exact(costs).objective
    n = matrix.shape[0]
    worse = next(
        order
        for order in ([*range(1, n)], [*range(n - 1, 0, -1)], random.Random(1).sample(range(1, n), n - 1))
        if closed_walk_mm(costs, order) > (best or 0)
    )
    proof = prove_route(matrix, worse, "held_karp", time_limit_s=10.0)
    assert proof.proved_by == "cp_sat_circuit"
    assert proof.verdict == "suboptimal"
    assert proof.optimum_mm == best
    assert proof.gap_pct is not None and proof.gap_pct > 0.0
    assert proof.gap_to_bound_pct == pytest.approx(proof.gap_pct)


def test_the_services_route_is_proved_optimal_by_another_method() -> None:
    layout = parse_layout(
        {
            "kind": "rectangular",
            "aisles": 6,
            "aisle_spacing_m": 3.0,
            "aisle_length_m": 24.0,
            "blocks": 2,
            "slots_per_side": 12,
            "depot_x_m": 0.0,
        }
    )
    slots = random.Random(7).sample(layout.all_slot_ids(), 15)
    problem = build_problem(layout, slots)
    route = solve(problem)
    proof = prove_route(
        problem.matrix, [i + 1 for i in route.stop_order], route.method, time_limit_s=10.0, problem=problem
    )
    assert route.method == "exact_dp"
    assert proof.proved_by != proof.produced_by
    assert proof.verdict == "optimal"
    assert proof.route_mm == proof.optimum_mm == proof.dual_bound_mm


@pytest.mark.parametrize(
    ("produced_by", "stops", "has_graph", "provers"),
    [
        ("held_karp", 9, True, ["cp_sat_circuit", "segment_mip"]),
        ("exact_dp", 90, True, ["cp_sat_circuit", "segment_mip"]),
        ("ortools_gls", 40, False, ["cp_sat_circuit"]),
        ("exact_mip", 40, True, ["cp_sat_circuit"]),
        ("cp_sat_circuit", 10, True, ["segment_mip", "held_karp"]),
        ("cp_sat_circuit", 40, False, []),  # no second method applies: the case stays unverified
    ],
)
def test_the_prover_is_never_the_producer(produced_by: str, stops: int, has_graph: bool, provers: list[str]) -> None:
    assert provers_for(produced_by, stops, has_graph=has_graph) == provers


def test_a_graph_mip_route_is_never_proved_by_the_graph_mip() -> None:
    problem = warehouse_route_problem(2, 12, seed=5)
    route = solve(problem, method="mip", time_limit_s=10.0)
    assert route.method == "exact_mip"
    proof = prove_route(problem.matrix, [i + 1 for i in route.stop_order], route.method, 10.0, problem=problem)
    assert "segment_mip" not in proof.tried
    assert proof.proved_by == "cp_sat_circuit"
    assert proof.verdict == "optimal"


def test_a_cp_sat_route_is_proved_by_held_karp_and_one_without_a_second_method_is_unverified() -> None:
    small = random_metric(8, seed=11)
    costs, _ = integer_matrix(small)
    optimum = cp_sat_tour(costs, time_limit_s=10.0)
    order = list(range(1, 8))
    proof = prove_route(small, order, "cp_sat_circuit", time_limit_s=10.0)
    assert proof.proved_by == "held_karp"
    assert proof.optimum_mm == optimum.objective
    large = random_metric(20, seed=12)
    unproved = prove_route(large, list(range(1, 20)), "cp_sat_circuit", time_limit_s=10.0)
    assert (unproved.proved_by, unproved.verdict, unproved.gap_pct) == ("", "unverified", None)


@pytest.mark.parametrize(("bound_shortfall_mm", "verdict"), [(0, "optimal"), (1, "unverified")])
def test_a_provers_bound_closes_the_case_only_when_it_reaches_the_route(
    monkeypatch: pytest.MonkeyPatch, bound_shortfall_mm: int, verdict: str
) -> None:
    """A prover that finds no walk in time still proves the route when its dual bound meets our length."""
    import benchmarks.pick_proofs as proofs

    matrix = random_metric(15, seed=21)
    costs, _ = integer_matrix(matrix)
    order = list(range(1, 15))
    route_mm = closed_walk_mm(costs, order)
    timed_out = proofs.ExactResult(objective=None, bound=route_mm - bound_shortfall_mm, optimal=False)
    monkeypatch.setattr(proofs, "cp_sat_tour", lambda _costs, _limit: timed_out)
    proof = prove_route(matrix, order, "exact_dp", time_limit_s=1.0)
    assert (proof.proved_by, proof.verdict) == ("cp_sat_circuit", verdict)
    assert proof.closed_by_bound is (verdict == "optimal")
    assert proof.dual_bound_mm == route_mm - bound_shortfall_mm
    assert proof.gap_pct == (0.0 if verdict == "optimal" else None)
