"""Layout parsing: both kinds build the walking graph the contract describes, and bad input is a precise 422."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from warehouse_picking.layouts import InvalidLayout, UnknownSlots, parse_layout

RECT: dict[str, Any] = {
    "kind": "rectangular",
    "aisles": 10,
    "aisle_spacing_m": 3.0,
    "aisle_length_m": 30.0,
    "blocks": 2,
    "slots_per_side": 20,
    "depot_x_m": 4.5,
}

GRAPH: dict[str, Any] = {
    "kind": "graph",
    "nodes": [{"id": "a", "x": 0, "y": 0}, {"id": "b", "x": 0, "y": 10}, {"id": "c", "x": 5, "y": 10}],
    "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c", "length_m": 6.0}],
    "slots": [{"id": "S1", "edge": ["b", "a"], "offset_m": 2.5}, {"id": "S2", "node": "c"}],
    "depot": "a",
}


def test_rectangular_distances_follow_aisles_and_cross_aisles() -> None:
    layout = parse_layout(RECT)
    slots = ["A01-L-001", "A01-R-020", "A03-L-012", "A10-L-010"]
    matrix = layout.distance_matrix([layout.depot, *layout.locate_all(slots)])
    # depot at x=4.5: to aisle 1 is 4.5 along the front, then up the aisle to y=0.75
    assert matrix[0, 1] == pytest.approx(4.5 + 0.75)
    assert matrix[0, 2] == pytest.approx(4.5 + 29.25)
    assert matrix[0, 3] == pytest.approx(1.5 + 17.25)
    # same aisle, different blocks: straight along the aisle
    assert matrix[1, 2] == pytest.approx(28.5)
    # A03 at y=17.25 (block 2) to A10 at y=14.25 (block 1 ends at 15): via the middle cross aisle
    assert matrix[3, 4] == pytest.approx(2.25 + 21.0 + 0.75)
    assert np.allclose(matrix, matrix.T)


def test_both_sides_of_a_position_are_the_same_point() -> None:
    layout = parse_layout(RECT)
    left, right = layout.locate_all(["A04-L-007", "A04-R-007"])
    assert (left.x, left.y) == (right.x, right.y)
    assert layout.distance_matrix([left, right])[0, 1] == 0.0


def test_graph_layout_uses_given_lengths_and_offsets_from_the_named_end() -> None:
    layout = parse_layout(GRAPH)
    s1, s2 = layout.locate_all(["S1", "S2"])
    assert (s1.x, s1.y) == pytest.approx((0.0, 7.5))
    matrix = layout.distance_matrix([layout.depot, s1, s2])
    assert matrix[0, 1] == pytest.approx(7.5)
    assert matrix[0, 2] == pytest.approx(16.0)
    assert matrix[1, 2] == pytest.approx(8.5)


def test_distance_matrix_is_cached_per_layout_json() -> None:
    first = parse_layout({**RECT, "aisles": 7})
    again = parse_layout({**RECT, "aisles": 7})
    assert first.key == again.key
    assert first.node_distances() is again.node_distances()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"kind": "hexagonal"}, "layout.kind"),
        ({"aisles": 0}, "layout.aisles must be between 1 and 99"),
        ({"aisles": 2.5}, "layout.aisles must be an integer"),
        ({"aisle_spacing_m": -1}, "layout.aisle_spacing_m must be > 0"),
        ({"aisle_length_m": "long"}, "layout.aisle_length_m must be a finite number"),
        ({"blocks": 0}, "layout.blocks"),
        ({"slots_per_side": 1000}, "layout.slots_per_side"),
        ({"depot_x_m": float("nan")}, "layout.depot_x_m"),
        ({"colour": "red"}, "unknown field(s): colour"),
    ],
)
def test_invalid_rectangular_layouts_name_the_field(change: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidLayout) as error:
        parse_layout({**RECT, **change})
    assert fragment in error.value.message
    assert error.value.http_status == 422


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"nodes": []}, "layout.nodes must be a non-empty list"),
        ({"nodes": [{"id": "a", "x": 0, "y": 0}, {"id": "a", "x": 1, "y": 1}]}, "is a duplicate"),
        ({"edges": [{"from": "a", "to": "zz"}]}, "unknown node 'zz'"),
        ({"edges": [{"from": "a", "to": "a"}]}, "to itself"),
        ({"depot": "nowhere"}, "layout.depot names unknown node"),
        ({"slots": [{"id": "S1", "edge": ["a", "c"], "offset_m": 1}]}, "no edge between"),
        ({"slots": [{"id": "S1", "edge": ["a", "b"], "offset_m": 11}]}, "exceeds the edge length"),
        ({"slots": [{"id": "S1", "node": "a", "edge": ["a", "b"]}]}, "exactly one of node or edge"),
        ({"edges": [{"from": "a", "to": "b"}]}, "not reachable from the depot"),
    ],
)
def test_invalid_graph_layouts_name_the_problem(change: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidLayout) as error:
        parse_layout({**GRAPH, **change})
    assert fragment in error.value.message


def test_unknown_slots_are_all_named() -> None:
    layout = parse_layout(RECT)
    with pytest.raises(UnknownSlots) as error:
        layout.locate_all(["A01-L-001", "A11-L-001", "A01-X-001", "A01-L-021", "A01-L-021"])
    assert error.value.slot_ids == ["A11-L-001", "A01-X-001", "A01-L-021"]
    assert error.value.code == "unknown_slot"
