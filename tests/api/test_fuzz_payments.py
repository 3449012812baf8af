"""Fuzz findings on POST /v1/payments/notify: malformed signature headers are a 401, never a 500, and a
non-finite timestamp cannot slip past the replay window."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from orders_core.orders.payments import sign_payment

from .factories import ADMIN, put_master_data

SECRET = "fuzz-payment-secret"


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client(payment_secret=SECRET, payment_window_s=60)
    put_master_data(
        test_client,
        warehouses={"W1": {"name": "W1", "location": {"lat": 1.0, "lng": 1.0}}},
        skus={"S1": {"name": "x", "unit_price": 5, "weight_kg": 1, "volume_m3": 1}},
        customers={"P1": {"name": "P", "credit_limit": 1000, "prepaid": True}},
        stock={("W1", "S1"): 10},
    )
    return test_client


def _order(client: TestClient) -> dict[str, object]:
    body = {"customer_id": "P1", "lines": [{"sku": "S1", "qty": 2, "unit_price": 5}], "delivery": {"lat": 1, "lng": 1}}
    answer = client.post("/v1/orders", json=body, headers=ADMIN)
    assert answer.status_code in (200, 201), answer.text
    order: dict[str, object] = answer.json()
    return order


def _post(client: TestClient, raw: bytes, timestamp: bytes, signature: bytes) -> tuple[int, dict[str, object]]:
    headers = {"X-Timestamp": timestamp, "X-Signature": signature, "Content-Type": b"application/json"}
    answer = client.post("/v1/payments/notify", content=raw, headers=headers)  # type: ignore[arg-type]
    return answer.status_code, answer.json()


@pytest.mark.parametrize(
    "signature",
    [
        "é".encode("latin-1"),
        "0" * 63 + "é".encode("latin-1").decode("latin-1"),
        b"v1,abc",
        b"z" * 64,
        b"0" * 65,
    ],
    ids=["non-ascii", "non-ascii-64", "wrong-scheme", "non-hex", "too-long"],
)
def test_malformed_signature_is_401_not_500(client: TestClient, signature: bytes | str) -> None:
    order = _order(client)
    raw = json.dumps({"transaction_id": "tx", "order_id": order["id"], "status": "paid", "amount": 10}).encode()
    sig = signature if isinstance(signature, bytes) else signature.encode("latin-1")
    status, answer = _post(client, raw, str(int(time.time())).encode(), sig)
    assert status == 401, answer
    assert answer["error"]["code"] == "invalid_signature"  # type: ignore[index]
    after = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    assert after["payment_status"] == "pending"


@pytest.mark.parametrize("timestamp", ["nan", "NaN", "inf", "-inf", "1e400", "é"])
def test_non_finite_timestamp_is_refused_even_when_signed(client: TestClient, timestamp: str) -> None:
    """A correctly signed notification with timestamp "nan" used to pass every window check (a replay
    hole); now it is 401 stale_timestamp and the order's payment status does not change."""
    order = _order(client)
    raw = json.dumps({"transaction_id": "tx-nan", "order_id": order["id"], "status": "paid", "amount": 10}).encode()
    signature = sign_payment(SECRET, timestamp, raw).encode()
    status, answer = _post(client, raw, timestamp.encode("latin-1"), signature)
    assert status == 401, answer
    assert answer["error"]["code"] == "stale_timestamp"  # type: ignore[index]
    after = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    assert after["payment_status"] == "pending"
    assert all(entry.get("reason_code") != "payment_paid" for entry in after["timeline"])


def test_a_well_formed_notification_still_works_and_replays_change_nothing(client: TestClient) -> None:
    order = _order(client)
    raw = json.dumps({"transaction_id": "tx-ok", "order_id": order["id"], "status": "paid", "amount": 10}).encode()
    ts = str(int(time.time()))
    signature = sign_payment(SECRET, ts, raw).upper().encode()  # hex case does not matter
    status, answer = _post(client, raw, ts.encode(), signature)
    assert status == 200 and answer["duplicate"] is False, answer
    before = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    status, answer = _post(client, raw, ts.encode(), signature)
    assert status == 200 and answer["duplicate"] is True
    after = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    assert after["timeline"] == before["timeline"] and after["payment_status"] == "paid"
