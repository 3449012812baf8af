"""Great-circle distances on the spherical Earth of the contract (R = 6,371,008.8 m, the IUGG mean radius).

Every eligibility decision in the service uses :func:`haversine_m` / :func:`haversine_many_m`, so the
matcher, the brute-force oracle in the tests and the benchmark agree: the vectorised forms share one
implementation (:func:`haversine_rad_m`) and so agree to the last bit; the scalar form evaluates the same
formula with ``math`` (it may differ from NumPy's by an ulp, far below a millimetre).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

EARTH_RADIUS_M = 6_371_008.8

FloatArray = npt.NDArray[np.float64]


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in metres between two WGS-84 points (degrees), haversine formula."""
    phi1 = math.radians(lat1)
    phi2 = math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lng2) - math.radians(lng1)
    a = math.sin(dphi * 0.5) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb * 0.5) ** 2
    return 2.0 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, a)))


def haversine_many_m(lat: float, lng: float, lats: npt.ArrayLike, lngs: npt.ArrayLike) -> FloatArray:
    """Distances in metres from one point to many (vectorised), the same formula as :func:`haversine_m`."""
    lats_rad = np.radians(np.asarray(lats, dtype=np.float64))
    lngs_rad = np.radians(np.asarray(lngs, dtype=np.float64))
    phi1 = math.radians(lat)
    return haversine_rad_m(phi1, math.radians(lng), math.cos(phi1), lats_rad, lngs_rad, np.cos(lats_rad))


def haversine_rad_m(
    phi1: float | FloatArray,
    lmb1: float | FloatArray,
    cos_phi1: float | FloatArray,
    phis: FloatArray,
    lmbs: FloatArray,
    cos_phis: FloatArray,
) -> FloatArray:
    """Haversine with the radians and cosines precomputed (the matcher's hot path stores them per carrier).

    ``cos_phis`` must equal ``np.cos(phis)``; the result is identical to :func:`haversine_many_m`. With
    arrays for the first point too it is element-wise (pairs), in the same order of operations.
    """
    sdphi = np.sin((phis - phi1) * 0.5)
    sdlmb = np.sin((lmbs - lmb1) * 0.5)
    a = sdphi * sdphi + cos_phi1 * cos_phis * (sdlmb * sdlmb)
    np.minimum(a, 1.0, out=a)
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))


def haversine_pairs_m(
    lats1: npt.ArrayLike, lngs1: npt.ArrayLike, lats2: npt.ArrayLike, lngs2: npt.ArrayLike
) -> FloatArray:
    """Element-wise distances in metres between two arrays of points (e.g. pickups and dropoffs)."""
    phi1 = np.radians(np.asarray(lats1, dtype=np.float64))
    phi2 = np.radians(np.asarray(lats2, dtype=np.float64))
    lmb1 = np.radians(np.asarray(lngs1, dtype=np.float64))
    lmb2 = np.radians(np.asarray(lngs2, dtype=np.float64))
    return np.asarray(haversine_rad_m(phi1, lmb1, np.cos(phi1), phi2, lmb2, np.cos(phi2)), dtype=np.float64)


def initial_bearing_deg(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Initial great-circle bearing from point 1 to point 2, degrees clockwise from north in [0, 360)."""
    phi1 = math.radians(lat1)
    phi2 = math.radians(lat2)
    dlmb = math.radians(lng2 - lng1)
    y = math.sin(dlmb) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlmb)
    return (math.degrees(math.atan2(y, x)) + 360.0) % 360.0


def destination_point(lat: float, lng: float, bearing_deg: float, distance_m: float) -> tuple[float, float]:
    """The point reached from (lat, lng) after ``distance_m`` along the great circle at ``bearing_deg``.

    Longitude is normalised to [-180, 180); used to place test carriers exactly around a radius.
    """
    delta = distance_m / EARTH_RADIUS_M
    theta = math.radians(bearing_deg)
    phi1 = math.radians(lat)
    lmb1 = math.radians(lng)
    sin_phi2 = math.sin(phi1) * math.cos(delta) + math.cos(phi1) * math.sin(delta) * math.cos(theta)
    sin_phi2 = max(-1.0, min(1.0, sin_phi2))
    phi2 = math.asin(sin_phi2)
    y = math.sin(theta) * math.sin(delta) * math.cos(phi1)
    x = math.cos(delta) - math.sin(phi1) * sin_phi2
    lmb2 = lmb1 + math.atan2(y, x)
    lng2 = (math.degrees(lmb2) + 540.0) % 360.0 - 180.0
    return math.degrees(phi2), lng2
