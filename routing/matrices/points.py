"""Coordinates of a plan's locations as NumPy columns, checked once for every provider."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from routing.matrices.errors import InvalidLocation
from routing.model import FloatMatrix, Point


def coordinates(points: Sequence[Point]) -> tuple[FloatMatrix, FloatMatrix]:
    """(lat, lng) arrays in degrees; raises :class:`InvalidLocation` for the first impossible point."""
    for index, point in enumerate(points):
        if not (math.isfinite(point.lat) and math.isfinite(point.lng)):
            raise InvalidLocation(index, f"coordinates must be finite numbers, got ({point.lat}, {point.lng})")
        if not -90.0 <= point.lat <= 90.0:
            raise InvalidLocation(index, f"latitude must be within [-90, 90], got {point.lat}")
        if not -180.0 <= point.lng <= 180.0:
            raise InvalidLocation(index, f"longitude must be within [-180, 180], got {point.lng}")
    lat = np.fromiter((p.lat for p in points), dtype=np.float64, count=len(points))
    lng = np.fromiter((p.lng for p in points), dtype=np.float64, count=len(points))
    return lat, lng
