"""Warehouse tokens whose subject names a warehouse act on that warehouse alone (403 elsewhere), on both
backends; warehouse tokens without a subject keep acting on every warehouse."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from .factories import ADMIN, make_token, put_master_data

LAYOUT = {
    "kind": "rectangular",
    "aisles": 2,
    "aisle_spacing_m": 3.0,
    "aisle_length_m": 10.0,
    "blocks": 1,
    "slots_per_side": 5,
    "depot_x_m": 0.0,
}
CART = {"cart": {"max_items": 50, "max_weight_kg": 100, "max_volume_m3": 1}}


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client()
    put_master_data(
        test_client,
        warehouses={
            "W1": {"name": "One", "location": {"lat": 52.5, "lng": 13.4}, "layout": LAYOUT},
            "W2": {"name": "Two", "location": {"lat": 48.1, "lng": 11.6}, "layout": LAYOUT},
        },
        skus={"S1": {"name": "S1", "unit_price": 1, "weight_kg": 1, "volume_m3": 0.01}},
        customers={"C1": {"name": "C1", "credit_limit": 100000}},
        stock={("W1", "S1"): 100, ("W2", "S1"): 100},
    )
    return test_client


def _forbidden(answer: Response, scope: str = "W2") -> None:
    assert answer.status_code == 403, answer.text
    error = answer.json()["error"]
    assert error["code"] == "forbidden"
    assert f"scoped to warehouse {scope!r}" in error["message"]


def _pick_task_at_w1(client: TestClient) -> str:
    assert client.put("/v1/warehouses/W1/slots/S1", json={"slot": "A01-L-002"}, headers=ADMIN).status_code == 200
    order = {
        "customer_id": "C1",
        "lines": [{"sku": "S1", "qty": 2, "unit_price": 1}],
        "delivery": {"lat": 52.49, "lng": 13.4, "address": "Somewhere 1"},
    }
    placed = client.post("/v1/orders", json=order, headers=ADMIN)
    assert placed.status_code == 201 and placed.json()["status"] == "allocated", placed.text
    wave = client.post("/v1/warehouses/W1/waves", json=CART, headers=ADMIN)
    assert wave.status_code == 200 and len(wave.json()["tasks"]) == 1, wave.text
    return str(wave.json()["tasks"][0]["id"])


def test_path_routes_of_another_warehouse_are_403_naming_the_scope(client: TestClient) -> None:
    w2 = make_token(client, "warehouse", "W2")
    cases = [
        ("get", "/v1/warehouses/W1", None),
        ("get", "/v1/warehouses/W1/stock", None),
        ("get", "/v1/warehouses/W1/stock/S1", None),
        ("put", "/v1/warehouses/W1/stock/S1", {"on_hand": 1}),
        ("put", "/v1/warehouses/W1/slots/S1", {"slot": "A01-L-001"}),
        ("get", "/v1/warehouses/W1/slots/S1", None),
        ("get", "/v1/warehouses/W1/cart", None),
        ("post", "/v1/warehouses/W1/pick-route", {"slots": ["A01-L-001"]}),
        ("post", "/v1/warehouses/W1/waves", CART),
        ("get", "/v1/warehouses/W1/loading-sheets", None),
    ]
    for method, path, body in cases:
        kwargs: dict[str, Any] = {"json": body} if body is not None else {}
        _forbidden(client.request(method, path, headers=w2, **kwargs))
    level = client.get("/v1/warehouses/W1/stock/S1", headers=ADMIN).json()
    assert level["on_hand"] == 100  # the refused PUT wrote nothing
    # its own warehouse answers as before
    assert client.get("/v1/warehouses/W2/stock/S1", headers=w2).json()["on_hand"] == 100
    assert client.put("/v1/warehouses/W2/slots/S1", json={"slot": "A01-L-001"}, headers=w2).status_code == 200
    assert client.post("/v1/warehouses/W2/pick-route", json={"slots": ["A01-L-001"]}, headers=w2).status_code == 200
    assert client.get("/v1/warehouses/W2", headers=w2).json()["id"] == "W2"
    # a warehouse token without a subject keeps today's behaviour: any warehouse
    unscoped = make_token(client, "warehouse")
    assert client.get("/v1/warehouses/W1/stock/S1", headers=unscoped).status_code == 200
    assert client.get("/v1/warehouses/W2/stock/S1", headers=unscoped).status_code == 200


def test_pick_tasks_of_another_warehouse_are_403_and_lists_are_limited_to_its_own(client: TestClient) -> None:
    task_id = _pick_task_at_w1(client)
    w1, w2 = make_token(client, "warehouse", "W1"), make_token(client, "warehouse", "W2")
    _forbidden(client.get(f"/v1/pick-tasks/{task_id}", headers=w2))
    _forbidden(
        client.post(f"/v1/pick-tasks/{task_id}/confirm", json={"picks": [{"step": 1, "picked_qty": 2}]}, headers=w2)
    )
    assert client.get(f"/v1/pick-tasks/{task_id}", headers=ADMIN).json()["status"] == "open"  # nothing confirmed
    _forbidden(client.get("/v1/pick-tasks", params={"warehouse_id": "W1"}, headers=w2))
    assert client.get("/v1/pick-tasks", headers=w2).json()["items"] == []
    assert [t["id"] for t in client.get("/v1/pick-tasks", headers=w1).json()["items"]] == [task_id]
    assert [t["id"] for t in client.get("/v1/pick-tasks?warehouse_id=W1", headers=w1).json()["items"]] == [task_id]
    assert [t["id"] for t in client.get("/v1/pick-tasks", headers=make_token(client, "warehouse")).json()["items"]] == [
        task_id
    ]
    assert client.get(f"/v1/pick-tasks/{task_id}", headers=w1).status_code == 200
    confirmed = client.post(
        f"/v1/pick-tasks/{task_id}/confirm", json={"picks": [{"step": 1, "picked_qty": 2}]}, headers=w1
    )
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "completed", confirmed.text


def test_transfers_are_limited_to_those_touching_the_tokens_warehouse(client: TestClient) -> None:
    put_master_data(client, warehouses={"W3": {"name": "Three", "location": {"lat": 50.1, "lng": 8.7}}})
    w3 = make_token(client, "warehouse", "W3")
    body = {"from_warehouse_id": "W1", "to_warehouse_id": "W2", "lines": [{"sku": "S1", "qty": 5}]}
    _forbidden(client.post("/v1/transfers", json=body, headers=w3), "W3")
    assert client.get("/v1/warehouses/W1/stock/S1", headers=ADMIN).json()["reserved"] == 0  # nothing held
    created = client.post("/v1/transfers", json=body, headers=make_token(client, "warehouse", "W1"))
    assert created.status_code == 201, created.text
    transfer_id = created.json()["id"]
    _forbidden(client.get(f"/v1/transfers/{transfer_id}", headers=w3), "W3")
    _forbidden(client.post(f"/v1/transfers/{transfer_id}/ship", headers=w3), "W3")
    assert client.get(f"/v1/transfers/{transfer_id}", headers=ADMIN).json()["status"] == "requested"
    assert client.get("/v1/transfers", headers=w3).json()["items"] == []
    w2 = make_token(client, "warehouse", "W2")
    assert [t["id"] for t in client.get("/v1/transfers", headers=w2).json()["items"]] == [transfer_id]
    shipped = client.post(f"/v1/transfers/{transfer_id}/ship", headers=make_token(client, "warehouse", "W1"))
    assert shipped.status_code == 200 and shipped.json()["status"] == "in_transit"
    assert client.post(f"/v1/transfers/{transfer_id}/receive", headers=w2).json()["status"] == "received"


def test_order_and_exception_lists_are_limited_to_the_tokens_warehouse(client: TestClient) -> None:
    _pick_task_at_w1(client)  # one order with a shipment from W1
    w1, w2 = make_token(client, "warehouse", "W1"), make_token(client, "warehouse", "W2")
    mine = client.get("/v1/orders", headers=w1)
    assert mine.status_code == 200 and len(mine.json()["items"]) == 1
    assert client.get("/v1/orders", headers=w2).json()["items"] == []
    assert len(client.get("/v1/orders", headers=ADMIN).json()["items"]) == 1
    _forbidden(client.get("/v1/orders", params={"warehouse_id": "W1"}, headers=w2))
    _forbidden(client.get("/v1/exceptions", params={"warehouse_id": "W1"}, headers=w2))
    assert client.get("/v1/exceptions", headers=w2).status_code == 200


def test_unfiltered_exception_list_never_shows_a_scoped_token_another_warehouses_exceptions(client: TestClient) -> None:
    task_id = _pick_task_at_w1(client)
    short = client.post(
        f"/v1/pick-tasks/{task_id}/confirm", json={"picks": [{"step": 1, "picked_qty": 1}]}, headers=ADMIN
    )
    assert short.status_code == 200, short.text  # 1 of 2 picked: a short_pick exception on the W1 order
    # A price conflict holds an order before any shipment: its exception belongs to no warehouse.
    held = {
        "customer_id": "C1",
        "lines": [{"sku": "S1", "qty": 1, "unit_price": 0.5}],
        "delivery": {"lat": 52.49, "lng": 13.4},
    }
    assert client.post("/v1/orders", json=held, headers=ADMIN).json()["status"] == "on_hold"
    everything = client.get("/v1/exceptions", headers=ADMIN).json()["items"]
    assert sorted(e["kind"] for e in everything) == ["price_conflict", "short_pick"]
    w1, w2 = make_token(client, "warehouse", "W1"), make_token(client, "warehouse", "W2")
    # The held order's exception belongs to no warehouse: both see it; W1's short pick only W1 does.
    assert sorted(e["kind"] for e in client.get("/v1/exceptions", headers=w1).json()["items"]) == [
        "price_conflict",
        "short_pick",
    ]
    assert [e["kind"] for e in client.get("/v1/exceptions", headers=w2).json()["items"]] == ["price_conflict"]
    assert client.get("/v1/exceptions", params={"kind": "short_pick"}, headers=w2).json()["items"] == []
    filtered = client.get("/v1/exceptions", params={"warehouse_id": "W1"}, headers=w1).json()["items"]
    assert [e["kind"] for e in filtered] == ["short_pick"]
    unscoped = make_token(client, "warehouse")
    assert len(client.get("/v1/exceptions", headers=unscoped).json()["items"]) == 2


def test_warehouse_list_shows_a_scoped_token_only_its_warehouse(client: TestClient) -> None:
    w1 = make_token(client, "warehouse", "W1")
    assert [w["id"] for w in client.get("/v1/warehouses", headers=w1).json()["items"]] == ["W1"]
    assert client.get("/v1/warehouses", params={"q": "Two"}, headers=w1).json()["items"] == []
    assert [w["id"] for w in client.get("/v1/warehouses", headers=ADMIN).json()["items"]] == ["W1", "W2"]
    unscoped = make_token(client, "warehouse")
    assert [w["id"] for w in client.get("/v1/warehouses", headers=unscoped).json()["items"]] == ["W1", "W2"]


def test_shipment_list_is_limited_to_the_tokens_warehouse(client: TestClient) -> None:
    _pick_task_at_w1(client)
    w1, w2 = make_token(client, "warehouse", "W1"), make_token(client, "warehouse", "W2")
    assert [s["warehouse_id"] for s in client.get("/v1/shipments", headers=w1).json()["items"]] == ["W1"]
    assert client.get("/v1/shipments", headers=w2).json()["items"] == []
    _forbidden(client.get("/v1/shipments", params={"warehouse_id": "W1"}, headers=w2))


def test_one_order_is_readable_only_by_the_warehouses_it_ships_from(client: TestClient) -> None:
    _pick_task_at_w1(client)
    order_id = client.get("/v1/orders", headers=ADMIN).json()["items"][0]["id"]
    w1, w2 = make_token(client, "warehouse", "W1"), make_token(client, "warehouse", "W2")
    assert client.get(f"/v1/orders/{order_id}", headers=w1).status_code == 200
    refused = client.get(f"/v1/orders/{order_id}", headers=w2)
    _forbidden(refused)
    assert order_id in refused.json()["error"]["message"]
    assert client.get(f"/v1/orders/{order_id}", headers=ADMIN).status_code == 200
    unscoped = make_token(client, "warehouse")
    assert client.get(f"/v1/orders/{order_id}", headers=unscoped).status_code == 200
