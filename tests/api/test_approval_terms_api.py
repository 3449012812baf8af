"""Issue 12, approval terms over HTTP on both backends: a temporary credit limit must cover the order
(422, nothing written) and expires (shown on the customer; afterwards the standing limit applies to new
orders); a price conflict is approved at the quoted or the catalogue price (lines, total and timeline
follow)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN, put_master_data


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client()
    put_master_data(
        test_client,
        warehouses={"W1": {"name": "W1", "location": {"lat": 52.5, "lng": 13.4}}},
        skus={"S1": {"name": "Bolt", "unit_price": 10, "weight_kg": 1, "volume_m3": 0.01}},
        customers={"C1": {"name": "C1", "credit_limit": 100}},
        stock={("W1", "S1"): 1000},
    )
    return test_client


def place(client: TestClient, qty: int, price: float = 10) -> dict[str, Any]:
    body = {
        "customer_id": "C1",
        "lines": [{"sku": "S1", "qty": qty, "unit_price": price}],
        "delivery": {"lat": 52.49, "lng": 13.4},
    }
    answer = client.post("/v1/orders", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()
    return order


def open_exception(client: TestClient, order_id: str) -> dict[str, Any]:
    (exception,) = client.get("/v1/exceptions", params={"status": "open", "order_id": order_id}, headers=ADMIN).json()[
        "items"
    ]
    return dict(exception)


def approve(client: TestClient, exception_id: str, **body: Any) -> Any:
    return client.post(f"/v1/exceptions/{exception_id}/approve", json=body, headers=ADMIN)


def customer(client: TestClient) -> dict[str, Any]:
    answer = client.get("/v1/customers/C1", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def test_temporary_limit_below_the_resulting_exposure_is_refused_and_writes_nothing(client: TestClient) -> None:
    first = place(client, 8)  # 80: within the limit of 100
    assert first["status"] == "allocated"
    order = place(client, 20)  # 80 + 200 > 100
    assert order["status"] == "on_hold"
    exception = open_exception(client, order["id"])
    assert exception["kind"] == "credit_limit_exceeded"

    low = approve(client, exception["id"], temporary_credit_limit=250)  # covers the order, not the exposure
    assert low.status_code == 422, low.text
    error = low.json()["error"]
    assert error["code"] == "temporary_credit_limit_too_low"
    assert "280" in error["message"] and "250" in error["message"]
    assert error["details"]["resulting_exposure"] == 280  # money is a JSON number, in errors too
    assert open_exception(client, order["id"])["id"] == exception["id"]
    after = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    assert after["status"] == "on_hold" and len(after["timeline"]) == len(order["timeline"])
    assert customer(client)["temporary_credit_limit"] is None
    assert customer(client)["effective_credit_limit"] == 100

    granted = approve(client, exception["id"], temporary_credit_limit=280)  # exactly the resulting exposure
    assert granted.status_code == 200, granted.text
    got = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    assert got["status"] == "allocated"
    assert "temporary_credit_granted" in [e["reason_code"] for e in got["timeline"]]
    shown = customer(client)
    assert shown["temporary_credit_limit"] == 280 and shown["effective_credit_limit"] == 280
    expires = parse(shown["temporary_credit_limit_expires_at"])
    default_ttl = timedelta(days=7)
    assert abs(expires - (datetime.now(UTC) + default_ttl)) < timedelta(minutes=5)
    # The customer is now exactly at its limit: the next order is held again, not let through.
    assert place(client, 1)["status"] == "on_hold"


def test_temporary_limit_expires_and_the_standing_limit_applies_again(client: TestClient) -> None:
    order = place(client, 20)
    exception = open_exception(client, order["id"])
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    refused = approve(client, exception["id"], temporary_credit_limit=500, temporary_credit_limit_expires_at=past)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_approval_terms"
    assert customer(client)["temporary_credit_limit"] is None

    expires_at = datetime.now(UTC) + timedelta(seconds=3)
    answer = approve(
        client, exception["id"], temporary_credit_limit=500, temporary_credit_limit_expires_at=expires_at.isoformat()
    )
    assert answer.status_code == 200, answer.text
    shown = customer(client)
    assert shown["effective_credit_limit"] == 500
    assert abs(parse(shown["temporary_credit_limit_expires_at"]) - expires_at) < timedelta(milliseconds=1)
    assert place(client, 25)["status"] == "allocated"  # 200 + 250 <= 500 while the limit lasts
    time.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 0.3)
    lapsed = customer(client)
    assert lapsed["temporary_credit_limit"] is None and lapsed["temporary_credit_limit_expires_at"] is None
    assert lapsed["effective_credit_limit"] == 100
    held = place(client, 1)  # 450 + 10 > 100: the standing limit again
    assert held["status"] == "on_hold"
    assert open_exception(client, held["id"])["details"]["effective_limit"] == 100


def test_terms_that_do_not_fit_the_exception_are_422(client: TestClient) -> None:
    priced = place(client, 1, price=8)
    price_exception = open_exception(client, priced["id"])
    wrong = approve(client, price_exception["id"], temporary_credit_limit=1000)
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "invalid_approval_terms"
    assert approve(client, price_exception["id"], price="cheapest").status_code == 422
    credit = place(client, 20)
    credit_exception = open_exception(client, credit["id"])
    assert approve(client, credit_exception["id"], price="catalogue").status_code == 422
    no_limit = approve(client, credit_exception["id"], temporary_credit_limit_expires_at="2099-01-01T00:00:00Z")
    assert no_limit.status_code == 422
    for exception in (price_exception, credit_exception):
        assert client.get(f"/v1/exceptions/{exception['id']}", headers=ADMIN).json()["status"] == "open"


def test_customer_put_gives_a_temporary_limit_an_expiry(client: TestClient) -> None:
    body = {"name": "C1", "credit_limit": 100, "temporary_credit_limit": 300}
    answer = client.put("/v1/customers/C1", json=body, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert parse(answer.json()["temporary_credit_limit_expires_at"]) > datetime.now(UTC) + timedelta(days=6)
    past = {**body, "temporary_credit_limit_expires_at": "2020-01-01T00:00:00Z"}
    refused = client.put("/v1/customers/C1", json=past, headers=ADMIN)
    assert refused.status_code == 422 and "future" in refused.json()["error"]["message"]
    assert customer(client)["temporary_credit_limit"] == 300
    # A temporary limit raises the standing one; it never lowers a standing limit raised above it.
    raised = client.put("/v1/customers/C1", json={"name": "C1", "credit_limit": 1000}, headers=ADMIN)
    assert raised.json()["temporary_credit_limit"] == 300 and raised.json()["effective_credit_limit"] == 1000


def test_price_conflict_approved_at_the_catalogue_price_reprices_lines_and_total(client: TestClient) -> None:
    order = place(client, 3, price=8)  # catalogue 10: 20 % off
    assert order["status"] == "on_hold" and order["total"] == 24
    exception = open_exception(client, order["id"])
    answer = approve(client, exception["id"], price="catalogue")
    assert answer.status_code == 200, answer.text
    got = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    assert got["status"] == "allocated"
    assert got["lines"] == [{"sku": "S1", "qty": 3, "unit_price": 10}]
    assert got["total"] == 30
    (entry,) = [e for e in got["timeline"] if e["reason_code"] == "price_approved_at_catalogue"]
    assert "8" in entry["reason"] and "-> 30" in entry["reason"]


def test_price_conflict_approved_at_the_quoted_price_keeps_it(client: TestClient) -> None:
    order = place(client, 3, price=8)
    answer = approve(client, open_exception(client, order["id"])["id"], price="quoted")
    assert answer.status_code == 200, answer.text
    got = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    assert got["status"] == "allocated" and got["total"] == 24
    assert got["lines"][0]["unit_price"] == 8
    assert "price_approved_as_quoted" in [e["reason_code"] for e in got["timeline"]]


def test_catalogue_price_that_breaks_the_credit_limit_holds_for_credit(client: TestClient) -> None:
    order = place(client, 9, price=5)  # 45 quoted; 90 at catalogue, within 100
    approve(client, open_exception(client, order["id"])["id"], price="catalogue")
    assert client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()["total"] == 90
    second = place(client, 2, price=5)  # 10 quoted, 20 at catalogue: 90 + 20 > 100
    approve(client, open_exception(client, second["id"])["id"], price="catalogue")
    got = client.get(f"/v1/orders/{second['id']}", headers=ADMIN).json()
    assert got["status"] == "on_hold" and got["total"] == 20
    assert open_exception(client, second["id"])["kind"] == "credit_limit_exceeded"
