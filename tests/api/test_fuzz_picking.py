"""Fuzz findings on warehouse layouts: lengths so large that walks overflow to inf/NaN used to be stored
and then made every pick route a 500. They are a 422 now (nothing stored), and layouts at the bound
still route to a finite distance with every method."""

from __future__ import annotations

import math
from typing import Any

import pytest
from fastapi.testclient import TestClient

from warehouse_picking.layouts import MAX_EXTENT_M
from warehouse_picking.routes import METHODS

from .factories import ADMIN

LAYOUT: dict[str, Any] = {
    "kind": "rectangular",
    "aisles": 4,
    "aisle_spacing_m": 3.0,
    "aisle_length_m": 30.0,
    "blocks": 1,
    "slots_per_side": 10,
    "depot_x_m": 0.0,
}
SLOTS = ["A01-L-001", "A04-R-010", "A02-L-005"]


@pytest.mark.parametrize(
    "change",
    [
        {"aisle_length_m": 1e308},
        {"aisle_spacing_m": 1e308},
        {"depot_x_m": 1e308},
        {"depot_x_m": -1e308},
        {"aisle_spacing_m": 1e200, "aisle_length_m": 1e200},
        {"aisle_length_m": MAX_EXTENT_M * 1.01},
        {"aisle_length_m": 10**400},
    ],
    ids=["length", "spacing", "depot", "neg-depot", "both", "just-beyond", "huge-int"],
)
def test_layout_lengths_that_overflow_walks_are_422_and_not_stored(client: TestClient, change: dict[str, Any]) -> None:
    body = {"name": "w", "location": {"lat": 1, "lng": 1}, "layout": {**LAYOUT, **change}}
    answer = client.put("/v1/warehouses/WX", json=body, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert "layout." in answer.json()["error"]["message"]
    assert client.get("/v1/warehouses/WX", headers=ADMIN).status_code == 404


def test_graph_layout_coordinates_are_bounded_too(client: TestClient) -> None:
    layout = {
        "kind": "graph",
        "nodes": [{"id": "d", "x": 0, "y": 0}, {"id": "a", "x": 1e308, "y": 0}],
        "edges": [{"from": "d", "to": "a"}],
        "depot": "d",
        "slots": [{"id": "S", "node": "a"}],
    }
    answer = client.put(
        "/v1/warehouses/WG", json={"name": "g", "location": {"lat": 1, "lng": 1}, "layout": layout}, headers=ADMIN
    )
    assert answer.status_code == 422, answer.text
    assert client.get("/v1/warehouses/WG", headers=ADMIN).status_code == 404


@pytest.mark.parametrize("method", METHODS)
def test_a_layout_at_the_bound_routes_to_a_finite_distance(client: TestClient, method: str) -> None:
    layout = {**LAYOUT, "aisle_spacing_m": MAX_EXTENT_M, "aisle_length_m": MAX_EXTENT_M, "depot_x_m": -MAX_EXTENT_M}
    body = {"name": "w", "location": {"lat": 1, "lng": 1}, "layout": layout}
    assert client.put("/v1/warehouses/WB", json=body, headers=ADMIN).status_code == 201
    answer = client.post(
        "/v1/warehouses/WB/pick-route", json={"slots": SLOTS, "method": method, "time_limit_s": 0.5}, headers=ADMIN
    )
    assert answer.status_code == 200, answer.text
    distance = answer.json()["distance_m"]
    assert isinstance(distance, float) and math.isfinite(distance) and distance > 0


def test_dp_on_a_layout_beyond_its_block_limit_is_422_not_a_hang(client: TestClient) -> None:
    """method "dp" bypassed the block limit that auto/exact respect, and the DP is not time-limited:
    20 blocks and a few hundred slots ran for minutes. Now it is refused at once."""
    layout = {**LAYOUT, "aisles": 30, "blocks": 20, "slots_per_side": 200}
    body = {"name": "w", "location": {"lat": 1, "lng": 1}, "layout": layout}
    assert client.put("/v1/warehouses/WD", json=body, headers=ADMIN).status_code == 201
    slots = [f"A{a:02d}-L-{p:03d}" for a in range(1, 31, 2) for p in range(1, 200, 20)]
    answer = client.post("/v1/warehouses/WD/pick-route", json={"slots": slots, "method": "dp"}, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert "at most 5 blocks" in answer.json()["error"]["message"]
    answer = client.post(
        "/v1/warehouses/WD/pick-route", json={"slots": slots[:10], "method": "auto", "time_limit_s": 0.5}, headers=ADMIN
    )
    assert answer.status_code == 200, answer.text
