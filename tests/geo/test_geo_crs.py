"""GCJ-02 <-> WGS-84: round trips under 0.5 m in China, identity outside."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from geo.crs import gcj02_to_wgs84, gcj02_to_wgs84_many, to_wgs84, wgs84_to_gcj02
from geo.distance import haversine_m


@settings(max_examples=300, deadline=None)
@given(lat=st.floats(18.0, 53.0), lng=st.floats(74.0, 134.0))
def test_roundtrip_inside_china_is_under_half_a_metre(lat: float, lng: float) -> None:
    gcj = wgs84_to_gcj02(lat, lng)
    back = gcj02_to_wgs84(*gcj)
    assert haversine_m(lat, lng, *back) < 0.5
    gcj_lat, gcj_lng = 30.0 + (lat - 18.0) / 10, 110.0 + (lng - 74.0) / 10
    assert haversine_m(*wgs84_to_gcj02(*gcj02_to_wgs84(gcj_lat, gcj_lng)), gcj_lat, gcj_lng) < 0.5


def test_shift_in_china_is_hundreds_of_metres_and_none_outside() -> None:
    beijing = (39.9087, 116.3975)
    assert 100 < haversine_m(*beijing, *wgs84_to_gcj02(*beijing)) < 1000
    london = (51.5074, -0.1278)
    assert wgs84_to_gcj02(*london) == london
    assert gcj02_to_wgs84(*london) == london


def test_known_reference_point() -> None:
    # Tiananmen (WGS-84) shifts north-east by roughly 0.0014 deg lat and 0.0062 deg lng in GCJ-02.
    lat, lng = wgs84_to_gcj02(39.9087, 116.3975)
    assert abs(lat - 39.9087 - 0.0014) < 0.0003
    assert abs(lng - 116.3975 - 0.0062) < 0.0003


def test_to_wgs84_names_the_crs() -> None:
    assert to_wgs84(1.0, 2.0, None) == (1.0, 2.0)
    assert to_wgs84(1.0, 2.0, "WGS-84") == (1.0, 2.0)
    assert to_wgs84(*wgs84_to_gcj02(30.0, 120.0), "gcj02") == gcj02_to_wgs84(*wgs84_to_gcj02(30.0, 120.0))


def test_the_vectorised_inverse_matches_the_scalar_one_within_1e7_degrees() -> None:
    rng = random.Random(7)
    points = [(rng.uniform(18.0, 53.0), rng.uniform(74.0, 134.0)) for _ in range(2000)]
    points += [(31.2304, 121.4737), (51.5, -0.12), (-33.9, 151.2), (53.56, 120.0), (3.87, 73.67)]
    lats, lngs = gcj02_to_wgs84_many([p[0] for p in points], [p[1] for p in points])
    for (lat, lng), got_lat, got_lng in zip(points, lats.tolist(), lngs.tolist(), strict=True):
        want_lat, want_lng = gcj02_to_wgs84(lat, lng)
        assert abs(got_lat - want_lat) < 1e-7 and abs(got_lng - want_lng) < 1e-7, (lat, lng)
    assert (lats[-4], lngs[-4]) == (51.5, -0.12)  # outside China: unchanged
    assert abs(lats[-5] - 31.2304) > 1e-4  # inside: shifted by the offset
    empty = gcj02_to_wgs84_many([], [])
    assert empty[0].size == 0 and empty[1].size == 0
