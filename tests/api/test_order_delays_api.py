"""Delay reasons over HTTP on both backends: every order answers its promise and the progress of each
main-line node; a credit hold that delays the stock lock is named as the reason, in Chinese for customers
by default; a requested promise is checked (422 naming the field, nothing written)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from orders_core.orders.delays import DelayCode, describe
from orders_core.orders.promise import DeliveryTargets

from .factories import ADMIN, make_token, put_master_data

MAIN_LINE = ["placed", "credit_review", "stock_locked", "allocated", "picking", "loaded", "in_transit", "delivered"]


def setup(client: TestClient) -> TestClient:
    put_master_data(
        client,
        warehouses={"W1": {"name": "W1", "location": {"lat": 31.23, "lng": 121.47}}},
        skus={"S1": {"name": "Bolt", "unit_price": 10, "weight_kg": 1, "volume_m3": 0.01}},
        customers={"C1": {"name": "C1", "credit_limit": 100}},
        stock={("W1", "S1"): 100},
    )
    return client


def place(client: TestClient, qty: int, **delivery: Any) -> dict[str, Any]:
    body = {
        "customer_id": "C1",
        "lines": [{"sku": "S1", "qty": qty, "unit_price": 10}],
        "delivery": {"lat": 31.22, "lng": 121.46, **delivery},
    }
    answer = client.post("/v1/orders", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()
    return order


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_an_order_answers_its_promise_and_the_plan_of_every_node(make_client: Callable[..., TestClient]) -> None:
    client = setup(make_client(delivery=DeliveryTargets(lead_time_s=7200, to_picking_s=1800)))
    order = place(client, 2)
    assert order["status"] == "allocated"
    placed_at = parse(order["created_at"])
    assert parse(order["promised_by"]) == placed_at + timedelta(seconds=7200)
    read = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    assert [node["status"] for node in read["progress"]] == MAIN_LINE
    nodes = {node["status"]: node for node in read["progress"]}
    assert parse(nodes["delivered"]["due_at"]) == placed_at + timedelta(seconds=7200)
    assert parse(nodes["picking"]["due_at"]) == placed_at + timedelta(seconds=60 + 300 + 300 + 1800)
    assert nodes["picking"]["reached_at"] is None and not nodes["picking"]["late"]
    assert nodes["allocated"]["reached_at"] is not None
    # Each node entry of the timeline carries its due time; the contract's fields stay.
    for item in read["timeline"]:
        assert {"status", "at", "reason"} <= item.keys()
        assert item["expected_at"] == nodes[item["status"]]["due_at"]
        assert item["late"] is False and item["delay_reason_code"] is None


def test_a_requested_promise_is_kept_and_a_bad_one_is_refused(client: TestClient) -> None:
    setup(client)
    wanted = (datetime.now(UTC) + timedelta(hours=5)).replace(microsecond=0)
    order = place(client, 1, promised_by=wanted.isoformat())
    assert parse(order["promised_by"]) == wanted
    assert parse(order["progress"][-1]["due_at"]) == wanted
    for bad in ("2020-01-01T00:00:00Z", (datetime.now(UTC) + timedelta(hours=5)).replace(tzinfo=None).isoformat()):
        body = {
            "customer_id": "C1",
            "lines": [{"sku": "S1", "qty": 1, "unit_price": 10}],
            "delivery": {"lat": 31.2, "lng": 121.4, "promised_by": bad},
        }
        answer = client.post("/v1/orders", json=body, headers=ADMIN)
        assert answer.status_code == 422, answer.text
        assert "promised_by" in answer.json()["error"]["message"]
    assert len(client.get("/v1/orders", headers=ADMIN).json()["items"]) == 1


def test_a_credit_hold_that_delays_the_stock_lock_is_the_reason(make_client: Callable[..., TestClient]) -> None:
    # Every step planned to take no time: any wait is late, and the longest wait is the approval.
    zero = {name: 0.0 for name in DeliveryTargets.__dataclass_fields__ if name != "lead_time_s"}
    client = setup(make_client(delivery=DeliveryTargets(**zero)))
    order = place(client, 20)  # 200 > the credit limit of 100
    assert order["status"] == "on_hold"
    waiting = {node["status"]: node for node in order["progress"]}
    assert waiting["stock_locked"]["reached_at"] is None
    (exception,) = client.get("/v1/exceptions", params={"status": "open"}, headers=ADMIN).json()["items"]
    assert exception["delay_reason_code"] == DelayCode.CREDIT_HOLD.value  # the inbox counts it under its reason
    approved = client.post(
        f"/v1/exceptions/{exception['id']}/approve", json={"temporary_credit_limit": 500}, headers=ADMIN
    )
    assert approved.status_code == 200, approved.text
    read = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    assert read["status"] == "allocated"
    nodes = {node["status"]: node for node in read["progress"]}
    assert nodes["stock_locked"]["late"] and nodes["stock_locked"]["late_by_s"] > 0
    assert nodes["stock_locked"]["delay_reason_code"] == DelayCode.CREDIT_HOLD.value
    assert nodes["stock_locked"]["delay_reason"] == describe(DelayCode.CREDIT_HOLD, "en")  # staff: English
    assert nodes["picking"]["late"] and nodes["picking"]["reached_at"] is None
    locked_entry = next(item for item in read["timeline"] if item["status"] == "stock_locked")
    assert locked_entry["late"] and locked_entry["delay_reason_code"] == "credit_hold"
    hold_entry = next(item for item in read["timeline"] if item["status"] == "on_hold")
    assert hold_entry["expected_at"] is None and hold_entry["delay_reason_code"] is None
    # The customer reads the reason in Chinese unless it asks for English.
    customer = make_token(client, "customer", "C1")
    as_customer = client.get(f"/v1/orders/{order['id']}", headers=customer).json()
    reasons = {node["status"]: node["delay_reason"] for node in as_customer["progress"]}
    assert reasons["stock_locked"] == describe(DelayCode.CREDIT_HOLD, "zh")
    in_english = client.get(f"/v1/orders/{order['id']}", headers={**customer, "Accept-Language": "en-GB,zh;q=0.5"})
    assert in_english.json()["progress"][2]["delay_reason"] == describe(DelayCode.CREDIT_HOLD, "en")
    staff_in_chinese = client.get(f"/v1/orders/{order['id']}", headers={**ADMIN, "Accept-Language": "zh-CN"})
    assert staff_in_chinese.json()["progress"][2]["delay_reason"] == describe(DelayCode.CREDIT_HOLD, "zh")


def test_a_cancelled_order_expects_nothing_more(client: TestClient) -> None:
    setup(client)
    order = place(client, 1)
    cancelled = client.post(f"/v1/orders/{order['id']}/cancel", headers=ADMIN).json()
    ahead = [node for node in cancelled["progress"] if node["reached_at"] is None]
    assert [node["status"] for node in ahead] == MAIN_LINE[4:]
    assert all(node["due_at"] is None and not node["late"] for node in ahead)
