"""The default travel model: great-circle distance times a detour factor, at one average speed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from geo.distance import haversine_rad_m
from routing.matrices.points import coordinates
from routing.model import Point, TravelMatrix


class StraightLineProvider:
    """Travel from coordinates alone: ``distance = haversine x detour_factor``, ``duration = distance / speed``.

    No map needed; good enough to plan in a town when no road network is configured. Vectorised: one
    NumPy pass over the n x n pairs.
    """

    def __init__(self, detour_factor: float = 1.3, speed_kmh: float = 30.0) -> None:
        if not detour_factor >= 1.0:
            raise ValueError(f"detour_factor must be at least 1, got {detour_factor}")
        if not speed_kmh > 0.0:
            raise ValueError(f"speed_kmh must be positive, got {speed_kmh}")
        self.detour_factor = float(detour_factor)
        self.speed_mps = float(speed_kmh) / 3.6

    def matrix(self, points: Sequence[Point]) -> TravelMatrix:
        """Distances (m) and durations (s) between every ordered pair of ``points`` (depot first)."""
        lat, lng = coordinates(points)
        phi = np.radians(lat)
        lmb = np.radians(lng)
        cos_phi = np.cos(phi)
        great_circle = haversine_rad_m(
            phi[:, None], lmb[:, None], cos_phi[:, None], phi[None, :], lmb[None, :], cos_phi[None, :]
        )
        distances = np.asarray(great_circle, dtype=np.float64) * self.detour_factor
        np.fill_diagonal(distances, 0.0)
        return TravelMatrix(durations_s=distances / self.speed_mps, distances_m=distances)
