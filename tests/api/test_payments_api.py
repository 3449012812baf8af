"""Payment notifications over HTTP on both backends: signature, freshness, replay, duplicates, amounts."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from orders_core.orders.payments import sign_payment

from .factories import ADMIN, put_master_data

SECRET = "test-payment-secret"


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client(payment_secret=SECRET, payment_window_s=60)
    put_master_data(
        test_client,
        warehouses={"W1": {"name": "W1", "location": {"lat": 1.0, "lng": 1.0}}},
        skus={"S1": {"name": "x", "unit_price": "12.50", "weight_kg": 1, "volume_m3": 1}},
        customers={"P1": {"name": "Pre", "credit_limit": 1000, "prepaid": True}},
        stock={("W1", "S1"): 10},
    )
    return test_client


def prepaid_order(client: TestClient) -> dict[str, object]:
    body = {
        "customer_id": "P1",
        "lines": [{"sku": "S1", "qty": 2, "unit_price": 12.5}],
        "delivery": {"lat": 1, "lng": 1},
    }
    order: dict[str, object] = client.post("/v1/orders", json=body, headers=ADMIN).json()
    assert order["payment_status"] == "pending"
    assert order["timeline"][0]["expected_next_at"] is not None  # type: ignore[index]  # payment due
    return order


def notify(
    client: TestClient, body: dict[str, object], *, secret: str = SECRET, timestamp: float | None = None
) -> tuple[int, dict[str, object]]:
    raw = json.dumps(body).encode()
    ts = str(int(time.time() if timestamp is None else timestamp))
    headers = {"X-Timestamp": ts, "X-Signature": sign_payment(secret, ts, raw), "Content-Type": "application/json"}
    answer = client.post("/v1/payments/notify", content=raw, headers=headers)
    return answer.status_code, answer.json()


def test_paid_notification_updates_payment_status_once(client: TestClient) -> None:
    order = prepaid_order(client)
    body = {"transaction_id": "tx-1", "order_id": order["id"], "status": "paid", "amount": 25.0}
    status, answer = notify(client, body)
    assert status == 200, answer
    assert answer == {"order_id": order["id"], "payment_status": "paid", "duplicate": False}
    got = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    assert got["payment_status"] == "paid"
    assert got["status"] == "allocated"
    assert got["timeline"][-1]["reason_code"] == "payment_paid"
    status, answer = notify(client, {**body, "status": "refunded"})
    assert status == 200 and answer["duplicate"] is True
    again = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    assert again["payment_status"] == "paid"
    assert len(again["timeline"]) == len(got["timeline"])


def test_bad_signature_missing_headers_and_stale_timestamp_are_401(client: TestClient) -> None:
    order = prepaid_order(client)
    body = {"transaction_id": "tx-2", "order_id": order["id"], "status": "paid", "amount": 25}
    status, answer = notify(client, body, secret="wrong")
    assert status == 401 and answer["error"]["code"] == "invalid_signature"  # type: ignore[index]
    raw = json.dumps(body).encode()
    answer2 = client.post("/v1/payments/notify", content=raw)
    assert answer2.status_code == 401 and answer2.json()["error"]["code"] == "invalid_signature"
    status, answer = notify(client, body, timestamp=time.time() - 3600)
    assert status == 401 and answer["error"]["code"] == "stale_timestamp"  # type: ignore[index]
    # A signed body tampered with afterwards fails too.
    ts = str(int(time.time()))
    tampered = client.post(
        "/v1/payments/notify",
        content=json.dumps({**body, "amount": 1}).encode(),
        headers={"X-Timestamp": ts, "X-Signature": sign_payment(SECRET, ts, raw)},
    )
    assert tampered.status_code == 401
    assert client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()["payment_status"] == "pending"


def test_unknown_order_is_404_and_amount_mismatch_is_422(client: TestClient) -> None:
    order = prepaid_order(client)
    status, _ = notify(client, {"transaction_id": "tx-3", "order_id": "ord_nope", "status": "paid", "amount": 25})
    assert status == 404
    status, answer = notify(client, {"transaction_id": "tx-4", "order_id": order["id"], "status": "paid", "amount": 24})
    assert status == 422 and answer["error"]["code"] == "amount_mismatch"  # type: ignore[index]
    status, _ = notify(client, {"transaction_id": "tx-5", "order_id": order["id"], "status": "maybe", "amount": 25})
    assert status == 422
    assert client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()["payment_status"] == "pending"
    # The refused transaction ids were not consumed.
    status, answer = notify(client, {"transaction_id": "tx-4", "order_id": order["id"], "status": "paid", "amount": 25})
    assert status == 200 and answer["duplicate"] is False


def test_concurrent_duplicate_notifications_answer_the_first_result_never_500(
    make_client: Callable[..., TestClient],
) -> None:
    """Eight deliveries of one transaction id at once: exactly one is applied, the others answer
    ``duplicate`` (the loser of the primary-key race reads the stored row instead of failing)."""
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    test_client = make_client(payment_secret=SECRET, payment_window_s=60, raise_server_exceptions=False)
    put_master_data(
        test_client,
        warehouses={"W1": {"name": "W1", "location": {"lat": 1.0, "lng": 1.0}}},
        skus={"S1": {"name": "x", "unit_price": "12.50", "weight_kg": 1, "volume_m3": 1}},
        customers={"P1": {"name": "Pre", "credit_limit": 1000, "prepaid": True}},
        stock={("W1", "S1"): 10},
    )
    for round_no in range(3):
        order = prepaid_order(test_client)
        body = {"transaction_id": f"tx-race-{round_no}", "order_id": order["id"], "status": "paid", "amount": 25}
        start = Barrier(8)

        def fire(_: int, body: dict[str, object] = body, start: Barrier = start) -> tuple[int, dict[str, object]]:
            start.wait()
            return notify(test_client, body)

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(fire, range(8)))
        assert [status for status, _ in answers] == [200] * 8, answers
        assert [answer["duplicate"] for _, answer in answers].count(False) == 1
        assert {answer["payment_status"] for _, answer in answers} == {"paid"}
        got = test_client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
        assert [e["reason_code"] for e in got["timeline"]].count("payment_paid") == 1
