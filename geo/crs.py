"""Coordinate reference conversions: GCJ-02 ("Mars coordinates", used by maps in mainland China) <-> WGS-84.

GCJ-02 adds a deterministic, non-linear offset of a few hundred metres to WGS-84 inside China and
none outside. The forward transform is the published one; the inverse has no closed form and is
solved by fixed-point iteration until the round trip is within ~1e-9 degrees (well under 0.5 m).
"""

from __future__ import annotations

import math

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_INVERSE_TOLERANCE_DEG = 1e-9
_INVERSE_MAX_ITERATIONS = 30


def outside_china(lat: float, lng: float) -> bool:
    """The rough bounding box outside which GCJ-02 applies no shift (the standard convention)."""
    return not (73.66 < lng < 135.05 and 3.86 < lat < 53.55)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lng(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _offset(lat: float, lng: float) -> tuple[float, float]:
    """GCJ-02 minus WGS-84 at a WGS-84 point, in degrees (lat, lng)."""
    dlat = _transform_lat(lng - 105.0, lat - 35.0)
    dlng = _transform_lng(lng - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlng = (dlng * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return dlat, dlng


def wgs84_to_gcj02(lat: float, lng: float) -> tuple[float, float]:
    """WGS-84 -> GCJ-02 (lat, lng); identity outside China."""
    if outside_china(lat, lng):
        return lat, lng
    dlat, dlng = _offset(lat, lng)
    return lat + dlat, lng + dlng


def gcj02_to_wgs84(lat: float, lng: float) -> tuple[float, float]:
    """GCJ-02 -> WGS-84 (lat, lng) by iterating the forward transform; identity outside China.

    Each step moves the estimate by the residual of its forward image; the offset field is smooth
    and small, so this converges to ~1e-9 degrees in a handful of steps.
    """
    if outside_china(lat, lng):
        return lat, lng
    wgs_lat, wgs_lng = lat, lng
    for _ in range(_INVERSE_MAX_ITERATIONS):
        gcj_lat, gcj_lng = wgs84_to_gcj02(wgs_lat, wgs_lng)
        err_lat, err_lng = gcj_lat - lat, gcj_lng - lng
        if abs(err_lat) < _INVERSE_TOLERANCE_DEG and abs(err_lng) < _INVERSE_TOLERANCE_DEG:
            break
        wgs_lat -= err_lat
        wgs_lng -= err_lng
    return wgs_lat, wgs_lng


def to_wgs84(lat: float, lng: float, crs: str | None) -> tuple[float, float]:
    """Normalise a client coordinate in ``crs`` ("wgs84" default, or "gcj02") to WGS-84."""
    name = (crs or "wgs84").lower().replace("-", "").replace("_", "")
    if name in ("wgs84", "epsg4326"):
        return lat, lng
    if name == "gcj02":
        return gcj02_to_wgs84(lat, lng)
    raise ValueError(f"unknown crs {crs!r}: use 'wgs84' or 'gcj02'")
