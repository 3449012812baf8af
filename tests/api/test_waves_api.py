"""Waves that fit real orders, walked over HTTP on both backends (issue 12, item 2).

An order larger than a cart is split across trips instead of refusing the whole warehouse's wave; an order
no cart can carry is left out with its reason; a wave can be limited to chosen orders; the cart is stored
per warehouse; a handheld lists its open pick tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

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
CART = {"max_items": 60, "max_weight_kg": 300.0, "max_volume_m3": 2.0}
SLOTS = {"BIG": "A01-L-005", "BOX": "A02-R-003", "PEN": "A03-L-007", "ANVIL": "A04-L-002"}


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client()
    put_master_data(
        test_client,
        warehouses={"W1": {"name": "Main", "location": {"lat": 52.5, "lng": 13.4}, "layout": LAYOUT}},
        skus={
            "BIG": {"name": "Cement bag", "unit_price": 1, "weight_kg": 5.54, "volume_m3": 0.005},
            "BOX": {"name": "Box", "unit_price": 1, "weight_kg": 1, "volume_m3": 0.01},
            "PEN": {"name": "Pen", "unit_price": 1, "weight_kg": 0.1, "volume_m3": 0.001},
            "ANVIL": {"name": "Anvil", "unit_price": 1, "weight_kg": 400, "volume_m3": 0.1},
        },
        customers={"C1": {"name": "C1", "credit_limit": 10_000_000}},
        stock={("W1", sku): 1000 for sku in SLOTS},
    )
    for sku, slot in SLOTS.items():
        answer = test_client.put(f"/v1/warehouses/W1/slots/{sku}", json={"slot": slot}, headers=ADMIN)
        assert answer.status_code == 200, answer.text
    return test_client


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


def _confirm_all(client: TestClient, task: dict, headers: dict[str, str]) -> dict:
    picks = [{"step": s["step"], "picked_qty": s["qty"]} for s in task["steps"]]
    answer = client.post(f"/v1/pick-tasks/{task['id']}/confirm", json={"picks": picks}, headers=headers)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_an_order_larger_than_the_cart_is_split_across_trips_and_blocks_no_one(client: TestClient) -> None:
    staff = make_token(client, "warehouse", "W1")
    big = _place(client, [("BIG", 180), ("BOX", 20)])  # 200 items, 1,017 kg: more than three carts
    small = _place(client, [("PEN", 3)])
    other = _place(client, [("BOX", 2), ("PEN", 1)])
    wave = client.post("/v1/warehouses/W1/waves", json={"cart": CART}, headers=staff)
    assert wave.status_code == 200, wave.text
    body = wave.json()
    assert body["split_orders"] == [big] and body["left_out"] == []
    assert body["orders"] == 3
    tasks = body["tasks"]
    trips_of_big = [t for t in tasks if big in t["order_ids"]]
    assert len(trips_of_big) >= 4  # 200 items at most 60 a cart
    weight = {"BIG": 5.54, "BOX": 1.0, "PEN": 0.1}
    picked: dict[tuple[str, str], int] = {}
    for task in tasks:
        units = sum(s["qty"] for s in task["steps"])
        kg = sum(s["qty"] * weight[s["sku"]] for s in task["steps"])
        assert units <= CART["max_items"] and kg <= CART["max_weight_kg"] + 1e-9
        for s in task["steps"]:
            picked[(s["order_id"], s["sku"])] = picked.get((s["order_id"], s["sku"]), 0) + s["qty"]
    assert picked == {(big, "BIG"): 180, (big, "BOX"): 20, (small, "PEN"): 3, (other, "BOX"): 2, (other, "PEN"): 1}
    assert {_status(client, o) for o in (big, small, other)} == {"picking"}

    # the big order is loaded only once its last trip is confirmed
    for task in trips_of_big[:-1]:
        _confirm_all(client, task, staff)
    assert _status(client, big) == "picking"
    _confirm_all(client, trips_of_big[-1], staff)
    assert _status(client, big) == "loaded"
    level = client.get("/v1/warehouses/W1/stock/BIG", headers=ADMIN).json()
    assert (level["on_hand"], level["reserved"]) == (820, 0)


def test_an_order_no_cart_can_carry_is_left_out_with_the_reason(client: TestClient) -> None:
    heavy = _place(client, [("ANVIL", 1), ("PEN", 1)])
    light = _place(client, [("BOX", 1)])
    wave = client.post("/v1/warehouses/W1/waves", json={"cart": CART}, headers=ADMIN)
    assert wave.status_code == 200, wave.text
    body = wave.json()
    assert [t["order_ids"] for t in body["tasks"]] == [[light]]
    assert [(o["order_id"], o["code"]) for o in body["left_out"]] == [(heavy, "unit_exceeds_cart")]
    assert "ANVIL" in body["left_out"][0]["reason"] and "400" in body["left_out"][0]["reason"]
    assert _status(client, heavy) == "allocated" and _status(client, light) == "picking"
    # a bigger cart, sent for this call only, takes it
    roomy = client.post(
        "/v1/warehouses/W1/waves",
        json={"cart": {"max_items": 10, "max_weight_kg": 500, "max_volume_m3": 1}},
        headers=ADMIN,
    )
    assert [t["order_ids"] for t in roomy.json()["tasks"]] == [[heavy]] and roomy.json()["left_out"] == []


def test_a_wave_can_be_limited_to_chosen_orders_with_the_stored_cart(client: TestClient) -> None:
    staff = make_token(client, "warehouse", "W1")
    first = _place(client, [("BOX", 2)])
    second = _place(client, [("PEN", 2)])
    no_cart = client.post("/v1/warehouses/W1/waves", json={"order_ids": [first]}, headers=staff)
    assert no_cart.status_code == 422 and no_cart.json()["error"]["code"] == "cart_not_configured"
    assert client.get("/v1/warehouses/W1/cart", headers=staff).status_code == 422
    assert client.put("/v1/warehouses/W1/cart", json=CART, headers=staff).status_code == 403
    assert client.put("/v1/warehouses/nope/cart", json=CART, headers=ADMIN).status_code == 404
    stored = client.put("/v1/warehouses/W1/cart", json=CART, headers=ADMIN)
    assert stored.status_code == 201, stored.text
    assert client.put("/v1/warehouses/W1/cart", json=CART, headers=ADMIN).status_code == 200
    assert client.get("/v1/warehouses/W1/cart", headers=staff).json() == {"warehouse_id": "W1", **CART}

    wave = client.post("/v1/warehouses/W1/waves", json={"order_ids": [first, "no-such-order"]}, headers=staff)
    assert wave.status_code == 200, wave.text
    assert [t["order_ids"] for t in wave.json()["tasks"]] == [[first]]
    assert [(o["order_id"], o["code"]) for o in wave.json()["left_out"]] == [("no-such-order", "order_not_found")]
    assert _status(client, first) == "picking" and _status(client, second) == "allocated"
    again = client.post("/v1/warehouses/W1/waves", json={"order_ids": [first]}, headers=staff)
    assert again.json()["tasks"] == []
    assert [o["code"] for o in again.json()["left_out"]] == ["nothing_to_pick_here"]
    # a cart in the body overrides the stored one for that call: one unit per trip
    one_each = client.post(
        "/v1/warehouses/W1/waves",
        json={"cart": {"max_items": 1, "max_weight_kg": 300, "max_volume_m3": 2}},
        headers=staff,
    )
    assert len(one_each.json()["tasks"]) == 2 and one_each.json()["split_orders"] == [second]


def test_a_handheld_lists_its_open_pick_tasks_page_by_page(client: TestClient) -> None:
    staff = make_token(client, "warehouse", "W1")
    orders = [_place(client, [("BOX", 1)]) for _ in range(3)]
    one_each = {"max_items": 1, "max_weight_kg": 300, "max_volume_m3": 2}
    tasks = client.post("/v1/warehouses/W1/waves", json={"cart": one_each}, headers=staff).json()["tasks"]
    assert len(tasks) == 3
    _confirm_all(client, tasks[0], staff)

    open_tasks = client.get("/v1/pick-tasks", params={"warehouse_id": "W1", "status": "open"}, headers=staff)
    assert open_tasks.status_code == 200, open_tasks.text
    assert set(open_tasks.json()) == {"items", "next_cursor"}
    assert [t["id"] for t in open_tasks.json()["items"]] == [t["id"] for t in tasks[1:]]
    assert all(t["steps"] for t in open_tasks.json()["items"])
    both = client.get("/v1/pick-tasks?warehouse_id=W1&status=open&status=completed", headers=staff).json()
    assert len(both["items"]) == 3
    assert len(client.get("/v1/pick-tasks?status=open,completed", headers=staff).json()["items"]) == 3
    done = client.get("/v1/pick-tasks", params={"status": "completed"}, headers=staff).json()["items"]
    assert [t["id"] for t in done] == [tasks[0]["id"]]
    of_order = client.get("/v1/pick-tasks", params={"order_id": orders[2]}, headers=staff).json()["items"]
    assert [t["order_ids"] for t in of_order] == [[orders[2]]]
    other = client.get("/v1/pick-tasks", params={"warehouse_id": "W2"}, headers=staff)  # a W1 token: scoped
    assert other.status_code == 403 and other.json()["error"]["code"] == "forbidden"
    assert client.get("/v1/pick-tasks", params={"warehouse_id": "W2"}, headers=ADMIN).json()["items"] == []
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).astimezone(timezone(timedelta(hours=5))).isoformat()
    assert len(client.get("/v1/pick-tasks", params={"created_from": hour_ago}, headers=staff).json()["items"]) == 3
    soon = (datetime.now(UTC) + timedelta(minutes=1)).astimezone(timezone(timedelta(hours=-5))).isoformat()
    assert client.get("/v1/pick-tasks", params={"created_from": soon}, headers=staff).json()["items"] == []

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(5):
        params = {"warehouse_id": "W1", "limit": 1, "order": "desc", **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/pick-tasks", params=params, headers=staff).json()
        seen += [t["id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [t["id"] for t in reversed(tasks)]

    bad = client.get("/v1/pick-tasks", params={"status": "opened"}, headers=staff)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_filter"
    assert "opened" in bad.json()["error"]["message"]
    wrong_way = client.get("/v1/pick-tasks", params={"limit": 1, "order": "asc", "cursor": "x"}, headers=staff)
    assert wrong_way.status_code == 422 and wrong_way.json()["error"]["code"] == "invalid_cursor"
    customer = make_token(client, "customer", "C1")
    assert client.get("/v1/pick-tasks", headers=customer).status_code == 403
