"""Pick routes are shortest closed walks: checked against brute force, Held-Karp and the MIP."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warehouse_picking.layouts import Layout, parse_layout
from warehouse_picking.routes import EmptyPickList, RouteProblem, build_problem, pick_route, solve
from warehouse_picking.solvers import tour_length


def rectangular(
    aisles: int, blocks: int, slots: int, depot_x: float, spacing: float = 3.0, length: float = 24.0
) -> Layout:
    return parse_layout(
        {
            "kind": "rectangular",
            "aisles": aisles,
            "aisle_spacing_m": spacing,
            "aisle_length_m": length,
            "blocks": blocks,
            "slots_per_side": slots,
            "depot_x_m": depot_x,
        }
    )


def brute_force_m(problem: RouteProblem) -> float:
    k = len(problem.stops)
    return min(tour_length(problem.matrix, list(p)) for p in itertools.permutations(range(1, k + 1)))


def assert_valid(problem: RouteProblem, requested: list[str], route: Any) -> None:
    assert sorted(route.sequence) == sorted(set(requested))  # every slot once, duplicates merged
    assert sorted(route.stop_order) == list(range(len(problem.stops)))
    assert route.distance_m == pytest.approx(tour_length(problem.matrix, [i + 1 for i in route.stop_order]))


def assert_mip_consistent(problem: RouteProblem, requested: list[str], best: float) -> None:
    """The MIP is exact when it proves optimality; otherwise its bound stays below the optimum."""
    mip = solve(problem, method="mip", time_limit_s=0.5)
    assert_valid(problem, requested, mip)
    assert mip.lower_bound_m is not None and mip.lower_bound_m <= best + 1e-6
    if mip.proven_optimal:
        assert mip.distance_m == pytest.approx(best)
    else:
        assert mip.distance_m >= best - 1e-6


def test_single_aisle_walk_is_twice_the_farthest_slot_plus_the_offset() -> None:
    layout = rectangular(aisles=3, blocks=1, slots=10, depot_x=-4.0, length=20.0)
    route = pick_route(layout, ["A01-L-002", "A01-R-007", "A01-L-004"])
    # farthest y = 6.5 * 2 = 13; the depot is 4 m left of aisle 1
    assert route.distance_m == pytest.approx(2 * 13.0 + 2 * 4.0)
    assert sorted(route.sequence) == ["A01-L-002", "A01-L-004", "A01-R-007"]
    assert route.proven_optimal and route.lower_bound_m == pytest.approx(route.distance_m)


def test_duplicates_and_both_sides_are_one_stop() -> None:
    layout = rectangular(aisles=4, blocks=2, slots=8, depot_x=0.0)
    route = pick_route(layout, ["A02-L-003", "A02-R-003", "A02-L-003", "A04-R-008"])
    assert len(route.stop_order) == 2
    assert sorted(route.sequence) == ["A02-L-003", "A02-R-003", "A04-R-008"]
    position = {slot: i for i, slot in enumerate(route.sequence)}
    assert abs(position["A02-L-003"] - position["A02-R-003"]) == 1


def test_empty_list_is_rejected() -> None:
    with pytest.raises(EmptyPickList):
        pick_route(rectangular(2, 1, 4, 0.0), [])


@pytest.mark.parametrize("seed", range(40))
def test_every_method_on_small_random_layouts_matches_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    layout = rectangular(
        aisles=rng.randint(1, 6),
        blocks=rng.randint(1, 4),
        slots=rng.randint(1, 8),
        depot_x=rng.choice([0.0, rng.uniform(-3.0, 20.0)]),
        spacing=rng.choice([2.0, 3.5]),
        length=rng.choice([10.0, 27.0]),
    )
    requested = [rng.choice(layout.all_slot_ids()) for _ in range(rng.randint(1, 7))]
    problem = build_problem(layout, requested)
    best = brute_force_m(problem)
    for method in ("auto", "dp", "held_karp"):
        route = solve(problem, method=method)
        assert_valid(problem, requested, route)
        assert route.distance_m == pytest.approx(best), method
    assert_mip_consistent(problem, requested, best)
    for baseline in ("s_shape", "ortools"):
        route = solve(problem, method=baseline, time_limit_s=0.05)
        assert_valid(problem, requested, route)
        assert route.distance_m >= best - 1e-6


@settings(max_examples=40, deadline=None)
@given(
    aisles=st.integers(1, 8),
    blocks=st.integers(1, 4),
    depot_x=st.floats(-5.0, 30.0),
    picks=st.lists(st.tuples(st.integers(1, 8), st.integers(1, 12)), min_size=1, max_size=9),
)
def test_dp_matches_held_karp_on_random_rectangular_layouts(
    aisles: int, blocks: int, depot_x: float, picks: list[tuple[int, int]]
) -> None:
    layout = rectangular(aisles=aisles, blocks=blocks, slots=12, depot_x=depot_x)
    requested = [f"A{min(a, aisles):02d}-L-{p:03d}" for a, p in picks]
    problem = build_problem(layout, requested)
    exact = solve(problem, method="held_karp")
    dp = solve(problem, method="dp")
    assert_valid(problem, requested, dp)
    assert dp.distance_m == pytest.approx(exact.distance_m)


@pytest.mark.parametrize(("blocks", "picks", "seed"), [(1, 60, 0), (2, 40, 1), (3, 25, 2), (2, 80, 3)])
def test_dp_agrees_with_the_mip_on_larger_cases(blocks: int, picks: int, seed: int) -> None:
    layout = rectangular(aisles=8, blocks=blocks, slots=15, depot_x=7.0)
    requested = random.Random(seed).sample(layout.all_slot_ids(), picks)
    problem = build_problem(layout, requested)
    dp = solve(problem, method="dp")
    assert_valid(problem, requested, dp)
    mip = solve(problem, method="mip", time_limit_s=3.0)
    assert mip.lower_bound_m is not None and dp.distance_m >= mip.lower_bound_m - 1e-6
    if mip.proven_optimal:
        assert dp.distance_m == pytest.approx(mip.distance_m)
    s_shape = solve(problem, method="s_shape")
    assert s_shape.policy_distance_m is not None and s_shape.policy_distance_m >= dp.distance_m - 1e-6


def grid_graph(rng: random.Random) -> dict[str, Any]:
    """A random connected floor plan: a jittered grid with some edges removed and slots on edges/nodes."""
    width, height = rng.randint(2, 4), rng.randint(2, 3)
    nodes = [
        {"id": f"n{i}-{j}", "x": i * 4 + rng.random(), "y": j * 5 + rng.random()}
        for i in range(width)
        for j in range(height)
    ]
    edges = []
    for i in range(width):
        for j in range(height):
            if i + 1 < width and (j == 0 or rng.random() < 0.7):
                edges.append({"from": f"n{i}-{j}", "to": f"n{i + 1}-{j}"})
            if j + 1 < height:
                edges.append({"from": f"n{i}-{j}", "to": f"n{i}-{j + 1}"})
    slots: list[dict[str, Any]] = []
    for k, edge in enumerate(rng.sample(edges, min(len(edges), 6))):
        slots.append({"id": f"E{k}", "edge": [edge["from"], edge["to"]], "offset_m": rng.uniform(0.0, 3.0)})
    slots.append({"id": "N0", "node": f"n{width - 1}-{height - 1}"})
    return {"kind": "graph", "nodes": nodes, "edges": edges, "slots": slots, "depot": "n0-0"}


@pytest.mark.parametrize("seed", range(15))
def test_graph_layouts_route_exactly(seed: int) -> None:
    rng = random.Random(100 + seed)
    layout = parse_layout(grid_graph(rng))
    requested = rng.sample(layout.all_slot_ids(), rng.randint(1, min(6, len(layout.all_slot_ids()))))
    problem = build_problem(layout, requested)
    best = brute_force_m(problem)
    route = solve(problem, method="auto")
    assert_valid(problem, requested, route)
    assert route.distance_m == pytest.approx(best)
    assert_mip_consistent(problem, requested, best)
    ortools = solve(problem, method="ortools", time_limit_s=0.05)
    assert_valid(problem, requested, ortools)
    assert ortools.distance_m >= best - 1e-6


@pytest.mark.parametrize(("blocks", "expected_method"), [(5, "exact_dp"), (6, None)])
def test_many_blocks_route_validly(blocks: int, expected_method: str | None) -> None:
    layout = rectangular(aisles=6, blocks=blocks, slots=12, depot_x=4.0)
    requested = random.Random(blocks).sample(layout.all_slot_ids(), 14)
    problem = build_problem(layout, requested)
    route = solve(problem, time_limit_s=0.5)
    assert_valid(problem, requested, route)
    if expected_method:
        assert route.method == expected_method and route.proven_optimal
    else:
        assert route.method in ("exact_mip", "ortools_gls")
    s_shape = solve(problem, method="s_shape")
    assert route.distance_m <= s_shape.distance_m + 1e-6


def test_large_graph_request_uses_mip_or_ortools_and_stays_valid() -> None:
    rng = random.Random(7)
    plan = grid_graph(rng)
    extra = [{"id": f"X{k}", "node": node["id"]} for k, node in enumerate(plan["nodes"])]
    layout = parse_layout({**plan, "slots": plan["slots"] + extra})
    requested = layout.all_slot_ids()
    problem = build_problem(layout, requested)
    assert len(problem.stops) > 11
    route = solve(problem, time_limit_s=0.5)
    assert_valid(problem, requested, route)
    assert route.method in ("exact_mip", "ortools_gls")
    assert route.lower_bound_m is not None and route.lower_bound_m <= route.distance_m + 1e-6
