"""Allocation planning as a specification, with brute force as the oracle (pure, no database)."""

from __future__ import annotations

from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from geo.distance import haversine_m
from orders_core.orders.allocation import describe_shortage, plan_allocation

DELIVERY = (52.5, 13.4)


def test_single_warehouse_that_serves_everything_is_preferred_even_if_farther() -> None:
    sites = {"near_a": (52.51, 13.4), "near_b": (52.52, 13.4), "far": (53.5, 13.4)}
    available = {"near_a": {"x": 5}, "near_b": {"y": 5}, "far": {"x": 5, "y": 5}}
    plan = plan_allocation({"x": 1, "y": 1}, available, sites, DELIVERY)
    assert plan is not None
    assert [s.warehouse_id for s in plan.shipments] == ["far"]


def test_nearest_of_several_complete_warehouses_wins() -> None:
    sites = {"a": (52.9, 13.4), "b": (52.6, 13.4), "c": (52.7, 13.4)}
    available = {w: {"x": 3} for w in sites}
    plan = plan_allocation({"x": 3}, available, sites, DELIVERY)
    assert plan is not None
    assert [(s.warehouse_id, s.lines) for s in plan.shipments] == [("b", (("x", 3),))]


def test_split_takes_quantities_nearest_first() -> None:
    sites = {"a": (52.51, 13.4), "b": (52.6, 13.4)}
    plan = plan_allocation({"x": 7}, {"a": {"x": 4}, "b": {"x": 10}}, sites, DELIVERY)
    assert plan is not None
    # b alone covers 7: one shipment wins over the nearer split.
    assert [s.warehouse_id for s in plan.shipments] == ["b"]
    plan = plan_allocation({"x": 12}, {"a": {"x": 4}, "b": {"x": 10}}, sites, DELIVERY)
    assert plan is not None
    assert [(s.warehouse_id, s.lines) for s in plan.shipments] == [("a", (("x", 4),)), ("b", (("x", 8),))]


def test_impossible_order_gets_missing_quantities_and_transfers() -> None:
    sites = {"a": (52.51, 13.4), "b": (52.6, 13.4), "c": (53.0, 13.4)}
    available = {"a": {"x": 1}, "b": {"x": 2, "y": 1}, "c": {"x": 3}}
    demand = {"x": 10, "y": 1}
    assert plan_allocation(demand, available, sites, DELIVERY) is None
    report = describe_shortage(demand, available, sites, DELIVERY)
    assert report.missing == {"x": 4}
    assert report.nearest_warehouse_id == "a"
    moves = [(t.from_warehouse_id, t.sku, t.qty) for t in report.transfers]
    assert moves == [("b", "x", 2), ("c", "x", 3), ("b", "y", 1)]
    assert report.still_missing_at_nearest == {"x": 4}


def test_no_warehouses_means_no_plan() -> None:
    assert plan_allocation({"x": 1}, {}, {}, DELIVERY) is None
    assert describe_shortage({"x": 1}, {}, {}, DELIVERY).missing == {"x": 1}


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[dict[str, int], dict[str, dict[str, int]], dict[str, tuple[float, float]]]:
    n_sites = draw(st.integers(1, 6))
    skus = [f"s{i}" for i in range(draw(st.integers(1, 4)))]
    sites = {f"w{i}": (draw(st.floats(50.0, 54.0)), draw(st.floats(11.0, 15.0))) for i in range(n_sites)}
    available = {w: {s: draw(st.integers(0, 6)) for s in skus} for w in sites}
    demand = {s: draw(st.integers(1, 8)) for s in skus}
    return demand, available, sites


def brute_force(
    demand: dict[str, int], available: dict[str, dict[str, int]], sites: dict[str, tuple[float, float]]
) -> tuple[int, float] | None:
    """(fewest warehouses, least total distance among those) over every subset, or None."""
    for size in range(1, len(sites) + 1):
        feasible = [
            subset
            for subset in combinations(sites, size)
            if all(sum(available[w].get(s, 0) for w in subset) >= q for s, q in demand.items())
        ]
        if feasible:
            return size, min(sum(haversine_m(*sites[w], *DELIVERY) for w in subset) for subset in feasible)
    return None


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_plan_is_feasible_minimal_and_shortest(
    scenario: tuple[dict[str, int], dict[str, dict[str, int]], dict[str, tuple[float, float]]],
) -> None:
    demand, available, sites = scenario
    plan = plan_allocation(demand, available, sites, DELIVERY)
    oracle = brute_force(demand, available, sites)
    if oracle is None:
        assert plan is None
        report = describe_shortage(demand, available, sites, DELIVERY)
        assert report.missing and all(q > 0 for q in report.missing.values())
        return
    assert plan is not None
    quantities = plan.quantities()
    # Never more than available, exactly the demand, no empty shipments.
    for (w, s), q in quantities.items():
        assert 0 < q <= available[w][s]
    for s, q in demand.items():
        assert sum(qty for (_, sku), qty in quantities.items() if sku == s) == q
    assert all(shipment.lines for shipment in plan.shipments)
    size, distance_m = oracle
    assert len(plan.shipments) == size
    assert abs(plan.total_distance_m - distance_m) < 1e-6


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_greedy_fallback_beyond_the_budget_is_still_feasible(
    scenario: tuple[dict[str, int], dict[str, dict[str, int]], dict[str, tuple[float, float]]],
) -> None:
    demand, available, sites = scenario
    plan = plan_allocation(demand, available, sites, DELIVERY, subset_budget=1)
    if brute_force(demand, available, sites) is None:
        assert plan is None
        return
    assert plan is not None
    quantities = plan.quantities()
    for (w, s), q in quantities.items():
        assert 0 < q <= available[w][s]
    for s, q in demand.items():
        assert sum(qty for (_, sku), qty in quantities.items() if sku == s) == q
