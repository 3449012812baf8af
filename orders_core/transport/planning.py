"""Plan delivery routes for ``POST /v1/dispatch/plan``: travel matrix, carriers' coverage, then the solver.

The matcher's eligibility feeds the solver: a vehicle whose id is a known carrier with a coverage fence
may only serve the stops that fence covers (the same shapely ``covers`` test as the matcher). A stop's
explicit ``allowed_vehicles`` narrows that further. A stop nobody may take comes back unassigned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from shapely.geometry import Point as ShapelyPoint

from foundation.errors import InvalidInput
from orders_core.carriers.repository import CarrierRepository
from orders_core.unit_of_work import UnitOfWorkFactory
from routing import plan_routes
from routing.matrices import LocationsError, RoadNetworkProvider, configured_provider, given_matrix
from routing.matrices.points import coordinates
from routing.model import MatrixProvider, Point, RoutePlan, RoutingProblem, Stop, TravelMatrix, Vehicle
from routing.params import RoutingParams

MatrixRows = Sequence[Sequence[float]]


class UnknownAllowedVehicle(InvalidInput):
    """A stop's ``allowed_vehicles`` names a vehicle that is not in the plan."""

    code = "unknown_vehicle"


@dataclass(frozen=True)
class PlanCommand:
    """What to plan: depot, fleet, stops (with any explicit allowed vehicles) and, optionally, the matrix."""

    depot: Point
    vehicles: tuple[Vehicle, ...]
    stops: tuple[Stop, ...]
    start_at: datetime
    matrix: tuple[MatrixRows, MatrixRows] | None = None  # (durations_s, distances_m), used as given
    time_limit_s: float | None = None


@dataclass(frozen=True)
class DeliveryPlan:
    """The solver's plan, how travel was modelled, and the time limit it actually got."""

    plan: RoutePlan
    start_at: datetime
    matrix_source: str
    time_limit_s: float
    snap_m: dict[str, float] | None = None


def location_labels(stops: Sequence[Stop]) -> list[str]:
    """How errors call the locations: ``depot``, then ``stop '<id>'``."""
    return ["depot", *(f"stop {stop.id!r}" for stop in stops)]


@dataclass(frozen=True)
class Travel:
    """The plan's matrix, where it came from, and (on a road network) each location's snap distance."""

    matrix: TravelMatrix
    source: str
    snap_m: dict[str, float] | None = None  # "depot" and stop ids -> metres to the network node


def travel_matrix(command: PlanCommand, provider: MatrixProvider) -> Travel:
    """The caller's matrix when given (checked, used as is), else the provider's; errors name the stops."""
    labels = location_labels(command.stops)
    points = [command.depot, *(stop.location for stop in command.stops)]
    try:
        coordinates(points)  # checked even with a given matrix: coverage tests use them
        if command.matrix is not None:
            durations, distances = command.matrix
            return Travel(given_matrix(durations, distances, len(points), labels), "given")
        if isinstance(provider, RoadNetworkProvider):
            matrix, snaps = provider.matrix_and_snaps(points)
            names = ["depot", *(stop.id for stop in command.stops)]
            return Travel(matrix, "road_network", {n: round(s.snap_m, 1) for n, s in zip(names, snaps, strict=True)})
        return Travel(provider.matrix(points), "straight_line")
    except LocationsError as error:
        raise error.named(labels) from None


def restrict_to_coverage(
    stops: Sequence[Stop], vehicles: Sequence[Vehicle], coverages: dict[str, object]
) -> tuple[Stop, ...]:
    """Each stop's allowed vehicles: its explicit list (or every vehicle) minus the vehicles whose carrier's
    coverage does not cover it. ``coverages`` maps vehicle id to a shapely (Multi)Polygon."""
    fleet = {vehicle.id for vehicle in vehicles}
    restricted = []
    for stop in stops:
        if stop.allowed_vehicles is not None:
            unknown = sorted(stop.allowed_vehicles - fleet)
            if unknown:
                names = ", ".join(map(repr, unknown))
                raise UnknownAllowedVehicle(
                    f"stop {stop.id!r}: allowed_vehicles names {names}, not a vehicle of the plan",
                    details={"stop_id": stop.id, "vehicle_ids": unknown},
                )
        spot = ShapelyPoint(stop.location.lng, stop.location.lat)
        outside = {vid for vid, fence in coverages.items() if not fence.covers(spot)}  # type: ignore[attr-defined]
        if outside:
            allowed = (stop.allowed_vehicles if stop.allowed_vehicles is not None else frozenset(fleet)) - outside
            stop = replace(stop, allowed_vehicles=frozenset(allowed))
        restricted.append(stop)
    return tuple(restricted)


def carrier_coverages(new_uow: UnitOfWorkFactory, vehicle_ids: Sequence[str]) -> dict[str, object]:
    """Coverage fences of the vehicles that are known carriers with one (others: no restriction)."""
    with new_uow() as uow:
        repository = CarrierRepository(uow.session)
        carriers = [repository.get(vehicle_id) for vehicle_id in vehicle_ids]
    return {c.id: c.coverage for c in carriers if c is not None and c.coverage is not None}


def plan_deliveries(
    new_uow: UnitOfWorkFactory,
    command: PlanCommand,
    *,
    params: RoutingParams,
    provider: MatrixProvider | None = None,
) -> DeliveryPlan:
    """Plan routes for ``command``: 422 naming the stop for input no plan can honour, else the plan with
    every stop either on a route or in ``unassigned``. Reads carriers; writes nothing."""
    travel = travel_matrix(command, provider or configured_provider(params))
    stops = restrict_to_coverage(
        command.stops, command.vehicles, carrier_coverages(new_uow, [v.id for v in command.vehicles])
    )
    problem = RoutingProblem(depot=command.depot, vehicles=command.vehicles, stops=stops, matrix=travel.matrix)
    time_limit_s = params.capped_time_limit_s(command.time_limit_s)
    plan = plan_routes(problem, solver=params.solver, time_limit_s=time_limit_s)
    return DeliveryPlan(
        plan=plan,
        start_at=command.start_at,
        matrix_source=travel.source,
        time_limit_s=time_limit_s,
        snap_m=travel.snap_m,
    )
