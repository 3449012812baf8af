"""Issue 12, item 1: a stock shortage has ways out, over HTTP on both backends. Approving waits for stock
(no new exception), restocking retries held orders (highest priority, then oldest first), a transfer
suggestion can be executed (a transfer with its own timeline, stock moving with it), a partial shipment
can be chosen, and exceptions can be resolved in bulk (per-item results)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN, make_token, put_master_data


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client()
    put_master_data(
        test_client,
        warehouses={
            "W1": {"name": "Near", "location": {"lat": 52.5, "lng": 13.4}},
            "W2": {"name": "Far", "location": {"lat": 52.0, "lng": 13.0}},
        },
        skus={"S1": {"name": "S1", "unit_price": "2.00", "weight_kg": 1, "volume_m3": 0.01}},
        customers={"C1": {"name": "C1", "credit_limit": 100000}},
        stock={("W1", "S1"): 10, ("W2", "S1"): 5},
    )
    return test_client


def _place(client: TestClient, qty: int, priority: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer_id": "C1",
        "lines": [{"sku": "S1", "qty": qty, "unit_price": "2.00"}],
        "delivery": {"lat": 52.49, "lng": 13.4},
    }
    if priority is not None:
        body["priority"] = priority
    answer = client.post("/v1/orders", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _held(client: TestClient, qty: int, priority: str | None = None) -> tuple[str, dict[str, Any]]:
    order = _place(client, qty, priority)
    assert order["status"] == "on_hold", order
    (exception,) = order["exceptions"]
    assert exception["kind"] == "stock_shortage"
    return order["id"], exception


def _order(client: TestClient, order_id: str) -> dict[str, Any]:
    return dict(client.get(f"/v1/orders/{order_id}", headers=ADMIN).json())


def _level(client: TestClient, warehouse_id: str) -> tuple[int, int]:
    level = client.get(f"/v1/warehouses/{warehouse_id}/stock/S1", headers=ADMIN).json()
    return level["on_hand"], level["reserved"]


def _put_stock(client: TestClient, warehouse_id: str, on_hand: int) -> dict[str, Any]:
    answer = client.put(f"/v1/warehouses/{warehouse_id}/stock/S1", json={"on_hand": on_hand}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_shortage_details_list_the_ways_out_and_a_warehouse_with_the_stock(client: TestClient) -> None:
    _, exception = _held(client, 20)
    details = exception["details"]
    assert details["missing"] == {"S1": 5}
    assert details["strategy"]["default"] == "wait_for_stock"
    options = {o["action"]: o for o in details["strategy"]["options"]}
    assert list(options) == ["wait_for_stock", "transfer", "ship_available", "reject"]
    assert options["transfer"]["transfers"] == [
        {"from_warehouse_id": "W2", "to_warehouse_id": "W1", "sku": "S1", "qty": 5}
    ]


def test_approving_waits_without_a_new_exception_and_restocking_allocates(client: TestClient) -> None:
    order_id, exception = _held(client, 20)
    approved = client.post(f"/v1/exceptions/{exception['id']}/approve", json={}, headers=ADMIN)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.json()["details"]["resolution"]["strategy"] == "wait_for_stock"
    order = _order(client, order_id)
    assert order["status"] == "on_hold"
    assert [(e["kind"], e["status"]) for e in order["exceptions"]] == [("stock_shortage", "approved")]
    assert order["timeline"][-1]["reason_code"] == "waiting_for_stock"
    # not enough yet: still waiting, untouched
    assert _put_stock(client, "W1", 12)["allocated_orders"] == []
    assert _order(client, order_id)["status"] == "on_hold"
    assert len(_order(client, order_id)["timeline"]) == len(order["timeline"])
    raised = _put_stock(client, "W1", 15)
    assert raised["allocated_orders"] == [order_id]
    order = _order(client, order_id)
    assert order["status"] == "allocated"
    assert "stock_arrived" in [e["reason_code"] for e in order["timeline"]]
    assert sum(line["qty"] for s in order["shipments"] for line in s["lines"]) == 20
    assert _level(client, "W1") == (15, 15) and _level(client, "W2") == (5, 5)


def test_an_unapproved_shortage_is_retried_too_and_its_exception_closes(client: TestClient) -> None:
    order_id, exception = _held(client, 20)
    assert _put_stock(client, "W2", 10)["allocated_orders"] == [order_id]
    closed = client.get(f"/v1/exceptions/{exception['id']}", headers=ADMIN).json()
    assert closed["status"] == "closed" and closed["resolved_by"] == "system"
    assert "stock of S1 at W2 raised to 10" in closed["note"]


def test_retries_go_by_priority_then_oldest_first(client: TestClient) -> None:
    old_normal, _ = _held(client, 16)
    young_normal, _ = _held(client, 16)
    urgent, _ = _held(client, 16, priority="urgent")
    assert _order(client, urgent)["priority"] == "urgent" and _order(client, old_normal)["priority"] == "normal"
    # 16 free: only one fits, the urgent one although it is the youngest
    assert _put_stock(client, "W1", 11)["allocated_orders"] == [urgent]
    assert _order(client, old_normal)["status"] == "on_hold" and _order(client, young_normal)["status"] == "on_hold"
    # 16 more free: the oldest of the normal ones
    assert _put_stock(client, "W1", 27)["allocated_orders"] == [old_normal]
    assert _order(client, young_normal)["status"] == "on_hold"
    assert _put_stock(client, "W1", 43)["allocated_orders"] == [young_normal]


def test_a_lower_stock_count_retries_nothing(client: TestClient) -> None:
    order_id, _ = _held(client, 20)
    assert _put_stock(client, "W1", 9)["allocated_orders"] == []
    assert _order(client, order_id)["status"] == "on_hold"


def test_executing_the_transfer_suggestion_moves_stock_and_the_arrival_retries_the_order(client: TestClient) -> None:
    order_id, exception = _held(client, 20)
    approved = client.post(f"/v1/exceptions/{exception['id']}/approve", json={"strategy": "transfer"}, headers=ADMIN)
    assert approved.status_code == 200, approved.text
    resolution = approved.json()["details"]["resolution"]
    (transfer_id,) = resolution["transfer_ids"]
    assert resolution["to_warehouse_id"] == "W1" and resolution["still_missing"] == {"S1": 5}
    transfer = client.get(f"/v1/transfers/{transfer_id}", headers=ADMIN).json()
    assert (transfer["from_warehouse_id"], transfer["to_warehouse_id"], transfer["status"]) == ("W2", "W1", "requested")
    assert transfer["lines"] == [{"sku": "S1", "qty": 5}]
    assert (transfer["order_id"], transfer["exception_id"]) == (order_id, exception["id"])
    assert _level(client, "W2") == (5, 5)  # held at the source: no order can take them
    assert _order(client, order_id)["status"] == "on_hold"
    # 5 more at W1: with the 5 in the transfer still not 20 on hand anywhere
    assert _put_stock(client, "W1", 15)["allocated_orders"] == []
    staff = make_token(client, "warehouse", "W2")
    early = client.post(f"/v1/transfers/{transfer_id}/receive", headers=staff)
    assert early.status_code == 409 and early.json()["error"]["code"] == "invalid_transfer_transition"
    shipped = client.post(f"/v1/transfers/{transfer_id}/ship", json={"note": "truck 7"}, headers=staff)
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["status"] == "in_transit"
    assert _level(client, "W2") == (0, 0)
    received = client.post(f"/v1/transfers/{transfer_id}/receive", headers=staff)
    assert received.status_code == 200, received.text
    assert received.json()["status"] == "received"
    assert received.json()["allocated_orders"] == [order_id]
    assert [(e["status"], e["note"]) for e in received.json()["timeline"]][1:] == [
        ("in_transit", "truck 7"),
        ("received", "on hand at W1"),
    ]
    assert _order(client, order_id)["status"] == "allocated"
    assert _level(client, "W1") == (20, 20)
    again = client.post(f"/v1/transfers/{transfer_id}/cancel", headers=staff)
    assert again.status_code == 409


def test_a_transfer_never_takes_more_than_is_available_and_can_be_cancelled(client: TestClient) -> None:
    too_much = {"from_warehouse_id": "W2", "to_warehouse_id": "W1", "lines": [{"sku": "S1", "qty": 6}]}
    answer = client.post("/v1/transfers", json=too_much, headers=ADMIN)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "insufficient_stock"
    assert _level(client, "W2") == (5, 0)
    same = client.post("/v1/transfers", json={**too_much, "to_warehouse_id": "W2"}, headers=ADMIN)
    assert same.status_code == 422 and same.json()["error"]["code"] == "invalid_transfer"
    unknown = client.post("/v1/transfers", json={**too_much, "lines": [{"sku": "nope", "qty": 1}]}, headers=ADMIN)
    assert unknown.status_code == 422
    no_order = client.post(
        "/v1/transfers", json={**too_much, "lines": [{"sku": "S1", "qty": 1}], "order_id": "ord_x"}, headers=ADMIN
    )
    assert no_order.status_code == 422 and "ord_x" in no_order.json()["error"]["message"]
    created = client.post("/v1/transfers", json={**too_much, "lines": [{"sku": "S1", "qty": 5}]}, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert _level(client, "W2") == (5, 5)
    cancelled = client.post(f"/v1/transfers/{created.json()['id']}/cancel", headers=ADMIN)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert _level(client, "W2") == (5, 0)
    listed = client.get("/v1/transfers", params={"status": "cancelled"}, headers=ADMIN).json()["items"]
    assert [t["id"] for t in listed] == [created.json()["id"]]
    assert client.get("/v1/transfers/trf_nope", headers=ADMIN).status_code == 404
    customer = make_token(client, "customer", "C1")
    assert client.post("/v1/transfers", json=too_much, headers=customer).status_code == 403


def test_ship_available_allocates_what_exists_and_back_orders_the_rest(client: TestClient) -> None:
    order_id, exception = _held(client, 20)
    approved = client.post(
        f"/v1/exceptions/{exception['id']}/approve",
        json={"strategy": "ship_available", "remainder": "backorder"},
        headers=ADMIN,
    )
    assert approved.status_code == 200, approved.text
    resolution = approved.json()["details"]["resolution"]
    assert resolution["shipping"] == {"S1": 15} and resolution["left_out"] == {"S1": 5}
    order = _order(client, order_id)
    assert order["status"] == "allocated"
    assert [(line["sku"], line["qty"]) for line in order["lines"]] == [("S1", 15)]
    assert float(order["total"]) == 30.0
    assert sorted((s["warehouse_id"], s["lines"][0]["qty"]) for s in order["shipments"]) == [("W1", 10), ("W2", 5)]
    backorder = _order(client, resolution["backorder_id"])
    assert backorder["backorder_of"] == order_id and backorder["status"] == "on_hold"
    assert [(line["sku"], line["qty"]) for line in backorder["lines"]] == [("S1", 5)]
    assert _put_stock(client, "W1", 15)["allocated_orders"] == [backorder["id"]]


def test_ship_available_with_cancel_and_nothing_available(client: TestClient) -> None:
    order_id, exception = _held(client, 20)
    approved = client.post(
        f"/v1/exceptions/{exception['id']}/approve",
        json={"strategy": "ship_available", "remainder": "cancel"},
        headers=ADMIN,
    )
    assert approved.status_code == 200
    assert "backorder_id" not in approved.json()["details"]["resolution"]
    assert [o["id"] for o in client.get("/v1/orders", headers=ADMIN).json()["items"]] == [order_id]
    _, empty = _held(client, 3)  # nothing left anywhere
    nothing = client.post(f"/v1/exceptions/{empty['id']}/approve", json={"strategy": "ship_available"}, headers=ADMIN)
    assert nothing.status_code == 409 and nothing.json()["error"]["code"] == "nothing_available"
    assert client.get(f"/v1/exceptions/{empty['id']}", headers=ADMIN).json()["status"] == "open"


def test_bulk_resolve_answers_per_item(client: TestClient) -> None:
    first, first_exc = _held(client, 20)
    second, second_exc = _held(client, 30)
    done = client.post(f"/v1/exceptions/{second_exc['id']}/approve", headers=ADMIN)
    assert done.status_code == 200
    third, third_exc = _held(client, 40)
    body = {"ids": [first_exc["id"], second_exc["id"], "exc_missing", third_exc["id"]], "action": "approve"}
    answer = client.post("/v1/exceptions/bulk-resolve", json=body, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["resolved"], result["failed"]) == (2, 2)
    items = result["items"]
    assert [(i["id"], i["ok"], i["status"]) for i in items] == [
        (first_exc["id"], True, 200),
        (second_exc["id"], False, 409),
        ("exc_missing", False, 404),
        (third_exc["id"], True, 200),
    ]
    assert items[1]["error"]["code"] == "exception_already_resolved"
    assert items[0]["exception"]["details"]["resolution"]["strategy"] == "wait_for_stock"
    for order_id in (first, second, third):
        assert _order(client, order_id)["status"] == "on_hold"
    rejected = client.post(
        "/v1/exceptions/bulk-resolve", json={"ids": [first_exc["id"]], "action": "reject"}, headers=ADMIN
    )
    assert rejected.json()["items"][0]["error"]["code"] == "exception_already_resolved"
    bad = client.post("/v1/exceptions/bulk-resolve", json={"ids": ["a", "a"], "action": "approve"}, headers=ADMIN)
    assert bad.status_code == 422
    wrong = client.post(
        "/v1/exceptions/bulk-resolve", json={"ids": ["a"], "action": "approve", "strategy": "nope"}, headers=ADMIN
    )
    assert wrong.status_code == 422
    staff = make_token(client, "warehouse", "W1")
    assert client.post("/v1/exceptions/bulk-resolve", json=body, headers=staff).status_code == 403


def test_bulk_reject_cancels_each_order(client: TestClient) -> None:
    first, first_exc = _held(client, 20)
    second, second_exc = _held(client, 30)
    body = {"ids": [first_exc["id"], second_exc["id"]], "action": "reject", "note": "customer called"}
    answer = client.post("/v1/exceptions/bulk-resolve", json=body, headers=ADMIN).json()
    assert [i["ok"] for i in answer["items"]] == [True, True]
    assert _order(client, first)["status"] == "cancelled" and _order(client, second)["status"] == "cancelled"


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_a_transfer_to_a_warehouse_without_a_level_and_a_restart_of_the_fast_store(
    store: str, request: pytest.FixtureRequest, make_client: Callable[..., TestClient]
) -> None:
    """Received goods count where no level was set before, in both fast stores, and survive a rebuild
    of the fast store from the database (the durable mirror agrees)."""
    redis_url = request.getfixturevalue("fresh_redis_url") if store == "redis" else None
    client = make_client(redis_url=redis_url)
    put_master_data(
        client,
        warehouses={
            "W1": {"name": "Near", "location": {"lat": 52.5, "lng": 13.4}},
            "W2": {"name": "Far", "location": {"lat": 52.0, "lng": 13.0}},
        },
        skus={"S9": {"name": "S9", "unit_price": "1.00", "weight_kg": 1, "volume_m3": 0.01}},
        stock={("W2", "S9"): 8},
    )
    body = {"from_warehouse_id": "W2", "to_warehouse_id": "W1", "lines": [{"sku": "S9", "qty": 3}]}
    transfer = client.post("/v1/transfers", json=body, headers=ADMIN).json()
    for step in ("ship", "receive"):
        assert client.post(f"/v1/transfers/{transfer['id']}/{step}", headers=ADMIN).status_code == 200
    levels = {wh: client.get(f"/v1/warehouses/{wh}/stock/S9", headers=ADMIN).json() for wh in ("W1", "W2")}
    assert (levels["W1"]["on_hand"], levels["W1"]["reserved"]) == (3, 0)
    assert (levels["W2"]["on_hand"], levels["W2"]["reserved"]) == (5, 0)
    # the durable mirror agrees: a process with an empty in-memory store rebuilds it from the database
    fresh = make_client()
    assert fresh.get("/v1/warehouses/W1/stock/S9", headers=ADMIN).json()["on_hand"] == 3
    assert fresh.get("/v1/warehouses/W2/stock/S9", headers=ADMIN).json()["on_hand"] == 5


def test_approving_when_stock_already_covers_the_order_allocates_it_at_once(client: TestClient) -> None:
    first = _place(client, 10)
    assert first["status"] == "allocated"
    order_id, exception = _held(client, 10)
    assert client.post(f"/v1/orders/{first['id']}/cancel", headers=ADMIN).status_code == 200  # frees 10 at W1
    approved = client.post(f"/v1/exceptions/{exception['id']}/approve", headers=ADMIN)
    assert approved.status_code == 200, approved.text
    assert approved.json()["details"]["resolution"] == {
        **approved.json()["details"]["resolution"],
        "strategy": "wait_for_stock",
        "allocated_at_once": True,
    }
    order = _order(client, order_id)
    assert order["status"] == "allocated"
    assert [e["status"] for e in order["exceptions"]] == ["approved"]


def test_transfer_without_a_source_is_409_and_a_strategy_on_another_kind_is_422(
    client: TestClient,
) -> None:
    assert _put_stock(client, "W2", 0)["on_hand"] == 0
    order_id, exception = _held(client, 20)
    assert exception["details"]["strategy"]["options"][1]["transfers"] == []
    answer = client.post(f"/v1/exceptions/{exception['id']}/approve", json={"strategy": "transfer"}, headers=ADMIN)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "no_transfer_possible"
    assert client.get(f"/v1/exceptions/{exception['id']}", headers=ADMIN).json()["status"] == "open"
    assert client.get("/v1/transfers", headers=ADMIN).json()["items"] == []
    wrong = client.post(f"/v1/exceptions/{exception['id']}/approve", json={"strategy": "repick"}, headers=ADMIN)
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "strategy_not_applicable"
    put_master_data(client, customers={"C2": {"name": "C2", "credit_limit": 1}})
    body = {
        "customer_id": "C2",
        "lines": [{"sku": "S1", "qty": 1, "unit_price": "2.00"}],
        "delivery": {"lat": 52.49, "lng": 13.4},
    }
    credit = client.post("/v1/orders", json=body, headers=ADMIN).json()
    (credit_exc,) = credit["exceptions"]
    assert credit_exc["kind"] == "credit_limit_exceeded"
    refused = client.post(
        f"/v1/exceptions/{credit_exc['id']}/approve", json={"strategy": "wait_for_stock"}, headers=ADMIN
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "strategy_not_applicable"
    assert _order(client, order_id)["status"] == "on_hold"


def test_concurrent_restocks_allocate_each_waiting_order_once(client: TestClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    held = [_held(client, 16)[0] for _ in range(4)]  # 15 free: none fits
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: _put_stock(client, "W1", 48), range(4)))
    allocated = [order_id for answer in answers for order_id in answer["allocated_orders"]]
    # 48 on hand at W1 + 5 at W2 = 53 free: three orders of 16 fit, each allocated exactly once
    assert len(allocated) == len(set(allocated)) == 3
    statuses = {order_id: _order(client, order_id)["status"] for order_id in held}
    assert sorted(statuses.values()) == ["allocated", "allocated", "allocated", "on_hold"]
    assert set(allocated) == {o for o, s in statuses.items() if s == "allocated"}
    w1, w2 = _level(client, "W1"), _level(client, "W2")
    assert w1[1] + w2[1] == 48 and w1[1] <= w1[0] and w2[1] <= w2[0]
    for order_id in allocated:
        order = _order(client, order_id)
        assert [e["reason_code"] for e in order["timeline"]].count("stock_arrived") == 1
        assert sum(line["qty"] for s in order["shipments"] for line in s["lines"]) == 16
