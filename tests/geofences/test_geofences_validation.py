"""GeoJSON polygon validation: valid shapes parse, each kind of mistake is named precisely."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geofences.validation import InvalidGeometry, parse_polygonal, to_geojson

SQUARE = [[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]]


def test_polygon_with_hole_and_multipolygon_roundtrip() -> None:
    hole = [[0.2, 0.2], [0.2, 0.4], [0.4, 0.4], [0.4, 0.2], [0.2, 0.2]]
    polygon = {"type": "Polygon", "coordinates": [SQUARE[0], hole]}
    assert to_geojson(parse_polygonal(polygon)) == polygon
    multi = {"type": "MultiPolygon", "coordinates": [SQUARE, [[[2.0, 2.0], [3.0, 2.0], [3.0, 3.0], [2.0, 2.0]]]]}
    assert to_geojson(parse_polygonal(multi)) == multi


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ("not an object", "GeoJSON object"),
        ({"type": "Polygon"}, "'coordinates' is missing"),
        ({"type": "Polygon", "coordinates": []}, "non-empty array"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, "x"], [0, 0]]]}, "latitude must be a finite number"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1], [0, 0]]]}, "a position must be [lng, lat]"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0.5]]]}, "not closed"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]}, "Self-intersection"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [2, 0], [0, 0]]]}, "invalid polygon"),
        ({"type": "MultiPolygon", "coordinates": [SQUARE, SQUARE]}, "invalid multipolygon"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1, True], [0, 0]]]}, "altitude must be a number"),
        ({"type": "GeometryCollection", "coordinates": []}, "type must be one of"),
    ],
)
def test_mistakes_are_named(data: object, fragment: str) -> None:
    with pytest.raises(InvalidGeometry) as error:
        parse_polygonal(data, field="coverage")
    assert fragment in error.value.message
    assert error.value.message.startswith("coverage")
    assert error.value.http_status == 422


@settings(max_examples=100, deadline=None)
@given(
    lng=st.floats(-179.0, 178.0),
    lat=st.floats(-89.0, 88.0),
    size=st.floats(0.001, 1.0),
)
def test_any_axis_aligned_box_in_range_is_valid(lng: float, lat: float, size: float) -> None:
    ring = [[lng, lat], [lng + size, lat], [lng + size, lat + size], [lng, lat + size], [lng, lat]]
    geometry = parse_polygonal({"type": "Polygon", "coordinates": [ring]})
    assert geometry.is_valid and geometry.area > 0
