"""The delivery-routing problem and its answer, as plain values (no I/O, no solver types).

Conventions (the contract's Transport section): times are seconds after the plan's start; location
index 0 is the depot and 1..n are the stops in request order; distances are metres, loads kg and m3.
A solver (``routing.solvers``) turns a ``RoutingProblem`` into a ``RoutePlan``; a matrix provider
(``routing.matrices``) turns coordinates into a ``TravelMatrix``; ``routing.feasibility`` checks a plan
against its problem without calling any solver.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from foundation.errors import InvalidInput

FloatMatrix = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Point:
    """A WGS-84 coordinate."""

    lat: float
    lng: float


@dataclass(frozen=True)
class Vehicle:
    """One vehicle (a carrier's truck): what it can carry and when it must be back at the depot."""

    id: str
    capacity_kg: float
    capacity_m3: float | None = None  # None: volume is not limited
    shift_end_s: float | None = None  # None: no shift end


@dataclass(frozen=True)
class Stop:
    """A delivery: where, how much, how long it takes, when it may start, and who may serve it."""

    id: str
    location: Point
    demand_kg: float
    volume_m3: float = 0.0
    service_s: float = 0.0
    window: tuple[float, float] | None = None  # (earliest start, latest start); None: any time
    allowed_vehicles: frozenset[str] | None = None  # None: any vehicle; empty: none (never "all")


@dataclass(frozen=True)
class TravelMatrix:
    """Travel between locations 0..n (0 = depot): seconds and metres; ``inf`` marks an unreachable pair."""

    durations_s: FloatMatrix
    distances_m: FloatMatrix

    @property
    def size(self) -> int:
        return int(self.durations_s.shape[0])


class MatrixProvider(Protocol):
    """Turns locations (depot first) into a travel matrix: straight-line model, caller's matrix, road network."""

    def matrix(self, points: Sequence[Point]) -> TravelMatrix: ...


@dataclass(frozen=True)
class RoutingProblem:
    """A capacitated VRP with time windows, service times, shift ends and per-stop allowed vehicles."""

    depot: Point
    vehicles: tuple[Vehicle, ...]
    stops: tuple[Stop, ...]
    matrix: TravelMatrix


@dataclass(frozen=True)
class ScheduledStop:
    """When a vehicle reaches a stop, starts serving it (after any wait) and leaves."""

    stop_id: str
    arrival_s: float
    start_s: float
    departure_s: float


@dataclass(frozen=True)
class Route:
    """One vehicle's tour from the depot and back; ``loading_order`` is the stops reversed (last stop first)."""

    vehicle_id: str
    stops: tuple[ScheduledStop, ...]
    distance_m: float
    duration_s: float
    load_kg: float
    load_m3: float
    loading_order: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class RoutePlan:
    """Routes of the vehicles used, and the stops no route could take (never silently dropped)."""

    routes: tuple[Route, ...]
    unassigned: tuple[str, ...]

    @property
    def distance_m(self) -> float:
        return sum(route.distance_m for route in self.routes)


class Solver(Protocol):
    """A VRP engine behind one interface (OR-Tools by default)."""

    name: str

    def solve(self, problem: RoutingProblem, *, time_limit_s: float) -> RoutePlan: ...


class InfeasibleStop(InvalidInput):
    """A stop no vehicle could ever serve (heavier than every vehicle, an empty window, ...); names the stop."""

    code = "infeasible_stop"


class InvalidProblem(InvalidInput):
    """A problem that is malformed as a whole (duplicate ids, a matrix of the wrong size, no vehicles)."""

    code = "invalid_routing_problem"
