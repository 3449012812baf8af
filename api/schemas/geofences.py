"""Request and response bodies for geofences."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Kind = Literal["carrier_coverage", "service_area", "restricted_zone"]


class GeofenceIn(BaseModel):
    kind: Kind
    geometry: dict[str, Any] = Field(description="GeoJSON Polygon or MultiPolygon (lng-lat)")
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
