"""Request and response bodies for geofences."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, WithJsonSchema

Kind = Literal["carrier_coverage", "service_area", "restricted_zone"]


def _polygonal_schema() -> dict[str, Any]:
    """The GeoJSON (Multi)Polygon that ``geofences.validation.parse_polygonal`` accepts, as far as JSON Schema
    can say it: the type enum, [lng, lat(, altitude)] positions within range, rings of at least 4 positions.
    What it cannot say (a ring closed, no self-intersection, a non-zero area) is a documented 422
    ``invalid_geometry``."""
    position = {
        "type": "array",
        "prefixItems": [
            {"type": "number", "minimum": -180, "maximum": 180, "description": "longitude"},
            {"type": "number", "minimum": -90, "maximum": 90, "description": "latitude"},
            {"type": "number", "description": "altitude"},
        ],
        "minItems": 2,
        "maxItems": 3,
    }
    ring = {"type": "array", "items": position, "minItems": 4, "description": "closed: the last position is the first"}
    polygon = {"type": "array", "items": ring, "minItems": 1, "description": "the outer ring, then holes"}

    def geometry(kind: str, coordinates: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["type", "coordinates"],
            "properties": {"type": {"type": "string", "enum": [kind]}, "coordinates": coordinates},
        }

    return {
        "oneOf": [
            geometry("Polygon", polygon),
            geometry("MultiPolygon", {"type": "array", "items": polygon, "minItems": 1}),
        ],
        "description": "GeoJSON Polygon or MultiPolygon (lng-lat, WGS-84); rings closed, not self-intersecting.",
    }


#: A GeoJSON (Multi)Polygon in a request: kept as JSON here and parsed by ``parse_polygonal`` (422
#: ``invalid_geometry`` naming the first problem); the published schema states its shape.
PolygonalGeoJson = Annotated[dict[str, Any], WithJsonSchema(_polygonal_schema(), mode="validation")]


class GeofenceIn(BaseModel):
    kind: Kind
    geometry: PolygonalGeoJson
    owner_id: str | None = Field(default=None, min_length=1, max_length=64)
    name: str | None = Field(default=None, max_length=200)


class GeofenceOut(BaseModel):
    id: str
    kind: Kind
    geometry: dict[str, Any]
    owner_id: str | None
    name: str | None


class FenceEventOut(BaseModel):
    carrier_id: str
    fence_id: str
    kind: Literal["enter", "exit"]
    at: datetime = Field(description="when the carrier crossed (first fix on the new side, or interpolated)")
    lat: float
    lng: float
    via_crossing: bool = Field(description="inferred from a segment through the fence between two outside fixes")
