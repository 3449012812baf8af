"""check_plan catches each kind of violation in hand-made plans (it must not trust the solver)."""

from __future__ import annotations

from dataclasses import replace

from routing.feasibility import check_plan
from routing.loading import loading_order
from routing.model import RoutePlan, Vehicle
from routing.schedule import build_plan, build_route, repair
from tests.routing.helpers import problem, stop

PROB = problem(
    (0, 0),
    [
        ((10, 0), stop("a", 6.0, volume_m3=1.0, window=(0.0, 15.0), service_s=2.0)),
        ((20, 0), stop("b", 6.0, volume_m3=1.0, allowed_vehicles=frozenset({"v0"}))),
    ],
    [Vehicle("v0", 20.0, 3.0, shift_end_s=100.0), Vehicle("v1", 10.0, 1.5, shift_end_s=30.0)],
)


def test_loading_order_is_the_delivery_order_reversed() -> None:
    assert loading_order(["first", "second", "third"]) == ("third", "second", "first")
    assert build_route(PROB, "v0", [1, 2]).loading_order == ("b", "a")


def test_a_good_plan_passes() -> None:
    plan = build_plan(PROB, {"v0": [1, 2]})
    assert plan.unassigned == ()
    assert plan.distance_m == 40.0
    assert check_plan(PROB, plan) == []


def test_each_violation_is_reported() -> None:
    assert "stop 'b' is neither routed nor unassigned" in check_plan(
        PROB, RoutePlan((build_route(PROB, "v0", [1]),), ())
    )
    twice = RoutePlan((build_route(PROB, "v0", [1, 2]),), ("a",))
    assert "stop 'a' appears 2 times" in check_plan(PROB, twice)
    found = " | ".join(check_plan(PROB, build_plan(PROB, {"v1": [2, 1]})))
    assert "12 kg exceeds the capacity 10 kg" in found
    assert "2 m3 exceeds the capacity 1.5 m3" in found
    assert "stop 'b': vehicle not allowed" in found
    assert "after the window closes at 15" in found
    assert "after the shift end 30" in found


def test_figures_that_do_not_match_the_matrix_are_reported() -> None:
    route = build_route(PROB, "v0", [1, 2])
    wrong = [
        replace(route, distance_m=39.0),
        replace(route, duration_s=10.0),
        replace(route, load_kg=1.0),
        replace(route, loading_order=("a", "b")),
        replace(route, stops=(replace(route.stops[0], arrival_s=9.0), route.stops[1])),
        replace(route, stops=(replace(route.stops[0], departure_s=10.0), route.stops[1])),
    ]
    for bad in wrong:
        assert len(check_plan(PROB, RoutePlan((bad,), ()))) >= 1, bad


def test_repair_keeps_what_the_vehicle_can_serve_in_that_order() -> None:
    # v1: 10 kg, 1.5 m3, back by 30 s; b is not allowed on v1, and a then b would not fit anyway.
    assert repair(PROB, PROB.vehicles[1], [2, 1]) == ([1], [2])
    assert repair(PROB, PROB.vehicles[0], [2, 1]) == ([2], [1])  # a's window closes at 15, b first ends at 20
    assert repair(PROB, PROB.vehicles[0], [1, 2]) == ([1, 2], [])
    kept, _ = repair(PROB, PROB.vehicles[0], [2, 1])
    assert check_plan(PROB, build_plan(PROB, {"v0": kept}, [1])) == []
