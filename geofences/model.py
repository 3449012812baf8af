"""Geofences: named polygons with a purpose (carrier coverage, service area, restricted zone)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shapely.geometry import MultiPolygon, Point, Polygon

from foundation.errors import NotFound


class GeofenceKind(StrEnum):
    """What a fence means to the dispatcher."""

    CARRIER_COVERAGE = "carrier_coverage"
    SERVICE_AREA = "service_area"
    RESTRICTED_ZONE = "restricted_zone"


class GeofenceNotFound(NotFound):
    """No geofence with this id."""

    code = "geofence_not_found"


@dataclass(frozen=True)
class Geofence:
    """A fence in WGS-84 lng-lat; ``owner_id`` names the carrier/customer/warehouse it belongs to, if any."""

    id: str
    kind: GeofenceKind
    geometry: Polygon | MultiPolygon
    owner_id: str | None = None
    name: str | None = None

    def contains(self, lat: float, lng: float) -> bool:
        """Whether the point is inside or on the boundary (boundary counts as inside)."""
        return bool(self.geometry.covers(Point(lng, lat)))


def fences_containing(fences: list[Geofence], lat: float, lng: float) -> list[Geofence]:
    """The fences that cover a point, exact test (callers prefilter by bounding box or H3 cover)."""
    return [fence for fence in fences if fence.contains(lat, lng)]
