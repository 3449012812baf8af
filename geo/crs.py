"""Coordinate reference conversions: GCJ-02 ("Mars coordinates", used by maps in mainland China) <-> WGS-84.

GCJ-02 adds a deterministic, non-linear offset of a few hundred metres to WGS-84 inside China and
none outside. The forward transform is the published one; the inverse has no closed form and is
solved by fixed-point iteration until the round trip is within ~1e-9 degrees (well under 0.5 m).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

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


def _offset_many(lat: NDArray[np.float64], lng: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``_offset`` over arrays (the same formulas, term by term)."""
    x, y = lng - 105.0, lat - 35.0
    pi = math.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat = dlat + common
    dlat = dlat + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat = dlat + (160.0 * np.sin(y / 12.0 * pi) + 320 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlng = dlng + common
    dlng = dlng + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlng = dlng + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * pi)
    dlng = (dlng * 180.0) / (_A / sqrtmagic * np.cos(radlat) * pi)
    return dlat, dlng


def gcj02_to_wgs84_many(
    lats: Sequence[float], lngs: Sequence[float]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``gcj02_to_wgs84`` over many points at once (numpy): the same iteration, each point stopping
    when its own round trip is within the tolerance; points outside China are returned as given."""
    lat = np.asarray(lats, dtype=np.float64)
    lng = np.asarray(lngs, dtype=np.float64)
    wgs_lat, wgs_lng = lat.copy(), lng.copy()
    active = np.flatnonzero((lng > 73.66) & (lng < 135.05) & (lat > 3.86) & (lat < 53.55))
    for _ in range(_INVERSE_MAX_ITERATIONS):
        if active.size == 0:
            break
        now_lat, now_lng = wgs_lat[active], wgs_lng[active]
        inside = (now_lng > 73.66) & (now_lng < 135.05) & (now_lat > 3.86) & (now_lat < 53.55)
        dlat, dlng = _offset_many(now_lat, now_lng)
        err_lat = np.where(inside, now_lat + dlat, now_lat) - lat[active]
        err_lng = np.where(inside, now_lng + dlng, now_lng) - lng[active]
        moving = (np.abs(err_lat) >= _INVERSE_TOLERANCE_DEG) | (np.abs(err_lng) >= _INVERSE_TOLERANCE_DEG)
        active = active[moving]
        wgs_lat[active] -= err_lat[moving]
        wgs_lng[active] -= err_lng[moving]
    return wgs_lat, wgs_lng


def to_wgs84(lat: float, lng: float, crs: str | None) -> tuple[float, float]:
    """Normalise a client coordinate in ``crs`` ("wgs84" default, or "gcj02") to WGS-84."""
    name = (crs or "wgs84").lower().replace("-", "").replace("_", "")
    if name in ("wgs84", "epsg4326"):
        return lat, lng
    if name == "gcj02":
        return gcj02_to_wgs84(lat, lng)
    raise ValueError(f"unknown crs {crs!r}: use 'wgs84' or 'gcj02'")
