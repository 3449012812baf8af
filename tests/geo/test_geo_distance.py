"""Great-circle distance, bearing and destination point on the contract's sphere."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.distance import (
    EARTH_RADIUS_M,
    destination_point,
    haversine_m,
    haversine_many_m,
    haversine_pairs_m,
    initial_bearing_deg,
)

lats = st.floats(min_value=-89.0, max_value=89.0)
lngs = st.floats(min_value=-180.0, max_value=180.0)


def test_one_degree_along_the_equator_is_r_times_pi_over_180() -> None:
    assert math.isclose(haversine_m(0.0, 0.0, 0.0, 1.0), EARTH_RADIUS_M * math.pi / 180.0, rel_tol=1e-12)


def test_antipodes_are_half_the_circumference_apart() -> None:
    assert math.isclose(haversine_m(0.0, 0.0, 0.0, 180.0), EARTH_RADIUS_M * math.pi, rel_tol=1e-12)


def test_distance_across_the_antimeridian_is_short() -> None:
    assert haversine_m(10.0, 179.9995, 10.0, -179.9995) < 120.0


@given(lats, lngs, lats, lngs)
def test_vectorised_distance_matches_scalar(lat1: float, lng1: float, lat2: float, lng2: float) -> None:
    many = haversine_many_m(lat1, lng1, np.array([lat2]), np.array([lng2]))[0]
    assert math.isclose(many, haversine_m(lat1, lng1, lat2, lng2), rel_tol=1e-9, abs_tol=1e-6)
    pairs = haversine_pairs_m([lat1], [lng1], [lat2], [lng2])[0]
    assert math.isclose(pairs, many, rel_tol=1e-9, abs_tol=1e-6)


@settings(max_examples=300)
@given(
    st.floats(min_value=-85.0, max_value=85.0),
    lngs,
    st.floats(min_value=0.0, max_value=360.0, exclude_max=True),
    st.floats(min_value=0.0, max_value=50_000.0),
)
def test_destination_point_lies_at_the_requested_distance(lat: float, lng: float, bearing: float, dist: float) -> None:
    lat2, lng2 = destination_point(lat, lng, bearing, dist)
    assert -180.0 <= lng2 < 180.0
    assert abs(haversine_m(lat, lng, lat2, lng2) - dist) < 1e-6
    if dist > 10.0:
        back = initial_bearing_deg(lat, lng, lat2, lng2)
        assert min(abs(back - bearing), 360.0 - abs(back - bearing)) < 1e-5


def test_bearing_due_east_on_the_equator_is_90_degrees() -> None:
    assert math.isclose(initial_bearing_deg(0.0, 0.0, 0.0, 1.0), 90.0, abs_tol=1e-9)
