"""Picking over HTTP on both backends: pick routes (and their 4xx), SKU slots, waves, confirmations."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN, make_token, put_master_data

LAYOUT = {
    "kind": "rectangular",
    "aisles": 4,
    "aisle_spacing_m": 3.0,
    "aisle_length_m": 20.0,
    "blocks": 1,
    "slots_per_side": 10,
    "depot_x_m": 0.0,
}


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client()
    put_master_data(
        test_client,
        warehouses={
            "W1": {"name": "Main", "location": {"lat": 52.5, "lng": 13.4}, "layout": LAYOUT},
            "W0": {"name": "Bare", "location": {"lat": 10.0, "lng": 10.0}},
        },
        skus={sku: {"name": sku, "unit_price": 1, "weight_kg": 1, "volume_m3": 0.01} for sku in ("S1", "S2", "S3")},
        customers={"C1": {"name": "C1", "credit_limit": 100000}},
        stock={("W1", sku): 100 for sku in ("S1", "S2", "S3")},
    )
    return test_client


def test_single_aisle_route_is_twice_the_farthest_slot(client: TestClient) -> None:
    body = {"slots": ["A01-L-003", "A01-R-010", "A01-L-003", "A01-R-003"]}
    answer = client.post("/v1/warehouses/W1/pick-route", json=body, headers=make_token(client, "warehouse", "W1"))
    assert answer.status_code == 200, answer.text
    route = answer.json()
    assert route["sequence"] in (["A01-L-003", "A01-R-003", "A01-R-010"], ["A01-R-010", "A01-L-003", "A01-R-003"])
    assert route["distance_m"] == pytest.approx(2 * 19.0)
    assert route["proven_optimal"] is True


def test_route_across_aisles_visits_every_slot_once(client: TestClient) -> None:
    slots = ["A04-L-005", "A02-R-009", "A03-L-001", "A01-L-010", "A02-L-002", "A04-R-010"]
    answer = client.post("/v1/warehouses/W1/pick-route", json={"slots": slots}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    route = answer.json()
    assert sorted(route["sequence"]) == sorted(slots)
    # hand-checked optimum: front to aisle 2 (3), up aisle 2 (20), back to aisle 1's pick and back
    # (3 + 1 + 1 + 3), along the back to aisle 4 (6), down aisle 4 (20), front home (9), aisle 3 dip (2)
    assert route["distance_m"] == pytest.approx(68.0)
    s_shape = client.post("/v1/warehouses/W1/pick-route", json={"slots": slots, "method": "s_shape"}, headers=ADMIN)
    assert s_shape.status_code == 200
    assert s_shape.json()["distance_m"] >= route["distance_m"]


def test_pick_route_errors(client: TestClient) -> None:
    path = "/v1/warehouses/W1/pick-route"
    unknown = client.post(path, json={"slots": ["A01-L-001", "A09-L-001", "nope"]}, headers=ADMIN)
    assert unknown.status_code == 422
    assert unknown.json()["error"]["code"] == "unknown_slot"
    assert "A09-L-001" in unknown.json()["error"]["message"] and "nope" in unknown.json()["error"]["message"]
    empty = client.post(path, json={"slots": []}, headers=ADMIN)
    assert empty.status_code == 422 and empty.json()["error"]["code"] == "empty_pick_list"
    no_layout = client.post("/v1/warehouses/W0/pick-route", json={"slots": ["A01-L-001"]}, headers=ADMIN)
    assert no_layout.status_code == 422 and no_layout.json()["error"]["code"] == "warehouse_has_no_layout"
    missing = client.post("/v1/warehouses/nope/pick-route", json={"slots": ["A01-L-001"]}, headers=ADMIN)
    assert missing.status_code == 404
    forbidden = client.post(path, json={"slots": ["A01-L-001"]}, headers=make_token(client, "customer", "customer-1"))
    assert forbidden.status_code == 403


def _place(client: TestClient, lines: list[tuple[str, int]]) -> str:
    body = {
        "customer_id": "C1",
        "lines": [{"sku": sku, "qty": qty, "unit_price": 1} for sku, qty in lines],
        "delivery": {"lat": 52.49, "lng": 13.4, "address": "Somewhere 1"},
    }
    answer = client.post("/v1/orders", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    assert answer.json()["status"] == "allocated", answer.json()
    return str(answer.json()["id"])


def _status(client: TestClient, order_id: str) -> str:
    return str(client.get(f"/v1/orders/{order_id}", headers=ADMIN).json()["status"])


def test_wave_picks_and_loads_orders_and_short_pick_opens_exception(client: TestClient) -> None:
    staff = make_token(client, "warehouse", "W1")
    first = _place(client, [("S1", 2), ("S2", 1)])
    second = _place(client, [("S3", 4)])
    wave = client.post(
        "/v1/warehouses/W1/waves",
        json={"cart": {"max_items": 50, "max_weight_kg": 100, "max_volume_m3": 1}},
        headers=staff,
    )
    # orders with SKUs that have no slot wait, with the reason; they block nobody and nothing moves
    assert wave.status_code == 200 and wave.json()["tasks"] == []
    assert {(o["order_id"], o["code"]) for o in wave.json()["left_out"]} == {
        (first, "sku_without_slot"),
        (second, "sku_without_slot"),
    }
    reasons = {o["order_id"]: o["reason"] for o in wave.json()["left_out"]}
    assert "S1, S2" in reasons[first] and "S3" in reasons[second]
    assert _status(client, first) == "allocated"
    for sku, slot in (("S1", "A02-L-004"), ("S2", "A01-R-009"), ("S3", "A03-L-002")):
        answer = client.put(f"/v1/warehouses/W1/slots/{sku}", json={"slot": slot}, headers=staff)
        assert answer.status_code == 200, answer.text
    assert client.get("/v1/warehouses/W1/slots/S1", headers=staff).json()["slot"] == "A02-L-004"
    bad_slot = client.put("/v1/warehouses/W1/slots/S1", json={"slot": "A99-L-001"}, headers=staff)
    assert bad_slot.status_code == 422

    wave = client.post(
        "/v1/warehouses/W1/waves",
        json={"cart": {"max_items": 50, "max_weight_kg": 100, "max_volume_m3": 1}},
        headers=staff,
    )
    assert wave.status_code == 200, wave.text
    tasks = wave.json()["tasks"]
    assert len(tasks) == 1 and wave.json()["orders"] == 2
    task = tasks[0]
    assert sorted(task["order_ids"]) == sorted([first, second])
    assert [s["step"] for s in task["steps"]] == [1, 2, 3]
    walked = task["walk_from_depot_m"] + sum(s["walk_to_next_m"] for s in task["steps"])
    assert walked == pytest.approx(task["distance_m"])
    assert _status(client, first) == "picking" and _status(client, second) == "picking"
    assert client.get(f"/v1/pick-tasks/{task['id']}", headers=staff).json()["steps"] == task["steps"]
    again = client.post(
        "/v1/warehouses/W1/waves",
        json={"cart": {"max_items": 50, "max_weight_kg": 100, "max_volume_m3": 1}},
        headers=staff,
    )
    assert again.json()["tasks"] == []

    step_of = {(s["order_id"], s["sku"]): s for s in task["steps"]}
    picks = [
        {"step": step_of[(first, "S1")]["step"], "picked_qty": 2},
        {"step": step_of[(first, "S2")]["step"], "picked_qty": 1},
        {"step": step_of[(second, "S3")]["step"], "picked_qty": 3},
    ]
    too_many = client.post(
        f"/v1/pick-tasks/{task['id']}/confirm",
        json={"picks": [{"step": picks[0]["step"], "picked_qty": 9}]},
        headers=staff,
    )
    assert too_many.status_code == 422
    answer = client.post(f"/v1/pick-tasks/{task['id']}/confirm", json={"picks": picks}, headers=staff)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "completed"
    assert _status(client, first) == "loaded"
    assert _status(client, second) == "on_hold"
    exceptions = client.get(f"/v1/orders/{second}", headers=ADMIN).json().get("exceptions", [])
    assert any(e["kind"] == "short_pick" for e in exceptions)
    level = client.get("/v1/warehouses/W1/stock/S1", headers=ADMIN).json()
    assert (level["on_hand"], level["reserved"]) == (98, 0)
    level = client.get("/v1/warehouses/W1/stock/S3", headers=ADMIN).json()
    assert level["on_hand"] == 97
    conflict = client.post(
        f"/v1/pick-tasks/{task['id']}/confirm",
        json={"picks": [{"step": picks[0]["step"], "picked_qty": 1}]},
        headers=staff,
    )
    assert conflict.status_code == 409
    assert client.get("/v1/pick-tasks/nope", headers=staff).status_code == 404


def test_put_warehouse_with_an_invalid_layout_is_422_and_a_graph_layout_routes(client: TestClient) -> None:
    bad = {"name": "X", "location": {"lat": 1.0, "lng": 1.0}, "layout": {**LAYOUT, "aisles": 0}}
    answer = client.put("/v1/warehouses/W9", json=bad, headers=ADMIN)
    assert answer.status_code == 422
    assert "aisles" in answer.json()["error"]["message"]
    assert client.get("/v1/warehouses/W9", headers=ADMIN).status_code == 404
    graph = {
        "kind": "graph",
        "nodes": [{"id": "d", "x": 0, "y": 0}, {"id": "a", "x": 0, "y": 10}, {"id": "b", "x": 8, "y": 10}],
        "edges": [{"from": "d", "to": "a"}, {"from": "a", "to": "b"}],
        "slots": [{"id": "S1", "edge": ["d", "a"], "offset_m": 4}, {"id": "S2", "node": "b"}],
        "depot": "d",
    }
    site = {"name": "G", "location": {"lat": 1.0, "lng": 1.0}, "layout": graph}
    assert client.put("/v1/warehouses/WG", json=site, headers=ADMIN).status_code in (200, 201)
    route = client.post("/v1/warehouses/WG/pick-route", json={"slots": ["S2", "S1"]}, headers=ADMIN)
    assert route.status_code == 200, route.text
    assert route.json()["sequence"] in (["S1", "S2"], ["S2", "S1"])
    assert route.json()["distance_m"] == pytest.approx(36.0)


def test_split_order_is_picked_at_both_warehouses_before_it_is_loaded(client: TestClient) -> None:
    site = {"name": "Second", "location": {"lat": 52.6, "lng": 13.4}, "layout": LAYOUT}
    assert client.put("/v1/warehouses/W2", json=site, headers=ADMIN).status_code in (200, 201)
    item = {"name": "S4", "unit_price": 1, "weight_kg": 1, "volume_m3": 0.01}
    assert client.put("/v1/skus/S4", json=item, headers=ADMIN).status_code in (200, 201)
    assert client.put("/v1/warehouses/W2/stock/S4", json={"on_hand": 5}, headers=ADMIN).status_code in (200, 201)
    for warehouse, sku, slot in (("W1", "S1", "A01-L-001"), ("W2", "S4", "A02-R-005")):
        assert (
            client.put(f"/v1/warehouses/{warehouse}/slots/{sku}", json={"slot": slot}, headers=ADMIN).status_code == 200
        )
    order_id = _place(client, [("S1", 1), ("S4", 2)])
    shipments = client.get(f"/v1/orders/{order_id}", headers=ADMIN).json()["shipments"]
    assert {s["warehouse_id"] for s in shipments} == {"W1", "W2"}
    cart = {"cart": {"max_items": 10, "max_weight_kg": 100, "max_volume_m3": 1}}

    first = client.post("/v1/warehouses/W1/waves", json=cart, headers=ADMIN).json()["tasks"]
    assert [s["sku"] for s in first[0]["steps"]] == ["S1"]
    done = client.post(
        f"/v1/pick-tasks/{first[0]['id']}/confirm", json={"picks": [{"step": 1, "picked_qty": 1}]}, headers=ADMIN
    )
    assert done.status_code == 200, done.text
    assert _status(client, order_id) == "picking"  # W2's part is still to pick

    second = client.post("/v1/warehouses/W2/waves", json=cart, headers=ADMIN).json()["tasks"]
    assert [(s["order_id"], s["sku"], s["qty"]) for s in second[0]["steps"]] == [(order_id, "S4", 2)]
    assert client.post("/v1/warehouses/W2/waves", json=cart, headers=ADMIN).json()["tasks"] == []
    done = client.post(
        f"/v1/pick-tasks/{second[0]['id']}/confirm", json={"picks": [{"step": 1, "picked_qty": 2}]}, headers=ADMIN
    )
    assert done.status_code == 200, done.text
    assert _status(client, order_id) == "loaded"


def test_wave_leaves_out_orders_at_slots_the_changed_layout_no_longer_has_naming_them(client: TestClient) -> None:
    for sku, slot in (("S1", "A04-L-001"), ("S2", "A01-R-009"), ("S3", "A03-L-002")):
        assert client.put(f"/v1/warehouses/W1/slots/{sku}", json={"slot": slot}, headers=ADMIN).status_code == 200
    site = {"name": "Main", "location": {"lat": 52.5, "lng": 13.4}, "layout": {**LAYOUT, "aisles": 2}}
    assert client.put("/v1/warehouses/W1", json=site, headers=ADMIN).status_code in (200, 201)
    order_id = _place(client, [("S1", 1), ("S2", 1), ("S3", 1)])
    fine = _place(client, [("S2", 2)])
    cart = {"cart": {"max_items": 50, "max_weight_kg": 100, "max_volume_m3": 1}}
    wave = client.post("/v1/warehouses/W1/waves", json=cart, headers=ADMIN)
    assert wave.status_code == 200, wave.text
    [left_out] = wave.json()["left_out"]
    assert (left_out["order_id"], left_out["code"]) == (order_id, "unknown_slot")
    assert "S1 at A04-L-001, S3 at A03-L-002" in left_out["reason"]
    assert [t["order_ids"] for t in wave.json()["tasks"]] == [[fine]]
    assert _status(client, order_id) == "allocated" and _status(client, fine) == "picking"
