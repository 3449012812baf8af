"""validate(): a stop no vehicle could ever serve is a 422 naming it; fleet-wide misfits are not errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from routing.model import InfeasibleStop, InvalidProblem, RoutingProblem, TravelMatrix, Vehicle
from routing.validation import validate
from tests.routing.helpers import problem, stop

TRUCKS = [Vehicle("small", 50.0, 1.0, 500.0), Vehicle("big", 100.0, 2.0, 300.0)]


def one_stop(**kwargs: Any) -> RoutingProblem:
    """A depot at 0 and the stop under test at 100 (100 s each way), beside an easy stop at 10."""
    return problem((0, 0), [((10, 0), stop("easy")), ((100, 0), stop("s", **kwargs))], TRUCKS)


def reason_of(prob: RoutingProblem) -> str:
    with pytest.raises(InfeasibleStop) as caught:
        validate(prob)
    assert caught.value.details["stop_id"] == "s"
    assert "'s'" in caught.value.message
    return str(caught.value.details["reason"])


def test_a_serviceable_problem_passes() -> None:
    validate(one_stop(kg=100.0, volume_m3=2.0, window=(0.0, 100.0), service_s=50.0))


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"kg": 100.5}, "too_heavy"),
        ({"volume_m3": 2.5}, "too_large"),
        ({"window": (50.0, 40.0)}, "empty_window"),
        ({"window": (0.0, 99.0)}, "window_unreachable"),
        ({"window": (410.0, 450.0)}, "after_shift_end"),
        ({"kg": 80.0, "window": (250.0, 260.0)}, "no_single_vehicle"),
        ({"allowed_vehicles": frozenset({"ghost"})}, "unknown_vehicles"),
        ({"kg": 60.0, "allowed_vehicles": frozenset({"small", "ghost"})}, "too_heavy"),
        ({"kg": math.nan}, "invalid_value"),
        ({"service_s": -1.0}, "invalid_value"),
        ({"window": (math.nan, 10.0)}, "invalid_window"),
    ],
)
def test_a_stop_no_vehicle_can_serve_is_named(kwargs: dict[str, Any], reason: str) -> None:
    assert reason_of(one_stop(**kwargs)) == reason


def test_an_empty_allowed_set_is_not_an_error() -> None:
    validate(one_stop(allowed_vehicles=frozenset()))


def test_stops_that_fit_alone_but_not_together_are_not_errors() -> None:
    stops = [((10, 0), stop(f"s{k}", kg=100.0)) for k in range(5)]
    validate(problem((0, 0), stops, TRUCKS))


def test_unreachable_stop_is_named() -> None:
    prob = one_stop()
    durations = prob.matrix.durations_s.copy()
    durations[0, 2] = np.inf
    unreachable = RoutingProblem(
        prob.depot, prob.vehicles, prob.stops, TravelMatrix(durations, prob.matrix.distances_m)
    )
    assert reason_of(unreachable) == "unreachable"


def test_duplicate_ids_and_bad_matrices_are_refused() -> None:
    with pytest.raises(InvalidProblem, match="duplicate stop id"):
        validate(problem((0, 0), [((1, 0), stop("a")), ((2, 0), stop("a"))], TRUCKS))
    with pytest.raises(InvalidProblem, match="duplicate vehicle id"):
        validate(problem((0, 0), [((1, 0), stop("a"))], [TRUCKS[0], TRUCKS[0]]))
    with pytest.raises(InvalidProblem, match="at least one vehicle"):
        validate(problem((0, 0), [((1, 0), stop("a"))], []))
    prob = one_stop()
    small = TravelMatrix(prob.matrix.durations_s[:2, :2], prob.matrix.distances_m[:2, :2])
    with pytest.raises(InvalidProblem, match=r"expected \(3, 3\)"):
        validate(RoutingProblem(prob.depot, prob.vehicles, prob.stops, small))
    negative = prob.matrix.distances_m.copy()
    negative[1, 2] = -1.0
    with pytest.raises(InvalidProblem, match="negative"):
        validate(RoutingProblem(prob.depot, prob.vehicles, prob.stops, TravelMatrix(prob.matrix.durations_s, negative)))
    with pytest.raises(InvalidProblem, match="capacity_kg"):
        validate(problem((0, 0), [((1, 0), stop("a"))], [Vehicle("v", -5.0)]))
