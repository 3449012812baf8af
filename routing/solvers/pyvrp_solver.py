"""PyVRP (iterated local search) on the routing problem, behind the same interface as OR-Tools.

Same integer scaling as the OR-Tools model (``routing.solvers.scaling``). Stops are optional clients
with a prize above any vehicle's cost, so a stop the fleet cannot take is left out (and returned in
``unassigned``) rather than forced in; a fixed cost per vehicle above any distance makes the search
use the fewest vehicles first. PyVRP has no per-client vehicle list, so vehicles with the same
capacities, shift end and set of forbidden stops form one vehicle type, and each such set gets a
routing profile whose edges into a forbidden stop cannot be driven within the horizon. PyVRP may
return a best solution that still breaks a constraint (it penalises rather than forbids); such stops
are taken out again by ``routing.schedule.repair`` so the answer is always feasible.
"""

from __future__ import annotations

import math
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import numpy as np
from pyvrp import Client, Depot, Location, ProblemData, Solution, VehicleType, solve
from pyvrp import Route as PyVrpRoute
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import FirstFeasible, MaxRuntime, MultipleCriteria, StoppingCriterion

from routing.model import RoutePlan, RoutingProblem, Vehicle
from routing.schedule import build_plan, repair
from routing.solvers.scaling import MAX_SCALED, Scaling, distance_bound, down, finite, time_horizon, up


@dataclass
class PyVrpSolver:
    """PyVRP's iterated local search until the time limit (seeded: the same input gives the same plan)."""

    name: str = "pyvrp"
    seed: int = 0
    minimise_vehicles: bool = True
    first_share: float = 0.2  # of the time: a first answer with the whole fleet
    reduce_share: float = 0.4  # of the time, at most: cutting the fleet one vehicle at a time

    def solve(self, problem: RoutingProblem, *, time_limit_s: float) -> RoutePlan:
        nobody = [i for i, stop in enumerate(problem.stops, start=1) if stop.allowed_vehicles == frozenset()]
        nodes = [i for i in range(1, len(problem.stops) + 1) if i not in set(nobody)]
        if not nodes:
            return build_plan(problem, {}, nobody)
        data, fleets = self._data(problem, nodes)
        best = self._search(data, max(0.01, time_limit_s))
        sequences: dict[str, list[int]] = {}
        dropped: list[int] = []
        used: dict[int, int] = defaultdict(int)
        for route in best.routes():
            kind = route.vehicle_type()
            vehicle = fleets[kind][used[kind]]
            used[kind] += 1
            visits = [nodes[activity.idx] for activity in route if activity.is_client()]
            kept, left = repair(problem, vehicle, visits)
            sequences[vehicle.id] = kept
            dropped += left
        routed = {i for seq in sequences.values() for i in seq}
        return build_plan(problem, sequences, [*nobody, *dropped, *(i for i in nodes if i not in routed)])

    def _run(self, data: ProblemData, stop: StoppingCriterion, start: Solution | None = None) -> Solution:
        return solve(data, stop=stop, seed=self.seed, collect_stats=False, display=False, initial_solution=start).best

    def _search(self, data: ProblemData, limit: float) -> Solution:
        """Distance-and-fleet search, with a fleet-reduction phase when the fleet is one vehicle type.

        The fixed cost per vehicle alone rarely empties a route (its stops must all move at once), so
        after a first solve (``first_share`` of the time) the fleet is cut to one vehicle fewer than
        used, with every stop required, starting from the current routes without the shortest one,
        until PyVRP finds no feasible answer within the phase's time (up to ``reduce_share``); the rest
        of the time improves distance on the smallest fleet found, starting from that answer.
        Solomon's records count vehicles first, and so do dispatchers.
        """
        deadline = time.perf_counter() + limit
        best = self._run(data, MaxRuntime(limit * (self.first_share if self.reduce_share else 1.0)))
        if not self.reduce_share or not self.minimise_vehicles or data.num_vehicle_types != 1:
            return best
        if not best.is_feasible() or best.num_clients() != data.num_clients:
            return self._run(data, MaxRuntime(max(0.0, deadline - time.perf_counter())), best)
        required = data.replace(clients=[_required(client) for client in data.clients()])
        fleet = data.vehicle_type(0)
        current, current_data = best, data
        reduce_until = deadline - limit * (1.0 - self.first_share - self.reduce_share)
        while current.num_routes() > _fewest(data) and (left := reduce_until - time.perf_counter()) > 0:
            smaller = required.replace(vehicle_types=[fleet.replace(num_available=current.num_routes() - 1)])
            # Warm start: the current routes but the shortest one, whose stops PyVRP must re-insert.
            kept = sorted(current.routes(), key=len)[1:]
            start = Solution(smaller, [PyVrpRoute(smaller, _visits(r), 0) for r in kept])
            with warnings.catch_warnings():  # a fleet too small is expected to max out PyVRP's penalties
                warnings.simplefilter("ignore", PenaltyBoundWarning)
                trial = self._run(smaller, MultipleCriteria([FirstFeasible(), MaxRuntime(left)]), start)
            if not trial.is_feasible():
                break
            current, current_data = trial, smaller
        start = Solution(current_data, [PyVrpRoute(current_data, _visits(r), 0) for r in current.routes()])
        return self._run(current_data, MaxRuntime(max(0.0, deadline - time.perf_counter())), start)

    def _data(self, problem: RoutingProblem, nodes: list[int]) -> tuple[ProblemData, list[list[Vehicle]]]:
        """PyVRP's instance on the depot and ``nodes``, and the vehicles behind each vehicle type."""
        scale = Scaling.of(problem)
        locations = [0, *nodes]
        horizon = down(time_horizon(problem), scale.time)
        bound = up(distance_bound(problem), scale.distance)
        grid = np.ix_(locations, locations)
        distances = np.ceil(finite(problem.matrix.distances_m)[grid] * scale.distance - 1e-6).astype(np.int64)
        raw = problem.matrix.durations_s[grid]
        durations = np.where(
            np.isfinite(raw), np.ceil(np.where(np.isfinite(raw), raw, 0) * scale.time - 1e-6), horizon + 1
        )
        durations = durations.astype(np.int64)

        # Vehicle types: the same capacities, shift end and forbidden stops (positions in ``locations``).
        groups: dict[tuple[int, int, int, frozenset[int]], list[Vehicle]] = defaultdict(list)
        for vehicle in problem.vehicles:
            forbidden = frozenset(
                k
                for k, i in enumerate(nodes, start=1)
                if (allowed := problem.stops[i - 1].allowed_vehicles) is not None and vehicle.id not in allowed
            )
            kg = down(vehicle.capacity_kg, scale.load)
            m3 = MAX_SCALED if vehicle.capacity_m3 is None else down(vehicle.capacity_m3, scale.load)
            end = horizon if vehicle.shift_end_s is None else min(horizon, down(vehicle.shift_end_s, scale.time))
            groups[(kg, m3, end, forbidden)].append(vehicle)
        profiles: dict[frozenset[int], int] = {}
        # PyVRP's stubs type matrices as ndarray[int]; they are int64 arrays.
        distance_matrices: list[Any] = []
        duration_matrices: list[Any] = []
        types: list[VehicleType] = []
        for (kg, m3, end, forbidden), members in groups.items():
            if forbidden not in profiles:
                profiles[forbidden] = len(profiles)
                dist, dur = distances.copy(), durations.copy()
                cut = sorted(forbidden)
                dist[:, cut] = 4 * bound
                dur[:, cut] = horizon + 1
                dist[cut, cut] = 0  # PyVRP insists on a zero diagonal
                dur[cut, cut] = 0
                distance_matrices.append(dist)
                duration_matrices.append(dur)
            types.append(
                VehicleType(
                    num_available=len(members),
                    capacity=[kg, m3],
                    fixed_cost=bound if self.minimise_vehicles else 0,
                    tw_early=0,
                    tw_late=end,
                    start_late=0,
                    profile=profiles[forbidden],
                    name=members[0].id,
                )
            )
        clients = []
        for k, i in enumerate(nodes, start=1):
            stop = problem.stops[i - 1]
            early, late = (
                (0, horizon)
                if stop.window is None
                else (up(stop.window[0], scale.time), down(stop.window[1], scale.time))
            )
            clients.append(
                Client(
                    location=k,
                    delivery=[up(stop.demand_kg, scale.load), up(stop.volume_m3, scale.load)],
                    service_duration=up(stop.service_s, scale.time),
                    tw_early=early,
                    tw_late=min(late, horizon),
                    prize=4 * bound + 1,
                    required=False,
                    name=stop.id,
                )
            )
        points = [problem.depot, *(problem.stops[i - 1].location for i in nodes)]
        data = ProblemData(
            locations=[Location(x=p.lng, y=p.lat) for p in points],
            clients=clients,
            depots=[Depot(location=0, tw_early=0, tw_late=horizon)],
            vehicle_types=types,
            distance_matrices=distance_matrices,
            duration_matrices=duration_matrices,
        )
        return data, list(groups.values())


def _visits(route: PyVrpRoute) -> list[int]:
    return [activity.idx for activity in route if activity.is_client()]


def _required(client: Client) -> Client:
    """The same client, no longer optional (fleet reduction must serve everyone)."""
    return Client(
        location=client.location,
        delivery=client.delivery,
        service_duration=client.service_duration,
        tw_early=client.tw_early,
        tw_late=client.tw_late,
        prize=client.prize,
        required=True,
        name=client.name,
    )


def _fewest(data: ProblemData) -> int:
    """No fleet of one vehicle type carries the total demand in fewer vehicles than this (per load dimension)."""
    capacity = data.vehicle_type(0).capacity
    need = 1
    for dim, room in enumerate(capacity):
        total = sum(client.delivery[dim] for client in data.clients())
        need = max(need, math.ceil(total / max(room, 1)))
    return need
