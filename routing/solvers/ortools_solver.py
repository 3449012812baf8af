"""OR-Tools' RoutingModel on the routing problem: capacities, windows with waits, shift ends, allowed vehicles.

OR-Tools works on integers, so the matrix is scaled (``Scaling``): travel, service and earliest starts
are rounded up and latest starts and shift ends down, so that an integer-feasible route is feasible in
the real figures too; the answer's times and distances are then recomputed from the matrix in floats
(``routing.schedule``). Every stop has a disjunction with a penalty above any vehicle's cost, so a stop
the fleet cannot take comes back in ``unassigned`` instead of making the model infeasible. A stop
whose allowed set is empty never reaches the model: OR-Tools reads an empty allowed list as "all"
(and a vehicle variable without values as an infeasible model).
Objective: fewest vehicles (a fixed cost per vehicle above any possible distance), then distance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from routing.model import RoutePlan, RoutingProblem
from routing.schedule import build_plan
from routing.solvers.scaling import MAX_SCALED, Scaling, distance_bound, down, finite, time_horizon, up


@dataclass
class OrToolsSolver:
    """OR-Tools routing: a first solution, then guided local search until the time limit."""

    name: str = "ortools"
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    minimise_vehicles: bool = True
    gls_lambda: float = 0.1  # OR-Tools' default penalty coefficient of guided local search

    def solve(self, problem: RoutingProblem, *, time_limit_s: float) -> RoutePlan:
        nobody = [i for i, stop in enumerate(problem.stops, start=1) if stop.allowed_vehicles == frozenset()]
        nodes = [i for i in range(1, len(problem.stops) + 1) if i not in set(nobody)]
        if not nodes:
            return build_plan(problem, {}, nobody)
        sequences, dropped = self._search(problem, nodes, time_limit_s)
        return build_plan(problem, sequences, [*nobody, *dropped])

    def _search(
        self, problem: RoutingProblem, nodes: list[int], time_limit_s: float
    ) -> tuple[dict[str, list[int]], list[int]]:
        """Solve on the depot and ``nodes`` (problem positions); sequences in problem positions, dropped ones."""
        scale = Scaling.of(problem)
        locations = [0, *nodes]
        vehicles = problem.vehicles
        manager = pywrapcp.RoutingIndexManager(len(locations), len(vehicles), 0)
        model = pywrapcp.RoutingModel(manager)

        distances = finite(problem.matrix.distances_m)
        durations = problem.matrix.durations_s
        horizon = down(time_horizon(problem), scale.time)
        dist_cost = [[up(distances[a, b], scale.distance) for b in locations] for a in locations]
        service = [0.0, *(problem.stops[i - 1].service_s for i in nodes)]
        travel = [
            [
                up(durations[a, b] + service[ia], scale.time) if math.isfinite(durations[a, b]) else horizon + 1
                for b in locations
            ]
            for ia, a in enumerate(locations)
        ]
        cost_index = model.RegisterTransitMatrix(dist_cost)
        model.SetArcCostEvaluatorOfAllVehicles(cost_index)
        bound = up(distance_bound(problem), scale.distance)
        if self.minimise_vehicles:
            model.SetFixedCostOfAllVehicles(bound)

        time_index = model.RegisterTransitMatrix(travel)
        model.AddDimension(time_index, horizon, horizon, True, "time")
        time = model.GetDimensionOrDie("time")
        for v, vehicle in enumerate(vehicles):
            if vehicle.shift_end_s is not None:
                time.CumulVar(model.End(v)).SetMax(min(horizon, down(vehicle.shift_end_s, scale.time)))

        self._add_load(model, manager, problem, nodes, "kg", scale)
        if any(problem.stops[i - 1].volume_m3 > 0 for i in nodes):
            self._add_load(model, manager, problem, nodes, "m3", scale)

        penalty = 4 * bound + 1
        ids = {vehicle.id: v for v, vehicle in enumerate(vehicles)}
        for position, i in enumerate(nodes, start=1):
            stop = problem.stops[i - 1]
            index = manager.NodeToIndex(position)
            if stop.window is not None:
                time.CumulVar(index).SetRange(
                    up(stop.window[0], scale.time), min(horizon, down(stop.window[1], scale.time))
                )
            if stop.allowed_vehicles is not None:
                allowed = {ids[v] for v in stop.allowed_vehicles if v in ids}
                if len(allowed) < len(vehicles):
                    # What SetAllowedVehiclesForIndex does (its Python binding refuses lists in this
                    # OR-Tools); never all vehicles removed here: empty sets were left out in ``solve``.
                    model.VehicleVar(index).RemoveValues([v for v in range(len(vehicles)) if v not in allowed])
            model.AddDisjunction([index], penalty)

        params = pywrapcp.DefaultRoutingSearchParameters()
        params.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, self.first_solution)
        params.local_search_metaheuristic = getattr(routing_enums_pb2.LocalSearchMetaheuristic, self.metaheuristic)
        params.guided_local_search_lambda_coefficient = self.gls_lambda
        params.time_limit.FromMilliseconds(max(1, int(time_limit_s * 1000)))
        solution = model.SolveWithParameters(params)

        sequences: dict[str, list[int]] = {}
        if solution is None:
            return sequences, nodes
        for v, vehicle in enumerate(vehicles):
            index = solution.Value(model.NextVar(model.Start(v)))
            while not model.IsEnd(index):
                sequences.setdefault(vehicle.id, []).append(locations[manager.IndexToNode(index)])
                index = solution.Value(model.NextVar(index))
        routed = {i for seq in sequences.values() for i in seq}
        return sequences, [i for i in nodes if i not in routed]

    @staticmethod
    def _add_load(
        model: pywrapcp.RoutingModel,
        manager: pywrapcp.RoutingIndexManager,
        problem: RoutingProblem,
        nodes: list[int],
        unit: str,
        scale: Scaling,
    ) -> None:
        """A capacity dimension in grams or litres (demands rounded up, capacities down)."""
        demand_of = (lambda s: s.demand_kg) if unit == "kg" else (lambda s: s.volume_m3)
        demands = [0, *(up(demand_of(problem.stops[i - 1]), scale.load) for i in nodes)]
        capacities = []
        for vehicle in problem.vehicles:
            capacity = vehicle.capacity_kg if unit == "kg" else vehicle.capacity_m3
            capacities.append(MAX_SCALED if capacity is None else down(capacity, scale.load))
        index = model.RegisterUnaryTransitVector(demands)
        model.AddDimensionWithVehicleCapacity(index, 0, capacities, True, unit)
