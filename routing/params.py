"""Tuning knobs of delivery routing (travel model, road network, solver and its time limits) as one object.

An operator overrides them through settings (``DISPATCH_ROUTING__<FIELD>``, see ``api.settings``); a test
or a benchmark constructs :class:`RoutingParams` directly. A request's own ``time_limit_s`` overrides
``time_limit_s`` but never exceeds ``max_time_limit_s``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from routing.solvers import DEFAULT_SOLVER, solver_names


@dataclass(frozen=True)
class RoutingParams:
    """How travel is modelled and how long the solver may run; see each field."""

    #: Road distance over great-circle distance in the straight-line model (1.3 is typical of towns).
    detour_factor: float = 1.3
    #: Average driving speed of the straight-line model, km/h (urban delivery, stops and lights included).
    speed_kmh: float = 30.0
    #: An OpenStreetMap extract (.osm.pbf): when set, travel comes from its driving network instead of
    #: the straight-line model (built once per process, then cached).
    osm_pbf: str | None = None
    #: A point farther than this from every node of the road network is refused (it is off the map).
    max_snap_m: float = 1000.0
    #: Speed on the leg between a point and its snapped network node, km/h (a driveway, a yard).
    access_speed_kmh: float = 15.0
    #: Seconds the solver runs when the request gives no time limit.
    time_limit_s: float = 1.0
    #: A request's time limit is capped here (one plan must not hold a worker for minutes).
    max_time_limit_s: float = 30.0
    #: The engine behind ``POST /v1/dispatch/plan`` (a name ``routing.solvers`` knows).
    solver: str = DEFAULT_SOLVER

    def __post_init__(self) -> None:
        positive = ("detour_factor", "speed_kmh", "max_snap_m", "access_speed_kmh", "time_limit_s", "max_time_limit_s")
        for name in positive:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        if self.detour_factor < 1.0:
            raise ValueError(f"detour_factor must be at least 1 (roads never beat the crow), got {self.detour_factor}")
        if self.time_limit_s > self.max_time_limit_s:
            raise ValueError(
                f"time_limit_s ({self.time_limit_s}) must not exceed max_time_limit_s ({self.max_time_limit_s})"
            )
        if self.osm_pbf is not None and not self.osm_pbf.strip():
            raise ValueError("osm_pbf must be a path to an .osm.pbf file, or unset")
        if self.solver not in solver_names():
            raise ValueError(f"solver must be one of {', '.join(solver_names())}, got {self.solver!r}")

    def capped_time_limit_s(self, requested_s: float | None) -> float:
        """The time limit a plan gets: the request's (if any), never above ``max_time_limit_s``."""
        return min(self.time_limit_s if requested_s is None else requested_s, self.max_time_limit_s)


DEFAULT_ROUTING_PARAMS = RoutingParams()

__all__ = ["DEFAULT_ROUTING_PARAMS", "RoutingParams"]
