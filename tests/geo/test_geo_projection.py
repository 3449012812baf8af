"""Local metric projection keeps distances from its origin."""

from __future__ import annotations

import math

import numpy as np

from geo.distance import destination_point
from geo.projection import LocalProjection


def test_distance_from_origin_is_preserved_within_a_city() -> None:
    proj = LocalProjection.around(30.27, 120.15)
    for bearing in range(0, 360, 30):
        lat, lng = destination_point(30.27, 120.15, float(bearing), 20_000.0)
        x, y = proj.to_xy(np.array([lat]), np.array([lng]))
        assert math.isclose(math.hypot(float(x[0]), float(y[0])), 20_000.0, rel_tol=1e-6)


def test_round_trip_returns_the_point() -> None:
    proj = LocalProjection.around(-33.9, 151.2)
    x, y = proj.to_xy(np.array([-33.95, -33.8]), np.array([151.1, 151.3]))
    lat, lng = proj.to_latlng(x, y)
    assert np.allclose(lat, [-33.95, -33.8], atol=1e-9)
    assert np.allclose(lng, [151.1, 151.3], atol=1e-9)
