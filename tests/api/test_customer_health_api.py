"""Customer health score over HTTP on SQLite and PostGIS: orders, payments, exceptions and deliveries are
seeded through the API (then aged by moving their timestamps back), recomputed on demand, and the breakdown
is checked against figures worked out by hand from the documented tier tables."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import text

from infra.db import make_engine
from orders_core.orders.payments import sign_payment

from .factories import ADMIN, PAYMENT_SECRET, make_token, put_master_data


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client(jobs_interval_s=0)  # no prepaid-timeout job cancels the aged orders
    put_master_data(
        test_client,
        warehouses={"W1": {"name": "W1", "location": {"lat": 30.2, "lng": 120.2}}},
        skus={"S1": {"name": "Rice", "unit_price": "10.00", "weight_kg": 1, "volume_m3": 0.001}},
        customers={
            "GOOD": {"name": "Good", "credit_limit": "100000", "location": {"lat": 30.2, "lng": 120.2}},
            "LATE": {"name": "Late", "credit_limit": "1000", "prepaid": True, "location": {"lat": 30.2, "lng": 120.2}},
            "NEW": {"name": "New", "credit_limit": "500"},
        },
        stock={("W1", "S1"): 1000},
    )
    return test_client


def place(client: TestClient, customer: str, qty: int, price: str = "10.00") -> dict[str, Any]:
    body = {
        "customer_id": customer,
        "lines": [{"sku": "S1", "qty": qty, "unit_price": price}],
        "delivery": {"lat": 30.2, "lng": 120.2, "address": "1 Test Road"},
    }
    answer = client.post("/v1/orders", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()
    return order


def pay(client: TestClient, order: dict[str, Any]) -> None:
    raw = json.dumps(
        {"transaction_id": f"tx-{order['id']}", "order_id": order["id"], "status": "paid", "amount": order["total"]}
    ).encode()
    ts = str(int(time.time()))
    headers = {"X-Timestamp": ts, "X-Signature": sign_payment(PAYMENT_SECRET, ts, raw)}
    answer = client.post("/v1/payments/notify", content=raw, headers={**headers, "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text


def age(database_url: str, order_id: str, days: float) -> None:
    """Move an order's placement (and its timeline) back in time: a seeded history."""
    engine = make_engine(database_url)
    at = _stored(engine.dialect.name, datetime.now(UTC) - timedelta(days=days))
    with engine.begin() as connection:
        connection.execute(text("UPDATE orders SET created_at = :at WHERE id = :id"), {"at": at, "id": order_id})
        connection.execute(text("UPDATE order_timeline SET at = :at WHERE order_id = :id"), {"at": at, "id": order_id})
    engine.dispose()


def set_shipment_status(database_url: str, order_id: str, status: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE shipments SET status = :s WHERE order_id = :id"), {"s": status, "id": order_id})
    engine.dispose()


def _stored(dialect: str, moment: datetime) -> Any:
    return moment.replace(tzinfo=None).isoformat(sep=" ") if dialect == "sqlite" else moment


def lines(breakdown: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {line["indicator"]: line for line in breakdown["indicators"]}


def test_recompute_on_demand_scores_seeded_history_by_the_tier_tables(client: TestClient, database_url: str) -> None:
    # GOOD: 6 one-unit orders 35..100 days ago (baseline), 4 recent ones, one of them quoted 20 % over the
    # catalogue (a price_conflict exception, held); then 7 of the 8 shipments in the 90-day window delivered,
    # 1 failed.
    baseline_days = [35, 45, 60, 75, 89, 100]
    for days in baseline_days:
        age(database_url, place(client, "GOOD", 1)["id"], days)
    recent = [place(client, "GOOD", 2) for _ in range(3)]
    conflict = place(client, "GOOD", 2, price="12.00")
    assert conflict["status"] == "on_hold"
    for order, days in zip([*recent, conflict], [1, 5, 10, 20], strict=True):
        age(database_url, order["id"], days)
    outcomes = ["delivered"] * 7 + ["failed"]
    # The order aged 100 days is outside the 90-day window: it gets no outcome.
    engine = make_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id FROM orders WHERE customer_id = 'GOOD' AND status = 'allocated' ORDER BY created_at DESC")
        ).all()
    engine.dispose()
    newest_first = [r[0] for r in rows]
    assert len(newest_first) == 9  # 10 orders, the price conflict is held
    for order_id, status in zip(newest_first[:8], outcomes, strict=True):
        set_shipment_status(database_url, order_id, status)

    answer = client.post("/v1/customers/GOOD/health/recompute", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    good = answer.json()
    by = lines(good)
    # frequency 4 recent / (6 / 3) = 2.0 -> 100; value 3*20 + 24 = 84 / (60 / 3) = 4.2 -> 100
    assert by["order_frequency_trend"]["raw_value"] == pytest.approx(2.0)
    assert by["order_value_trend"]["raw_value"] == pytest.approx(4.2)
    assert by["payment_punctuality"]["raw_value"] is None  # invoiced: no gateway payment, nothing overdue
    # exposure 84 + 60 over a 100,000 limit -> 100
    assert by["credit_utilisation"]["raw_value"] == pytest.approx(144 / 100000)
    # 1 of the 9 orders in 90 days has a customer-side exception: 0.111 -> 30
    assert by["exception_rate"]["raw_value"] == pytest.approx(1 / 9, abs=1e-4)
    assert by["exception_rate"]["tier_score"] == 30
    # 1 failed of 8 shipments with an outcome: 0.125 -> 30
    assert by["failed_delivery_rate"]["raw_value"] == pytest.approx(0.125)
    assert by["failed_delivery_rate"]["tier_score"] == 30
    assert by["recency"]["raw_value"] == pytest.approx(1.0, abs=0.01)
    # weights with data 15+15+15+10+10+15 = 80: (100*15 + 100*15 + 100*15 + 30*10 + 30*10 + 100*15) / 80
    assert good["score"] == 82.5
    assert by["payment_punctuality"]["effective_weight"] == 0
    assert by["recency"]["effective_weight"] == pytest.approx(15 * 100 / 80)
    assert sum(line["contribution"] for line in good["indicators"]) == pytest.approx(82.5, abs=0.01)
    assert good["trend"] == "new" and good["trigger"] == "on_demand"

    # LATE (prepaid): two orders paid 50 days after they were placed: 20 days beyond 30-day terms.
    for _ in range(2):
        order = place(client, "LATE", 2)
        pay(client, order)
        age(database_url, order["id"], 50)
    late = client.post("/v1/customers/LATE/health/recompute", headers=ADMIN).json()
    by = lines(late)
    # DBT 20 -> PAYDEX 70 - 10 * 5/7 = 62.9 -> 60
    assert by["payment_punctuality"]["raw_value"] == pytest.approx(62.9, abs=0.05)
    assert by["payment_punctuality"]["tier_score"] == 60
    assert by["payment_punctuality"]["details"]["days_beyond_terms"] == pytest.approx(20, abs=0.01)
    assert by["order_frequency_trend"]["tier_score"] == 0  # nothing in 28 days, 2 before
    assert by["recency"]["tier_score"] == 30  # 50 days
    # (0*15 + 0*15 + 60*20 + 100*15 + 100*10 + 30*15) / 90 (no delivery outcome yet)
    assert late["score"] == pytest.approx(round(4150 / 90, 1))

    # NEW never ordered: only credit utilisation (0 of 500) has data -> 100.
    new = client.post("/v1/customers/NEW/health/recompute", headers=ADMIN).json()
    assert new["score"] == 100
    assert [line["indicator"] for line in new["indicators"] if line["tier_score"] is not None] == ["credit_utilisation"]

    # The list, best first and worst first, paginated.
    best = client.get("/v1/customers/health?order=desc&limit=2", headers=ADMIN).json()
    assert [item["customer_id"] for item in best["items"]] == ["NEW", "GOOD"]
    rest = client.get(f"/v1/customers/health?order=desc&limit=2&cursor={best['next_cursor']}", headers=ADMIN).json()
    assert [item["customer_id"] for item in rest["items"]] == ["LATE"] and rest["next_cursor"] is None
    worst = client.get("/v1/customers/health?order=asc", headers=ADMIN).json()
    assert [item["customer_id"] for item in worst["items"]] == ["LATE", "GOOD", "NEW"]
    above = client.get("/v1/customers/health?min_score=80", headers=ADMIN).json()
    assert {item["customer_id"] for item in above["items"]} == {"GOOD", "NEW"}

    # A second computation compares with the first: same data, flat trends; GET shows the latest.
    again = client.post("/v1/customers/GOOD/health/recompute", headers=ADMIN).json()
    assert again["previous_score"] == 82.5 and again["trend"] == "flat"
    assert {line["trend"] for line in again["indicators"] if line["tier_score"] is not None} == {"flat"}
    shown = client.get("/v1/customers/GOOD/health", headers=ADMIN).json()
    assert shown["score"] == 82.5 and len(shown["history"]) == 2
    print("\n" + json.dumps({k: shown[k] for k in ("customer_id", "score", "trend", "indicators")}, default=str))


def test_health_errors_and_roles(client: TestClient) -> None:
    assert client.get("/v1/customers/NEW/health", headers=ADMIN).json()["error"]["code"] == "health_not_computed"
    assert client.post("/v1/customers/NOPE/health/recompute", headers=ADMIN).status_code == 404
    assert client.get("/v1/customers/NOPE/health", headers=ADMIN).json()["error"]["code"] == "customer_not_found"
    dispatcher = make_token(client, "dispatcher")
    assert client.post("/v1/customers/NEW/health/recompute", headers=dispatcher).status_code == 200
    assert client.get("/v1/customers/NEW/health", headers=dispatcher).status_code == 200
    assert client.get("/v1/customers/health", headers=dispatcher).status_code == 200
    for role, subject in (("warehouse", "W1"), ("carrier", "CAR-X"), ("customer", "NEW")):
        headers = make_token(client, role, subject)
        assert client.get("/v1/customers/NEW/health", headers=headers).status_code == 403
        assert client.get("/v1/customers/health", headers=headers).status_code == 403
        refused = client.post("/v1/customers/NEW/health/recompute", headers=headers)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert client.get("/v1/customers/health", headers={"Authorization": "Bearer nope"}).status_code == 401
    # The customer GET of master data still answers at its own path.
    assert client.get("/v1/customers/NEW", headers=ADMIN).json()["id"] == "NEW"


def test_scheduled_job_scores_every_customer(client: TestClient) -> None:
    container = client.app.state.container  # type: ignore[attr-defined]
    sample = {"trigger": "schedule"}
    before = REGISTRY.get_sample_value("dispatch_health_scores_computed_total", sample) or 0.0
    assert container.recompute_health() == {"customers": 3}
    assert REGISTRY.get_sample_value("dispatch_health_scores_computed_total", sample) == before + 3
    listed = client.get("/v1/customers/health", headers=ADMIN).json()["items"]
    assert {item["customer_id"] for item in listed} == {"GOOD", "LATE", "NEW"}
    assert client.get("/v1/customers/GOOD/health", headers=ADMIN).json()["trigger"] == "schedule"
