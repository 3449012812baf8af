"""Local metric projections: metres east/north around an origin, for planar work on city-sized areas.

An azimuthal equidistant projection centred on the origin keeps distances from the origin exact and
distorts little within tens of kilometres. We use pyproj (PROJ) when it is installed and fall back to
a local tangent plane (equirectangular around the origin) otherwise; both are plain functions of data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from geo.distance import EARTH_RADIUS_M

try:  # pragma: no cover - exercised when pyproj is present, which it is in the project venv
    from pyproj import Transformer

    HAVE_PYPROJ = True
except ImportError:  # pragma: no cover
    HAVE_PYPROJ = False

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class LocalProjection:
    """Projects WGS-84 (lat, lng) to (x_m east, y_m north) around ``origin_lat``/``origin_lng`` and back."""

    origin_lat: float
    origin_lng: float
    _forward: Any = field(default=None, repr=False, compare=False)
    _inverse: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def around(cls, origin_lat: float, origin_lng: float) -> LocalProjection:
        """A projection centred on the origin (azimuthal equidistant if pyproj is available)."""
        if HAVE_PYPROJ:
            crs = (
                f"+proj=aeqd +lat_0={origin_lat} +lon_0={origin_lng} +x_0=0 +y_0=0 "
                f"+R={EARTH_RADIUS_M} +units=m +no_defs"
            )
            forward = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
            inverse = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
            return cls(origin_lat, origin_lng, forward, inverse)
        return cls(origin_lat, origin_lng)

    def to_xy(self, lat: npt.ArrayLike, lng: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Metres east and north of the origin."""
        lat_a = np.asarray(lat, dtype=np.float64)
        lng_a = np.asarray(lng, dtype=np.float64)
        if self._forward is not None:
            x, y = self._forward.transform(lng_a, lat_a)
            return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        k = math.radians(1.0) * EARTH_RADIUS_M
        dlng = (lng_a - self.origin_lng + 540.0) % 360.0 - 180.0
        return dlng * k * math.cos(math.radians(self.origin_lat)), (lat_a - self.origin_lat) * k

    def to_latlng(self, x_m: npt.ArrayLike, y_m: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Inverse of :meth:`to_xy`: (lat, lng) in degrees."""
        x = np.asarray(x_m, dtype=np.float64)
        y = np.asarray(y_m, dtype=np.float64)
        if self._inverse is not None:
            lng, lat = self._inverse.transform(x, y)
            return np.asarray(lat, dtype=np.float64), np.asarray(lng, dtype=np.float64)
        k = math.radians(1.0) * EARTH_RADIUS_M
        lat = self.origin_lat + y / k
        lng = self.origin_lng + x / (k * math.cos(math.radians(self.origin_lat)))
        return lat, (lng + 540.0) % 360.0 - 180.0
