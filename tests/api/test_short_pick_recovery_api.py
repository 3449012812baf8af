"""Issue 12, item 1: a short pick has ways out, over HTTP on both backends. Approving re-picks the rest as
a new pick task, or ships what was picked (lines adjusted, the rest back-ordered or cancelled); cancelling
after picks were confirmed puts the picked units back on hand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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
CART = {"cart": {"max_items": 100, "max_weight_kg": 1000, "max_volume_m3": 10}}


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client()
    put_master_data(
        test_client,
        warehouses={"W1": {"name": "Main", "location": {"lat": 52.5, "lng": 13.4}, "layout": LAYOUT}},
        skus={
            "S1": {"name": "S1", "unit_price": "2.00", "weight_kg": 1, "volume_m3": 0.01},
            "S2": {"name": "S2", "unit_price": "5.00", "weight_kg": 1, "volume_m3": 0.01},
        },
        customers={"C1": {"name": "C1", "credit_limit": 100000}},
        stock={("W1", "S1"): 100, ("W1", "S2"): 100},
    )
    for sku, slot in (("S1", "A01-L-001"), ("S2", "A02-L-003")):
        assert test_client.put(f"/v1/warehouses/W1/slots/{sku}", json={"slot": slot}, headers=ADMIN).status_code == 200
    return test_client


def _order(client: TestClient, order_id: str) -> dict[str, Any]:
    return dict(client.get(f"/v1/orders/{order_id}", headers=ADMIN).json())


def _level(client: TestClient, sku: str) -> tuple[int, int]:
    level = client.get(f"/v1/warehouses/W1/stock/{sku}", headers=ADMIN).json()
    return level["on_hand"], level["reserved"]


def _short_pick(client: TestClient, staff: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """The issue's path: 20 x S1 and 10 x S2 ordered, 20 and 7 picked; answers (order id, exception)."""
    body = {
        "customer_id": "C1",
        "lines": [{"sku": "S1", "qty": 20, "unit_price": "2.00"}, {"sku": "S2", "qty": 10, "unit_price": "5.00"}],
        "delivery": {"lat": 52.49, "lng": 13.4},
    }
    placed = client.post("/v1/orders", json=body, headers=ADMIN)
    assert placed.status_code == 201 and placed.json()["status"] == "allocated", placed.text
    order_id = placed.json()["id"]
    wave = client.post("/v1/warehouses/W1/waves", json=CART, headers=staff).json()
    (task,) = wave["tasks"]
    picks = [{"step": s["step"], "picked_qty": 20 if s["sku"] == "S1" else 7} for s in task["steps"]]
    confirmed = client.post(f"/v1/pick-tasks/{task['id']}/confirm", json={"picks": picks}, headers=staff)
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "completed"
    order = _order(client, order_id)
    assert order["status"] == "on_hold"
    (exception,) = [e for e in order["exceptions"] if e["kind"] == "short_pick"]
    return order_id, exception


def test_short_pick_details_list_the_ways_out(client: TestClient) -> None:
    _, exception = _short_pick(client, make_token(client, "warehouse", "W1"))
    strategy = exception["details"]["strategy"]
    assert strategy["default"] == "repick"
    assert [o["action"] for o in strategy["options"]] == ["repick", "ship_picked", "reject"]
    assert "3 missing" in strategy["options"][0]["effect"]


def test_approving_with_repick_creates_a_task_for_the_rest_and_loads_the_order(client: TestClient) -> None:
    staff = make_token(client, "warehouse", "W1")
    order_id, exception = _short_pick(client, staff)
    assert _level(client, "S2") == (93, 3)
    approved = client.post(f"/v1/exceptions/{exception['id']}/approve", json={"strategy": "repick"}, headers=ADMIN)
    assert approved.status_code == 200, approved.text
    resolution = approved.json()["details"]["resolution"]
    assert resolution["strategy"] == "repick" and resolution["qty"] == 3
    (task_id,) = resolution["pick_task_ids"]
    assert _order(client, order_id)["status"] == "picking"
    task = client.get(f"/v1/pick-tasks/{task_id}", headers=staff).json()
    assert [(s["sku"], s["qty"], s["order_id"]) for s in task["steps"]] == [("S2", 3, order_id)]
    # a new wave does not pick it twice
    assert client.post("/v1/warehouses/W1/waves", json=CART, headers=staff).json()["tasks"] == []
    done = client.post(
        f"/v1/pick-tasks/{task_id}/confirm", json={"picks": [{"step": 1, "picked_qty": 3}]}, headers=staff
    )
    assert done.status_code == 200, done.text
    order = _order(client, order_id)
    assert order["status"] == "loaded"
    assert order["timeline"][-1]["reason_code"] == "picked"
    assert _level(client, "S2") == (90, 0)
    assert _level(client, "S1") == (80, 0)


def test_approving_without_a_strategy_re_picks(client: TestClient) -> None:
    order_id, exception = _short_pick(client, make_token(client, "warehouse", "W1"))
    approved = client.post(f"/v1/exceptions/{exception['id']}/approve", headers=ADMIN)
    assert approved.status_code == 200, approved.text
    assert approved.json()["details"]["resolution"]["strategy"] == "repick"
    assert _order(client, order_id)["status"] == "picking"


def test_ship_picked_with_backorder_adjusts_lines_releases_the_rest_and_back_orders_it(client: TestClient) -> None:
    order_id, exception = _short_pick(client, make_token(client, "warehouse", "W1"))
    approved = client.post(
        f"/v1/exceptions/{exception['id']}/approve",
        json={"strategy": "ship_picked", "remainder": "backorder", "note": "3 missing at A02-L-003"},
        headers=ADMIN,
    )
    assert approved.status_code == 200, approved.text
    resolution = approved.json()["details"]["resolution"]
    assert (resolution["strategy"], resolution["remainder"], resolution["qty"]) == ("ship_picked", "backorder", 3)
    order = _order(client, order_id)
    assert order["status"] == "loaded"
    assert [(line["sku"], line["qty"]) for line in order["lines"]] == [("S1", 20), ("S2", 7)]
    assert float(order["total"]) == 20 * 2 + 7 * 5
    (shipment,) = order["shipments"]
    assert sorted((line["sku"], line["qty"]) for line in shipment["lines"]) == [("S1", 20), ("S2", 7)]
    codes = [e["reason_code"] for e in order["timeline"]]
    assert "lines_adjusted" in codes and "backordered" in codes
    adjusted = next(e for e in order["timeline"] if e["reason_code"] == "lines_adjusted")
    assert "S2 x3" in adjusted["reason"]
    backorder = _order(client, resolution["backorder_id"])
    assert backorder["backorder_of"] == order_id
    assert [(line["sku"], line["qty"]) for line in backorder["lines"]] == [("S2", 3)]
    assert backorder["status"] == "allocated"  # 93 on hand: it goes through the normal pipeline
    # 3 reserved: the back-order's; the short-picked order's 3 were released (else 6)
    assert _level(client, "S2") == (93, 3)


def test_ship_picked_with_cancel_drops_the_rest(client: TestClient) -> None:
    order_id, exception = _short_pick(client, make_token(client, "warehouse", "W1"))
    approved = client.post(
        f"/v1/exceptions/{exception['id']}/approve",
        json={"strategy": "ship_picked", "remainder": "cancel"},
        headers=ADMIN,
    )
    assert approved.status_code == 200, approved.text
    assert "backorder_id" not in approved.json()["details"]["resolution"]
    order = _order(client, order_id)
    assert order["status"] == "loaded"
    assert [(line["sku"], line["qty"]) for line in order["lines"]] == [("S1", 20), ("S2", 7)]
    assert _level(client, "S2") == (93, 0)
    orders = client.get("/v1/orders", headers=ADMIN).json()["items"]
    assert [o["id"] for o in orders] == [order_id]


def test_a_strategy_of_another_kind_is_422_and_changes_nothing(client: TestClient) -> None:
    order_id, exception = _short_pick(client, make_token(client, "warehouse", "W1"))
    answer = client.post(f"/v1/exceptions/{exception['id']}/approve", json={"strategy": "transfer"}, headers=ADMIN)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "strategy_not_applicable"
    assert "repick" in answer.json()["error"]["message"]
    assert _order(client, order_id)["status"] == "on_hold"
    assert client.get(f"/v1/exceptions/{exception['id']}", headers=ADMIN).json()["status"] == "open"


def test_cancelling_after_picks_returns_the_picked_units(client: TestClient) -> None:
    order_id, _ = _short_pick(client, make_token(client, "warehouse", "W1"))
    assert _level(client, "S1") == (80, 0) and _level(client, "S2") == (93, 3)
    cancelled = client.post(f"/v1/orders/{order_id}/cancel", json={"reason": "customer gave up"}, headers=ADMIN)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert _level(client, "S1") == (100, 0)
    assert _level(client, "S2") == (100, 0)
    returned = next(e for e in cancelled.json()["timeline"] if e["reason_code"] == "picked_units_returned")
    assert "S1 x20" in returned["reason"] and "S2 x7" in returned["reason"]
    assert all(e["status"] != "open" for e in cancelled.json()["exceptions"])


def test_rejecting_a_short_pick_cancels_and_returns_the_picked_units(client: TestClient) -> None:
    order_id, exception = _short_pick(client, make_token(client, "warehouse", "W1"))
    rejected = client.post(f"/v1/exceptions/{exception['id']}/reject", json={"note": "stop"}, headers=ADMIN)
    assert rejected.status_code == 200
    assert _order(client, order_id)["status"] == "cancelled"
    assert _level(client, "S1") == (100, 0) and _level(client, "S2") == (100, 0)


def test_an_allocated_order_cancelled_before_picking_releases_only(client: TestClient) -> None:
    body = {
        "customer_id": "C1",
        "lines": [{"sku": "S1", "qty": 5, "unit_price": "2.00"}],
        "delivery": {"lat": 52.49, "lng": 13.4},
    }
    order_id = client.post("/v1/orders", json=body, headers=ADMIN).json()["id"]
    assert _level(client, "S1") == (100, 5)
    cancelled = client.post(f"/v1/orders/{order_id}/cancel", headers=ADMIN).json()
    assert _level(client, "S1") == (100, 0)
    assert "picked_units_returned" not in [e["reason_code"] for e in cancelled["timeline"]]


def test_picked_units_come_back_in_the_redis_store_too(
    make_client: Callable[..., TestClient], fresh_redis_url: str
) -> None:
    client = make_client(redis_url=fresh_redis_url)
    put_master_data(
        client,
        warehouses={"W1": {"name": "Main", "location": {"lat": 52.5, "lng": 13.4}, "layout": LAYOUT}},
        skus={
            "S1": {"name": "S1", "unit_price": "2.00", "weight_kg": 1, "volume_m3": 0.01},
            "S2": {"name": "S2", "unit_price": "5.00", "weight_kg": 1, "volume_m3": 0.01},
        },
        customers={"C1": {"name": "C1", "credit_limit": 100000}},
        stock={("W1", "S1"): 100, ("W1", "S2"): 100},
    )
    for sku, slot in (("S1", "A01-L-001"), ("S2", "A02-L-003")):
        assert client.put(f"/v1/warehouses/W1/slots/{sku}", json={"slot": slot}, headers=ADMIN).status_code == 200
    _, exception = _short_pick(client, ADMIN)
    approved = client.post(
        f"/v1/exceptions/{exception['id']}/approve",
        json={"strategy": "ship_picked", "remainder": "cancel"},
        headers=ADMIN,
    )
    assert approved.status_code == 200, approved.text
    assert _level(client, "S2") == (93, 0)
    other, _ = _short_pick(client, ADMIN)
    assert _level(client, "S1") == (60, 0) and _level(client, "S2") == (86, 3)
    assert client.post(f"/v1/orders/{other}/cancel", headers=ADMIN).status_code == 200
    assert _level(client, "S1") == (80, 0) and _level(client, "S2") == (93, 0)
    fresh = make_client()  # the durable mirror says the same
    assert fresh.get("/v1/warehouses/W1/stock/S2", headers=ADMIN).json()["on_hand"] == 93


def test_two_short_steps_each_with_its_own_way_out(client: TestClient) -> None:
    staff = make_token(client, "warehouse", "W1")
    body = {
        "customer_id": "C1",
        "lines": [{"sku": "S1", "qty": 20, "unit_price": "2.00"}, {"sku": "S2", "qty": 10, "unit_price": "5.00"}],
        "delivery": {"lat": 52.49, "lng": 13.4},
    }
    order_id = client.post("/v1/orders", json=body, headers=ADMIN).json()["id"]
    (task,) = client.post("/v1/warehouses/W1/waves", json=CART, headers=staff).json()["tasks"]
    picks = [{"step": s["step"], "picked_qty": 18 if s["sku"] == "S1" else 7} for s in task["steps"]]
    assert client.post(f"/v1/pick-tasks/{task['id']}/confirm", json={"picks": picks}, headers=staff).status_code == 200
    exceptions = {e["details"]["sku"]: e for e in _order(client, order_id)["exceptions"]}
    repick = client.post(f"/v1/exceptions/{exceptions['S1']['id']}/approve", json={"strategy": "repick"}, headers=ADMIN)
    assert repick.status_code == 200, repick.text
    assert _order(client, order_id)["status"] == "on_hold"  # the S2 short pick still waits for a person
    (task_id,) = repick.json()["details"]["resolution"]["pick_task_ids"]
    confirmed = client.post(
        f"/v1/pick-tasks/{task_id}/confirm", json={"picks": [{"step": 1, "picked_qty": 2}]}, headers=staff
    )
    assert confirmed.status_code == 200
    assert _order(client, order_id)["status"] == "on_hold"
    shipped = client.post(
        f"/v1/exceptions/{exceptions['S2']['id']}/approve",
        json={"strategy": "ship_picked", "remainder": "cancel"},
        headers=ADMIN,
    )
    assert shipped.status_code == 200, shipped.text
    order = _order(client, order_id)
    assert order["status"] == "loaded"
    assert [(line["sku"], line["qty"]) for line in order["lines"]] == [("S1", 20), ("S2", 7)]
    assert _level(client, "S1") == (80, 0) and _level(client, "S2") == (93, 0)


def test_a_re_pick_that_comes_up_short_again_opens_a_new_short_pick(client: TestClient) -> None:
    staff = make_token(client, "warehouse", "W1")
    order_id, exception = _short_pick(client, staff)
    approved = client.post(f"/v1/exceptions/{exception['id']}/approve", json={"strategy": "repick"}, headers=ADMIN)
    (task_id,) = approved.json()["details"]["resolution"]["pick_task_ids"]
    client.post(f"/v1/pick-tasks/{task_id}/confirm", json={"picks": [{"step": 1, "picked_qty": 1}]}, headers=staff)
    order = _order(client, order_id)
    assert order["status"] == "on_hold"
    (again,) = [e for e in order["exceptions"] if e["status"] == "open"]
    assert (again["kind"], again["details"]["qty"], again["details"]["picked_qty"]) == ("short_pick", 3, 1)
    shipped = client.post(
        f"/v1/exceptions/{again['id']}/approve", json={"strategy": "ship_picked", "remainder": "cancel"}, headers=ADMIN
    )
    assert shipped.status_code == 200, shipped.text
    order = _order(client, order_id)
    assert order["status"] == "loaded"
    assert [(line["sku"], line["qty"]) for line in order["lines"]] == [("S1", 20), ("S2", 8)]
    assert _level(client, "S2") == (92, 0)
