"""Exceptions over HTTP on both backends: holds listed by status and kind, approve continues the
pipeline (with a temporary credit limit for credit holds), reject cancels and releases, twice is 409."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN, make_token, put_master_data


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client()
    put_master_data(
        test_client,
        warehouses={"W1": {"name": "W1", "location": {"lat": 52.5, "lng": 13.4}}},
        skus={"S1": {"name": "Bolt", "unit_price": 10, "weight_kg": 1, "volume_m3": 0.01}},
        customers={"C1": {"name": "C1", "credit_limit": 100}},
        stock={("W1", "S1"): 100},
    )
    return test_client


def place(client: TestClient, qty: int, price: float = 10) -> dict[str, object]:
    body = {
        "customer_id": "C1",
        "lines": [{"sku": "S1", "qty": qty, "unit_price": price}],
        "delivery": {"lat": 52.49, "lng": 13.4},
    }
    answer = client.post("/v1/orders", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    order: dict[str, object] = answer.json()
    return order


def available(client: TestClient) -> int:
    return int(client.get("/v1/warehouses/W1/stock/S1", headers=ADMIN).json()["available"])


def test_price_conflict_is_listed_and_approval_allocates(client: TestClient) -> None:
    order = place(client, 1, price=8)
    assert order["status"] == "on_hold"
    listed = client.get("/v1/exceptions", params={"status": "open", "kind": "price_conflict"}, headers=ADMIN).json()
    (exception,) = listed["items"]
    assert exception["order_id"] == order["id"]
    assert exception["details"]["lines"][0]["catalogue_unit_price"] == 10  # money is a JSON number
    assert client.get("/v1/exceptions", params={"kind": "stock_shortage"}, headers=ADMIN).json()["items"] == []
    approved = client.post(f"/v1/exceptions/{exception['id']}/approve", json={"note": "ok"}, headers=ADMIN)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()["status"] == "allocated"
    again = client.post(f"/v1/exceptions/{exception['id']}/approve", headers=ADMIN)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "exception_already_resolved"
    assert client.post(f"/v1/exceptions/{exception['id']}/reject", headers=ADMIN).status_code == 409


def test_credit_hold_approved_with_temporary_limit(client: TestClient) -> None:
    order = place(client, 20)  # 200 > 100
    assert order["status"] == "on_hold"
    (exception,) = client.get("/v1/exceptions", params={"status": "open"}, headers=ADMIN).json()["items"]
    assert exception["kind"] == "credit_limit_exceeded"
    answer = client.post(
        f"/v1/exceptions/{exception['id']}/approve", json={"temporary_credit_limit": 500}, headers=ADMIN
    )
    assert answer.status_code == 200, answer.text
    assert client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()["status"] == "allocated"
    assert client.get("/v1/customers/C1", headers=ADMIN).json()["effective_credit_limit"] == 500
    assert place(client, 25)["status"] == "allocated"  # 200 + 250 <= 500


def test_reject_cancels_the_order_and_releases(client: TestClient) -> None:
    order = place(client, 200)  # credit 2000 > 100 and stock short
    exception = client.get("/v1/exceptions", params={"status": "open"}, headers=ADMIN).json()["items"][0]
    answer = client.post(f"/v1/exceptions/{exception['id']}/reject", json={"note": "no"}, headers=ADMIN)
    assert answer.status_code == 200
    assert answer.json()["status"] == "rejected"
    got = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    assert got["status"] == "cancelled"
    assert got["timeline"][-1]["reason_code"] == "credit_limit_exceeded_rejected"
    assert available(client) == 100


def test_exception_errors_and_roles(client: TestClient) -> None:
    assert client.post("/v1/exceptions/exc_nope/approve", headers=ADMIN).status_code == 404
    assert client.get("/v1/exceptions/exc_nope", headers=ADMIN).status_code == 404
    assert client.get("/v1/exceptions", params={"status": "weird"}, headers=ADMIN).status_code == 422
    place(client, 1, price=1)
    exception = client.get("/v1/exceptions", headers=ADMIN).json()["items"][0]
    warehouse = make_token(client, "warehouse")
    assert client.get("/v1/exceptions", headers=warehouse).status_code == 200
    assert client.post(f"/v1/exceptions/{exception['id']}/approve", headers=warehouse).status_code == 403
    bad = client.post(f"/v1/exceptions/{exception['id']}/approve", json={"temporary_credit_limit": -1}, headers=ADMIN)
    assert bad.status_code == 422
    assert client.get(f"/v1/exceptions/{exception['id']}", headers=ADMIN).json()["status"] == "open"
