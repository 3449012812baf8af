"""Reject what no solver could ever answer, naming the culprit; leave the rest to the solver.

A stop that no allowed vehicle could serve even on a route of its own (heavier or larger than all of
them, an empty or inverted window, a window the depot cannot reach in time, no way back before any
shift end) is a mistake in the request: ``InfeasibleStop`` (422) names it. Stops that are each
serviceable but do not all fit into the fleet together are not errors: the solver returns them in
``unassigned``. A stop whose allowed set is empty is also not an error: nobody may take it, so it is
unassigned without a search.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from routing.model import InfeasibleStop, InvalidProblem, RoutingProblem, Stop, Vehicle

# Comparisons of floats coming from matrices (sums of travel and service) allow this much slack.
EPS = 1e-6


def validate(problem: RoutingProblem) -> None:
    """Raise ``InvalidProblem`` or ``InfeasibleStop`` for input no plan can honour; return None otherwise."""
    _check_fleet(problem.vehicles)
    _check_ids(stop.id for stop in problem.stops)
    _check_matrix(problem)
    vehicles = {vehicle.id: vehicle for vehicle in problem.vehicles}
    for index, stop in enumerate(problem.stops, start=1):
        _check_stop(problem, index, stop, vehicles)


def candidate_vehicles(stop: Stop, vehicles: dict[str, Vehicle]) -> list[Vehicle]:
    """The known vehicles a stop may go to (all when it names none; unknown names are ignored)."""
    if stop.allowed_vehicles is None:
        return list(vehicles.values())
    return [vehicles[v] for v in sorted(stop.allowed_vehicles) if v in vehicles]


def _bad_number(value: float | None, *, allow_none: bool = False) -> bool:
    if value is None:
        return not allow_none
    return not math.isfinite(value) or value < 0


def _check_fleet(vehicles: tuple[Vehicle, ...]) -> None:
    if not vehicles:
        raise InvalidProblem("a plan needs at least one vehicle")
    _check_ids((vehicle.id for vehicle in vehicles), what="vehicle")
    for vehicle in vehicles:
        for name in ("capacity_kg", "capacity_m3", "shift_end_s"):
            value = getattr(vehicle, name)
            if _bad_number(value, allow_none=name != "capacity_kg"):
                raise InvalidProblem(
                    f"vehicle {vehicle.id!r}: {name} must be a finite number >= 0, not {value!r}",
                    details={"vehicle_id": vehicle.id, "field": name},
                )


def _check_ids(ids: Iterable[str], *, what: str = "stop") -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise InvalidProblem(f"duplicate {what} id {item!r}", details={f"{what}_id": item})
        seen.add(item)


def _check_matrix(problem: RoutingProblem) -> None:
    size = len(problem.stops) + 1
    for name in ("durations_s", "distances_m"):
        matrix = np.asarray(getattr(problem.matrix, name), dtype=np.float64)
        if matrix.shape != (size, size):
            raise InvalidProblem(
                f"matrix {name} is {matrix.shape}, expected ({size}, {size}): the depot and {size - 1} stops",
                details={"field": name, "expected": size},
            )
        if np.isnan(matrix).any() or (matrix < 0).any():
            raise InvalidProblem(f"matrix {name} holds NaN or negative values", details={"field": name})


def _infeasible(stop: Stop, reason: str, why: str) -> InfeasibleStop:
    return InfeasibleStop(f"stop {stop.id!r} cannot be served: {why}", details={"stop_id": stop.id, "reason": reason})


def _check_stop(problem: RoutingProblem, index: int, stop: Stop, vehicles: dict[str, Vehicle]) -> None:
    for name in ("demand_kg", "volume_m3", "service_s"):
        value = getattr(stop, name)
        if _bad_number(value):
            raise _infeasible(stop, "invalid_value", f"{name} must be a finite number >= 0, not {value!r}")
    earliest, latest = stop.window if stop.window is not None else (0.0, math.inf)
    if stop.window is not None:
        if any(math.isnan(t) for t in stop.window) or math.isinf(earliest) or earliest < 0:
            raise _infeasible(stop, "invalid_window", f"window {stop.window!r} is not a pair of times >= 0")
        if latest < earliest:
            raise _infeasible(stop, "empty_window", f"window {stop.window!r} ends before it starts")
    if stop.allowed_vehicles is not None and not stop.allowed_vehicles:
        return  # nobody may take it: unassigned, not an error
    candidates = candidate_vehicles(stop, vehicles)
    if not candidates:
        raise _infeasible(
            stop, "unknown_vehicles", f"its allowed vehicles {sorted(stop.allowed_vehicles or ())} are unknown"
        )
    if all(stop.demand_kg > v.capacity_kg + EPS for v in candidates):
        raise _infeasible(stop, "too_heavy", f"{stop.demand_kg} kg is more than any allowed vehicle carries")
    if all(v.capacity_m3 is not None and stop.volume_m3 > v.capacity_m3 + EPS for v in candidates):
        raise _infeasible(stop, "too_large", f"{stop.volume_m3} m3 is more than any allowed vehicle holds")
    out = float(problem.matrix.durations_s[0, index])
    back = float(problem.matrix.durations_s[index, 0])
    if not math.isfinite(out) or not math.isfinite(back):
        raise _infeasible(stop, "unreachable", "the travel matrix has no way between it and the depot")
    if out > latest + EPS:
        raise _infeasible(stop, "window_unreachable", f"the depot is {out:g} s away, its window closes at {latest:g} s")
    home = max(out, earliest) + stop.service_s + back
    if all(v.shift_end_s is not None and home > v.shift_end_s + EPS for v in candidates):
        raise _infeasible(
            stop, "after_shift_end", f"the earliest return to the depot ({home:g} s) is after every shift end"
        )
    if not any(_fits_alone(stop, v, home) for v in candidates):
        raise _infeasible(stop, "no_single_vehicle", "no single allowed vehicle has the capacity and the shift for it")


def _fits_alone(stop: Stop, vehicle: Vehicle, home: float) -> bool:
    """Could ``vehicle`` serve ``stop`` on a route of its own?"""
    return (
        stop.demand_kg <= vehicle.capacity_kg + EPS
        and (vehicle.capacity_m3 is None or stop.volume_m3 <= vehicle.capacity_m3 + EPS)
        and (vehicle.shift_end_s is None or home <= vehicle.shift_end_s + EPS)
    )
