"""Turn a solver's visiting sequences into the answer, with times and distances recomputed in floats.

Solvers work on integers scaled from the matrix; the answer must carry the matrix's own figures. Each
route leaves the depot at 0 and starts every service as early as it may (arrival, or the window's
earliest start); ``loading_order`` is the delivery sequence reversed (``routing.loading``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from routing.loading import loading_order
from routing.model import Route, RoutePlan, RoutingProblem, ScheduledStop, Vehicle


def build_route(problem: RoutingProblem, vehicle_id: str, sequence: Sequence[int]) -> Route:
    """The route driving ``sequence`` (stop positions 1..n, depot excluded) from the depot and back."""
    durations, distances = problem.matrix.durations_s, problem.matrix.distances_m
    scheduled: list[ScheduledStop] = []
    previous, clock, distance, kg, m3 = 0, 0.0, 0.0, 0.0, 0.0
    for index in sequence:
        stop = problem.stops[index - 1]
        arrival = clock + float(durations[previous, index])
        start = max(arrival, stop.window[0]) if stop.window is not None else arrival
        clock = start + stop.service_s
        distance += float(distances[previous, index])
        kg += stop.demand_kg
        m3 += stop.volume_m3
        scheduled.append(ScheduledStop(stop.id, arrival, start, clock))
        previous = index
    if sequence:
        clock += float(durations[previous, 0])
        distance += float(distances[previous, 0])
    ids = [s.stop_id for s in scheduled]
    return Route(vehicle_id, tuple(scheduled), distance, clock, kg, m3, loading_order(ids))


def build_plan(
    problem: RoutingProblem, sequences: Mapping[str, Sequence[int]], unassigned: Sequence[int] = ()
) -> RoutePlan:
    """Routes of the vehicles with a non-empty sequence, in fleet order; the rest of the stops unassigned.

    ``unassigned`` lists stops the solver left out; any stop neither routed nor listed is added to it
    too, so nothing is ever dropped silently.
    """
    routes = tuple(
        build_route(problem, vehicle.id, sequences[vehicle.id])
        for vehicle in problem.vehicles
        if sequences.get(vehicle.id)
    )
    routed = {index for seq in sequences.values() for index in seq}
    left = list(dict.fromkeys([*unassigned, *(i for i in range(1, len(problem.stops) + 1) if i not in routed)]))
    return RoutePlan(routes, tuple(problem.stops[i - 1].id for i in sorted(left) if i not in routed))


def repair(problem: RoutingProblem, vehicle: Vehicle, sequence: Sequence[int]) -> tuple[list[int], list[int]]:
    """Keep the stops of ``sequence`` the vehicle can serve in that order; return (kept, taken out).

    A stop is kept when, after the kept ones before it, the vehicle is allowed there, still has room,
    can start within its window and could still be home by the shift end. A solver whose best answer
    may break a constraint (PyVRP penalises instead of forbidding) passes its routes through here.
    """
    durations = problem.matrix.durations_s
    kept: list[int] = []
    dropped: list[int] = []
    previous, clock, kg, m3 = 0, 0.0, 0.0, 0.0
    for index in sequence:
        stop = problem.stops[index - 1]
        arrival = clock + float(durations[previous, index])
        earliest, latest = stop.window if stop.window is not None else (0.0, math.inf)
        start = max(arrival, earliest)
        home = start + stop.service_s + float(durations[index, 0])
        fits = (
            (stop.allowed_vehicles is None or vehicle.id in stop.allowed_vehicles)
            and kg + stop.demand_kg <= vehicle.capacity_kg
            and (vehicle.capacity_m3 is None or m3 + stop.volume_m3 <= vehicle.capacity_m3)
            and start <= latest
            and math.isfinite(home)
            and (vehicle.shift_end_s is None or home <= vehicle.shift_end_s)
        )
        if not fits:
            dropped.append(index)
            continue
        kept.append(index)
        previous, clock, kg, m3 = index, start + stop.service_s, kg + stop.demand_kg, m3 + stop.volume_m3
    return kept, dropped
