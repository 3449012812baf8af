"""H3 covers answer point-in-polygon exactly like shapely's ``covers`` (boundary counts as inside)."""

from __future__ import annotations

import itertools

import h3
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Point, Polygon

from geofences.cover import Cover, build_cover, cover_resolution

CONCAVE = Polygon([(120.0, 30.0), (120.2, 30.0), (120.2, 30.2), (120.1, 30.05), (120.0, 30.2)])
WITH_HOLE = Polygon(
    [(120.3, 30.0), (120.5, 30.0), (120.5, 30.2), (120.3, 30.2)],
    [[(120.35, 30.05), (120.45, 30.05), (120.45, 30.15), (120.35, 30.15)]],
)
MULTI = MultiPolygon([CONCAVE, WITH_HOLE])
THIN = Polygon([(120.0, 30.0), (120.3, 30.0), (120.3, 30.0003), (120.0, 30.0003)])
TINY = Polygon([(120.1, 30.1), (120.10002, 30.1), (120.10002, 30.10002), (120.1, 30.10002)])


_COVERS: dict[tuple[int, int | None], Cover] = {}


def _cover(poly: Polygon | MultiPolygon, res: int | None) -> Cover:
    key = (id(poly), res)
    if key not in _COVERS:
        _COVERS[key] = build_cover(poly, res)
    return _COVERS[key]


def _agree(poly: Polygon | MultiPolygon, lat: float, lng: float, res: int | None = None) -> None:
    cover = _cover(poly, res)
    assert cover.contains(lat, lng) == poly.covers(Point(lng, lat)), (lat, lng)


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=29.95, max_value=30.25), st.floats(min_value=119.95, max_value=120.55))
def test_multipolygon_with_hole_agrees_with_shapely(lat: float, lng: float) -> None:
    _agree(MULTI, lat, lng, 8)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=29.999, max_value=30.0013), st.floats(min_value=119.99, max_value=120.31))
def test_thin_polygon_is_not_lost(lat: float, lng: float) -> None:
    _agree(THIN, lat, lng, 7)


def test_points_on_the_boundary_and_vertices_count_as_inside() -> None:
    for poly in (CONCAVE, WITH_HOLE, THIN, TINY):
        for ring in [poly.exterior, *poly.interiors]:
            for lng, lat in ring.coords:
                assert _cover(poly, 8).contains(lat, lng)
        # Midpoints of edges.
        coords = list(poly.exterior.coords)
        for (x1, y1), (x2, y2) in itertools.pairwise(coords):
            mid_lng, mid_lat = (x1 + x2) / 2, (y1 + y2) / 2
            assert _cover(poly, 8).contains(mid_lat, mid_lng) == poly.covers(Point(mid_lng, mid_lat))


def test_tiny_polygon_inside_one_cell_is_found() -> None:
    cover = build_cover(TINY, 7)
    assert cover.contains(30.10001, 120.10001)
    assert not cover.contains(30.1001, 120.1001)


def test_large_interior_is_answered_without_geometry() -> None:
    cover = build_cover(WITH_HOLE, 8)
    assert len(cover.interior) > len(cover.boundary)
    inside_cell = h3.str_to_int(h3.latlng_to_cell(30.02, 120.32, 8))
    assert inside_cell in cover.interior
    hole_cell = h3.str_to_int(h3.latlng_to_cell(30.1, 120.4, 8))
    assert hole_cell not in cover.interior
    assert hole_cell not in cover.boundary


def test_resolution_adapts_to_size() -> None:
    assert cover_resolution(TINY) > cover_resolution(MULTI)
