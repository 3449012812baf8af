"""Request and response bodies of ``POST /v1/dispatch/plan`` (the contract's Transport section).

Numbers are only checked to be numbers here: whether a stop's demand, window or coordinates make sense
is the domain's question (``routing.validation``, ``routing.matrices``), whose 422 names the stop.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from orders_core.transport.planning import PlanCommand
from routing.model import Point, Stop, Vehicle

MAX_STOPS = 2000
MAX_VEHICLES = 500
Id = Field(min_length=1, max_length=128)


class LocationIn(BaseModel):
    """A WGS-84 coordinate."""

    lat: float = Field(allow_inf_nan=False)
    lng: float = Field(allow_inf_nan=False)

    def to_point(self) -> Point:
        return Point(self.lat, self.lng)


class VehicleIn(BaseModel):
    """A vehicle: its id (a carrier id brings that carrier's coverage), capacities and shift end."""

    id: str = Id
    capacity_kg: float = Field(allow_inf_nan=False)
    capacity_m3: float | None = Field(default=None, allow_inf_nan=False)
    shift_end_s: float | None = Field(default=None, allow_inf_nan=False)

    def to_vehicle(self) -> Vehicle:
        return Vehicle(self.id, self.capacity_kg, self.capacity_m3, self.shift_end_s)


class StopIn(BaseModel):
    """A delivery; ``allowed_vehicles`` (an extra of this service) limits who may serve it."""

    id: str = Id
    location: LocationIn
    demand_kg: float = Field(allow_inf_nan=False)
    volume_m3: float = Field(default=0.0, allow_inf_nan=False)
    service_s: float = Field(default=0.0, allow_inf_nan=False)
    window: tuple[float, float] | None = Field(default=None, description="[earliest_s, latest_s] start of service")
    allowed_vehicles: list[str] | None = Field(
        default=None, max_length=MAX_VEHICLES, description="vehicle ids that may serve this stop (default: any)"
    )

    def to_stop(self) -> Stop:
        return Stop(
            id=self.id,
            location=self.location.to_point(),
            demand_kg=self.demand_kg,
            volume_m3=self.volume_m3,
            service_s=self.service_s,
            window=self.window,
            allowed_vehicles=None if self.allowed_vehicles is None else frozenset(self.allowed_vehicles),
        )


class MatrixIn(BaseModel):
    """Travel between locations 0..n (0 = depot, then the stops in request order), used as given."""

    durations_s: list[list[float]] = Field(max_length=MAX_STOPS + 1)
    distances_m: list[list[float]] = Field(max_length=MAX_STOPS + 1)


class PlanIn(BaseModel):
    """``POST /v1/dispatch/plan``."""

    depot: LocationIn
    start_at: datetime | None = Field(default=None, description="ISO-8601; times in the plan count from it")
    vehicles: list[VehicleIn] = Field(min_length=1, max_length=MAX_VEHICLES)
    stops: list[StopIn] = Field(max_length=MAX_STOPS)
    matrix: MatrixIn | None = None
    time_limit_s: float | None = Field(default=None, gt=0, allow_inf_nan=False, description="capped by the service")

    def to_command(self) -> PlanCommand:
        """The use case's command; a naive ``start_at`` is taken as UTC, none means now."""
        start_at = self.start_at or datetime.now(UTC)
        if start_at.tzinfo is None:
            start_at = start_at.replace(tzinfo=UTC)
        return PlanCommand(
            depot=self.depot.to_point(),
            vehicles=tuple(v.to_vehicle() for v in self.vehicles),
            stops=tuple(s.to_stop() for s in self.stops),
            matrix=None if self.matrix is None else (self.matrix.durations_s, self.matrix.distances_m),
            time_limit_s=self.time_limit_s,
            start_at=start_at.astimezone(UTC),
        )


class ScheduledStopOut(BaseModel):
    """When the vehicle reaches the stop, starts serving it and leaves (seconds after ``start_at``)."""

    id: str
    arrival_s: float
    start_s: float
    departure_s: float


class RouteOut(BaseModel):
    """One vehicle's tour; ``loading_order`` lists its stops first loaded first (the last delivered)."""

    vehicle_id: str
    stops: list[ScheduledStopOut]
    distance_m: float
    duration_s: float
    load_kg: float
    load_m3: float
    loading_order: list[str]


class PlanOut(BaseModel):
    """The routes, the stops no route could take, the total distance; with the plan's ``start_at``."""

    start_at: datetime
    routes: list[RouteOut]
    unassigned: list[str]
    distance_m: float
    matrix_source: str = Field(description="given, straight_line or road_network")
    time_limit_s: float
    snap_m: dict[str, float] | None = Field(
        default=None, description="road network only: metres from the depot and each stop to its network node"
    )
