"""Every registered solver on small hand-checkable problems; answers checked by routing.feasibility."""

from __future__ import annotations

import pytest

from routing import plan_routes
from routing.feasibility import check_plan
from routing.model import InfeasibleStop, RoutePlan, RoutingProblem, Vehicle
from routing.solvers import DEFAULT_SOLVER, get_solver, solver_names
from tests.routing.helpers import problem, random_problem, stop

LIMIT_S = 0.3


@pytest.fixture(params=solver_names())
def solver(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def solve(prob: RoutingProblem, solver: str) -> RoutePlan:
    plan = plan_routes(prob, solver=solver, time_limit_s=LIMIT_S)
    assert check_plan(prob, plan) == []
    return plan


def sequences(plan: RoutePlan) -> dict[str, list[str]]:
    return {route.vehicle_id: [s.stop_id for s in route.stops] for route in plan.routes}


def test_windows_force_the_order(solver: str) -> None:
    # a at 10 opens at 100, b at 20 closes at 30: b must come first, then wait at a.
    prob = problem(
        (0, 0),
        [((10, 0), stop("a", window=(100.0, 110.0), service_s=5.0)), ((20, 0), stop("b", window=(0.0, 30.0)))],
        [Vehicle("v", 10.0)],
    )
    plan = solve(prob, solver)
    assert sequences(plan) == {"v": ["b", "a"]}
    b, a = plan.routes[0].stops
    assert (b.arrival_s, b.start_s, a.arrival_s, a.start_s, a.departure_s) == (20.0, 20.0, 30.0, 100.0, 105.0)
    assert plan.routes[0].duration_s == 115.0
    assert plan.routes[0].loading_order == ("a", "b")


def test_capacity_forces_two_vehicles(solver: str) -> None:
    prob = problem(
        (0, 0), [((5, 0), stop("a", 60.0)), ((6, 0), stop("b", 60.0))], [Vehicle("v0", 100.0), Vehicle("v1", 100.0)]
    )
    plan = solve(prob, solver)
    assert sorted(len(r.stops) for r in plan.routes) == [1, 1]
    assert plan.unassigned == ()


def test_volume_forces_two_vehicles(solver: str) -> None:
    stops = [((5, 0), stop("a", 1.0, volume_m3=1.5)), ((6, 0), stop("b", 1.0, volume_m3=1.5))]
    plan = solve(problem((0, 0), stops, [Vehicle("v0", 100.0, 2.0), Vehicle("v1", 100.0, 2.0)]), solver)
    assert sorted(len(r.stops) for r in plan.routes) == [1, 1]


def test_fewest_vehicles_first(solver: str) -> None:
    # Two vehicles would drive less (a star), one vehicle serves all: fewest vehicles wins.
    stops = [((10, 0), stop("a")), ((0, 10), stop("b")), ((-10, 0), stop("c"))]
    plan = solve(problem((0, 0), stops, [Vehicle("v0", 10.0), Vehicle("v1", 10.0), Vehicle("v2", 10.0)]), solver)
    assert len(plan.routes) == 1


def test_a_stop_only_one_vehicle_may_take(solver: str) -> None:
    stops = [((5, 0), stop("a")), ((6, 0), stop("b", allowed_vehicles=frozenset({"v1"})))]
    plan = solve(problem((0, 0), stops, [Vehicle("v0", 10.0), Vehicle("v1", 10.0)]), solver)
    assert {v: sorted(s) for v, s in sequences(plan).items()} == {"v1": ["a", "b"]}


def test_allowed_sets_split_the_stops(solver: str) -> None:
    stops = [
        ((5, 0), stop("a", allowed_vehicles=frozenset({"v0"}))),
        ((6, 0), stop("b", allowed_vehicles=frozenset({"v1", "ghost"}))),
    ]
    plan = solve(problem((0, 0), stops, [Vehicle("v0", 10.0), Vehicle("v1", 10.0)]), solver)
    assert sequences(plan) == {"v0": ["a"], "v1": ["b"]}


def test_an_empty_allowed_set_is_unassigned_not_given_to_all(solver: str) -> None:
    stops = [((5, 0), stop("a")), ((6, 0), stop("nobody", allowed_vehicles=frozenset()))]
    plan = solve(problem((0, 0), stops, [Vehicle("v0", 10.0)]), solver)
    assert plan.unassigned == ("nobody",)
    assert sequences(plan) == {"v0": ["a"]}


def test_only_empty_allowed_sets_gives_an_empty_plan(solver: str) -> None:
    plan = solve(
        problem((0, 0), [((6, 0), stop("nobody", allowed_vehicles=frozenset()))], [Vehicle("v0", 10.0)]), solver
    )
    assert plan.routes == ()
    assert plan.unassigned == ("nobody",)


def test_shift_end_splits_the_work(solver: str) -> None:
    # One tour would take 20 + 40 + 20 = 80 s; shifts end at 50 s, so each stop gets its own vehicle.
    stops = [((20, 0), stop("east")), ((-20, 0), stop("west"))]
    plan = solve(
        problem((0, 0), stops, [Vehicle("v0", 10.0, shift_end_s=50.0), Vehicle("v1", 10.0, shift_end_s=50.0)]), solver
    )
    assert len(plan.routes) == 2
    assert all(r.duration_s == 40.0 for r in plan.routes)


def test_what_the_fleet_cannot_take_comes_back_unassigned(solver: str) -> None:
    stops = [((20, 0), stop("east", 6.0)), ((-20, 0), stop("west", 5.0))]
    plan = solve(problem((0, 0), stops, [Vehicle("v0", 10.0, shift_end_s=50.0)]), solver)
    assert len(plan.routes) == 1
    assert len(plan.unassigned) == 1


def test_a_stop_heavier_than_every_vehicle_is_refused_by_name(solver: str) -> None:
    prob = problem((0, 0), [((5, 0), stop("a")), ((6, 0), stop("anvil", 500.0))], [Vehicle("v0", 100.0)])
    with pytest.raises(InfeasibleStop, match="'anvil'") as caught:
        plan_routes(prob, solver=solver, time_limit_s=LIMIT_S)
    assert caught.value.details == {"stop_id": "anvil", "reason": "too_heavy"}


@pytest.mark.parametrize("seed", range(6))
def test_random_instances_are_feasible(solver: str, seed: int) -> None:
    prob = random_problem(seed)
    plan = solve(prob, solver)
    assert plan.routes
    for route in plan.routes:
        assert route.loading_order == tuple(s.stop_id for s in reversed(route.stops))


def test_the_registry() -> None:
    assert DEFAULT_SOLVER in solver_names()
    assert get_solver().name == DEFAULT_SOLVER
    with pytest.raises(ValueError, match="unknown solver"):
        get_solver("nope")
