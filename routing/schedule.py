"""Turn a solver's visiting sequences into the answer, with times and distances recomputed in floats.

Solvers work on integers scaled from the matrix; the answer must carry the matrix's own figures. Each
route leaves the depot at 0 and starts every service as early as it may (arrival, or the window's
earliest start); ``loading_order`` is the delivery sequence reversed (``routing.loading``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from routing.loading import loading_order
from routing.model import Route, RoutePlan, RoutingProblem, ScheduledStop


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
