"""The covering disk holds every point within the radius: random points, pentagons, poles, antimeridian."""

from __future__ import annotations

import h3
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from geo.distance import destination_point
from geo.h3_radius import (
    cells_near_point,
    covering_cells,
    covering_cells_for_point,
    disk_k_for_radius,
    edge_lower_bound_m,
)

BEARINGS = [i * 7.5 for i in range(48)]


def _assert_ring_covered(lat: float, lng: float, radius_m: float, res: int) -> None:
    cells = set(covering_cells_for_point(lat, lng, radius_m, res))
    near = set(cells_near_point(lat, lng, radius_m, res))
    assert near <= cells
    for fraction in (1.0, 0.999, 0.75, 0.5, 0.25, 0.01):
        for bearing in BEARINGS:
            qlat, qlng = destination_point(lat, lng, bearing, radius_m * fraction)
            cell = h3.str_to_int(h3.latlng_to_cell(qlat, qlng, res))
            assert cell in near, (lat, lng, radius_m, res, bearing, fraction)


@st.composite
def point_radius_res(
    draw: st.DrawFn, lat_range: tuple[float, float] = (-85.0, 85.0)
) -> tuple[float, float, float, int]:
    res = draw(st.integers(min_value=4, max_value=10))
    rings = draw(st.floats(min_value=0.0, max_value=8.0))
    lat = draw(st.floats(min_value=lat_range[0], max_value=lat_range[1]))
    lng = draw(st.floats(min_value=-180.0, max_value=180.0))
    return lat, lng, rings * edge_lower_bound_m(res), res


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(point_radius_res())
@example((85.0, 179.999, 3000.0, 8))
@example((-85.0, -179.999, 3000.0, 8))
@example((0.0, 180.0, 5000.0, 7))
def test_every_point_within_the_radius_is_in_the_covering_cells(case: tuple[float, float, float, int]) -> None:
    lat, lng, radius_m, res = case
    _assert_ring_covered(lat, lng, radius_m, res)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(min_value=5, max_value=9),
    st.integers(min_value=0, max_value=11),
    st.floats(min_value=0.0, max_value=6.0),
    st.floats(min_value=0.0, max_value=3.0),
    st.floats(min_value=0.0, max_value=360.0),
)
def test_pentagon_neighbourhoods_are_covered(
    res: int, which: int, rings: float, offset_rings: float, bearing: float
) -> None:
    pentagon = sorted(h3.get_pentagons(res))[which]
    plat, plng = h3.cell_to_latlng(pentagon)
    edge = edge_lower_bound_m(res)
    lat, lng = destination_point(plat, plng, bearing, offset_rings * edge)
    _assert_ring_covered(lat, lng, rings * edge, res)


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=-180.0, max_value=180.0), st.floats(min_value=0.0, max_value=20_000.0))
def test_high_latitude_and_antimeridian_points_are_covered(lng: float, radius_m: float) -> None:
    for lat in (84.9, -84.9, 60.0):
        _assert_ring_covered(lat, lng, radius_m, 7)
    _assert_ring_covered(12.0, 179.9999, radius_m, 8)


def test_zero_radius_covers_the_own_cell() -> None:
    cell = h3.str_to_int(h3.latlng_to_cell(30.0, 120.0, 8))
    assert cell in covering_cells(cell, 0.0)
    assert disk_k_for_radius(8, 0.0) == 1


def test_pruning_keeps_the_disk_small() -> None:
    cell = h3.str_to_int(h3.latlng_to_cell(30.27, 120.15, 8))
    k = disk_k_for_radius(8, 3000.0)
    assert len(covering_cells(cell, 3000.0)) < len(h3.grid_disk(h3.int_to_str(cell), k))
