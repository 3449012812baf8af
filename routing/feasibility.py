"""An independent check of a plan against its problem: it reads the matrix itself and calls no solver.

Tests and ``dispatch bench vrp`` run every answer through ``check_plan`` (ours and the peers', once
converted into a ``RoutePlan``), so a solver cannot grade its own work. An empty list means feasible.
"""

from __future__ import annotations

import math
from collections import Counter

from routing.model import Route, RoutePlan, RoutingProblem, Stop, Vehicle

# Absolute slack on times, distances and loads (floats summed in another order by the solver).
TOLERANCE = 1e-6


def _close(a: float, b: float, tol: float) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def check_plan(problem: RoutingProblem, plan: RoutePlan, *, tol: float = TOLERANCE) -> list[str]:
    """Every violation found: coverage, vehicles, allowed vehicles, capacities, windows, shift ends, figures."""
    stops = {stop.id: (index, stop) for index, stop in enumerate(problem.stops, start=1)}
    vehicles = {vehicle.id: vehicle for vehicle in problem.vehicles}
    problems = _coverage(plan, stops)
    used = Counter(route.vehicle_id for route in plan.routes)
    problems += [f"vehicle {v!r} drives {n} routes" for v, n in used.items() if n > 1]
    for route in plan.routes:
        vehicle = vehicles.get(route.vehicle_id)
        if vehicle is None:
            problems.append(f"route of unknown vehicle {route.vehicle_id!r}")
            continue
        problems += _check_route(problem, route, vehicle, stops, tol)
    if not _close(plan.distance_m, sum(r.distance_m for r in plan.routes), tol):
        problems.append("plan distance is not the sum of its routes")
    return problems


def _coverage(plan: RoutePlan, stops: dict[str, tuple[int, Stop]]) -> list[str]:
    """Each stop exactly once, in a route or in ``unassigned``; nothing unknown."""
    seen = Counter([s.stop_id for r in plan.routes for s in r.stops] + list(plan.unassigned))
    problems = [f"stop {s!r} appears {n} times" for s, n in seen.items() if n > 1]
    problems += [f"unknown stop {s!r} in the plan" for s in seen if s not in stops]
    problems += [f"stop {s!r} is neither routed nor unassigned" for s in stops if s not in seen]
    return problems


def _check_route(
    problem: RoutingProblem, route: Route, vehicle: Vehicle, stops: dict[str, tuple[int, Stop]], tol: float
) -> list[str]:
    durations, distances = problem.matrix.durations_s, problem.matrix.distances_m
    where = f"route of {vehicle.id!r}"
    problems: list[str] = []
    known = [s for s in route.stops if s.stop_id in stops]
    if len(known) != len(route.stops):
        return [f"{where}: holds unknown stops"]
    kg = sum(stops[s.stop_id][1].demand_kg for s in known)
    m3 = sum(stops[s.stop_id][1].volume_m3 for s in known)
    if kg > vehicle.capacity_kg + tol:
        problems.append(f"{where}: {kg:g} kg exceeds the capacity {vehicle.capacity_kg:g} kg")
    if vehicle.capacity_m3 is not None and m3 > vehicle.capacity_m3 + tol:
        problems.append(f"{where}: {m3:g} m3 exceeds the capacity {vehicle.capacity_m3:g} m3")
    if not _close(kg, route.load_kg, tol) or not _close(m3, route.load_m3, tol):
        problems.append(
            f"{where}: stated load {route.load_kg:g} kg / {route.load_m3:g} m3, stops sum to {kg:g} / {m3:g}"
        )
    if tuple(route.loading_order) != tuple(s.stop_id for s in reversed(route.stops)):
        problems.append(f"{where}: loading order is not the delivery order reversed")
    previous, departure, distance = 0, 0.0, 0.0
    for scheduled in route.stops:
        index, stop = stops[scheduled.stop_id]
        at = f"{where}, stop {stop.id!r}"
        if stop.allowed_vehicles is not None and vehicle.id not in stop.allowed_vehicles:
            problems.append(f"{at}: vehicle not allowed")
        arrival = departure + float(durations[previous, index])
        distance += float(distances[previous, index])
        earliest, latest = stop.window if stop.window is not None else (0.0, math.inf)
        if not math.isfinite(arrival):
            problems.append(f"{at}: unreachable from the previous location")
            return problems
        if not _close(scheduled.arrival_s, arrival, tol):
            problems.append(f"{at}: arrival {scheduled.arrival_s:g} s, travel gives {arrival:g} s")
        if scheduled.start_s < max(scheduled.arrival_s, earliest) - tol:
            problems.append(f"{at}: service starts at {scheduled.start_s:g} s, before arrival or window")
        if scheduled.start_s > latest + tol:
            problems.append(f"{at}: service starts at {scheduled.start_s:g} s, after the window closes at {latest:g} s")
        if not _close(scheduled.departure_s, scheduled.start_s + stop.service_s, tol):
            problems.append(f"{at}: departure {scheduled.departure_s:g} s is not start + service")
        previous, departure = index, scheduled.departure_s
    if not route.stops:
        return problems
    back = departure + float(durations[previous, 0])
    distance += float(distances[previous, 0])
    if vehicle.shift_end_s is not None and back > vehicle.shift_end_s + tol:
        problems.append(f"{where}: back at {back:g} s, after the shift end {vehicle.shift_end_s:g} s")
    if not _close(route.duration_s, back, tol):
        problems.append(f"{where}: stated duration {route.duration_s:g} s, the schedule gives {back:g} s")
    if not _close(route.distance_m, distance, tol):
        problems.append(f"{where}: stated distance {route.distance_m:g} m, the matrix gives {distance:g} m")
    return problems
