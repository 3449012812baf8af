"""GeoJSON polygons in, valid shapely geometries out, or a precise 422 naming the first problem.

Used by carrier coverage and by geofences, so both answer the same messages for the same mistakes.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from foundation.errors import InvalidInput

POLYGONAL_TYPES = ("Polygon", "MultiPolygon")


class InvalidGeometry(InvalidInput):
    """A geometry that is not a valid GeoJSON (Multi)Polygon in WGS-84."""

    code = "invalid_geometry"


def _is_finite_number(number: Any) -> bool:
    """A JSON number that fits a float (a 400-digit integer overflows float() and is refused, not a 500)."""
    if isinstance(number, bool) or not isinstance(number, int | float):
        return False
    try:
        return math.isfinite(float(number))
    except OverflowError:
        return False


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _position(value: Any, where: str) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) not in (2, 3):
        raise InvalidGeometry(f"{where}: a position must be [lng, lat] (optionally with altitude), got {_short(value)}")
    for axis, number in zip(("longitude", "latitude"), value[:2], strict=True):
        if not _is_finite_number(number):
            raise InvalidGeometry(f"{where}: {axis} must be a finite number, got {_short(number)}")
    if len(value) == 3 and not _is_finite_number(value[2]):
        raise InvalidGeometry(f"{where}: altitude must be a number (and finite), got {_short(value[2])}")
    lng, lat = float(value[0]), float(value[1])
    if not -180.0 <= lng <= 180.0:
        raise InvalidGeometry(f"{where}: longitude {lng} is out of range [-180, 180] (GeoJSON is [lng, lat])")
    if not -90.0 <= lat <= 90.0:
        raise InvalidGeometry(f"{where}: latitude {lat} is out of range [-90, 90] (GeoJSON is [lng, lat])")
    return lng, lat


def _ring(value: Any, where: str) -> list[tuple[float, float]]:
    if not isinstance(value, list | tuple):
        raise InvalidGeometry(f"{where}: a linear ring must be an array of positions")
    points = [_position(p, f"{where}[{i}]") for i, p in enumerate(value)]
    if len(points) < 4:
        raise InvalidGeometry(f"{where}: a linear ring needs at least 4 positions, got {len(points)}")
    if points[0] != points[-1]:
        raise InvalidGeometry(
            f"{where}: ring is not closed: first position {list(points[0])} differs from last {list(points[-1])}"
        )
    return points


def _polygon(value: Any, where: str) -> Polygon:
    if not isinstance(value, list | tuple) or not value:
        raise InvalidGeometry(f"{where}: a polygon must be a non-empty array of linear rings")
    rings = [_ring(r, f"{where}[{i}]") for i, r in enumerate(value)]
    polygon = Polygon(rings[0], rings[1:])
    if not polygon.is_valid:
        raise InvalidGeometry(f"{where}: invalid polygon: {explain_validity(polygon)}")
    if polygon.area == 0.0:
        raise InvalidGeometry(f"{where}: polygon has zero area")
    return polygon


def parse_polygonal(
    data: Any, *, field: str = "geometry", allowed: Collection[str] = POLYGONAL_TYPES
) -> Polygon | MultiPolygon:
    """Parse a GeoJSON Polygon/MultiPolygon (lng-lat) into a valid shapely geometry.

    Raises InvalidGeometry naming the field, the offending coordinate path and the problem: wrong type,
    out-of-range coordinates, fewer than 4 positions, unclosed ring, self-intersection.
    """
    if not isinstance(data, dict):
        raise InvalidGeometry(f"{field}: must be a GeoJSON object with 'type' and 'coordinates'")
    kind = data.get("type")
    if kind not in allowed:
        raise InvalidGeometry(f"{field}: type must be one of {', '.join(allowed)}, got {kind!r}")
    coordinates = data.get("coordinates")
    if coordinates is None:
        raise InvalidGeometry(f"{field}: 'coordinates' is missing")
    where = f"{field}.coordinates"
    if kind == "Polygon":
        return _polygon(coordinates, where)
    if not isinstance(coordinates, list | tuple) or not coordinates:
        raise InvalidGeometry(f"{where}: a MultiPolygon must be a non-empty array of polygons")
    polygons = [_polygon(p, f"{where}[{i}]") for i, p in enumerate(coordinates)]
    multi = MultiPolygon(polygons)
    if not multi.is_valid:
        raise InvalidGeometry(f"{where}: invalid multipolygon: {explain_validity(multi)}")
    return multi


def to_geojson(geometry: BaseGeometry | None) -> dict[str, Any] | None:
    """A shapely geometry as a GeoJSON dict with plain lists (JSON-ready)."""
    if geometry is None:
        return None
    data: dict[str, Any] = dict(mapping(geometry))

    def listify(value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [listify(v) for v in value]
        return value

    data["coordinates"] = listify(data["coordinates"])
    return data
