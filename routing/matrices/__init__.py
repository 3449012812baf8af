"""Travel-matrix providers: the straight-line model (default), a caller's matrix, an OSM road network.

Each turns the plan's locations (depot first) into a :class:`~routing.model.TravelMatrix`;
:func:`configured_provider` picks the one the settings ask for.
"""

from __future__ import annotations

from routing.matrices.errors import (
    InvalidLocation,
    InvalidMatrix,
    LocationsError,
    OffRoadNetwork,
    UnreachableLocations,
)
from routing.matrices.given import GivenMatrixProvider, given_matrix
from routing.matrices.road_network import RoadNetworkProvider
from routing.matrices.straight_line import StraightLineProvider
from routing.model import MatrixProvider
from routing.params import RoutingParams


def configured_provider(params: RoutingParams) -> MatrixProvider:
    """The road network of ``params.osm_pbf`` when one is set, else the straight-line model."""
    if params.osm_pbf:
        return RoadNetworkProvider(
            params.osm_pbf, max_snap_m=params.max_snap_m, access_speed_kmh=params.access_speed_kmh
        )
    return StraightLineProvider(params.detour_factor, params.speed_kmh)


__all__ = [
    "GivenMatrixProvider",
    "InvalidLocation",
    "InvalidMatrix",
    "LocationsError",
    "OffRoadNetwork",
    "RoadNetworkProvider",
    "StraightLineProvider",
    "UnreachableLocations",
    "configured_provider",
    "given_matrix",
]
