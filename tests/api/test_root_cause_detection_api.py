"""Detection the root-cause taxonomy needs (issue 10, item 4), over HTTP on SQLite and PostGIS: the address
check at intake (outside every active carrier's coverage, far from the customer's registered location), the
root cause stored on each exception and refined for stock shortages, and the order API's root-cause fields."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN, put_master_data

#: A square around Shanghai's centre (lng-lat), the only delivery area of carrier K1.
SHANGHAI = {
    "type": "Polygon",
    "coordinates": [[[121.3, 31.1], [121.7, 31.1], [121.7, 31.4], [121.3, 31.4], [121.3, 31.1]]],
}
INSIDE = {"lat": 31.23, "lng": 121.47, "address": "人民广场"}
HANGZHOU = {"lat": 30.27, "lng": 120.15, "address": "西湖区"}  # ~165 km away, outside the square


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client()
    put_master_data(
        test_client,
        warehouses={"W1": {"name": "Shanghai", "location": {"lat": 31.2, "lng": 121.45}}},
        skus={"S1": {"name": "S1", "unit_price": "2.00", "weight_kg": 1, "volume_m3": 0.01}},
        customers={
            "C1": {"name": "C1", "credit_limit": 100000, "location": {"lat": 31.22, "lng": 121.46}},
            "C2": {"name": "C2", "credit_limit": 100000},
        },
        stock={("W1", "S1"): 10},
    )
    return test_client


def _put_carrier(client: TestClient, carrier_id: str, coverage: dict[str, Any] | None, active: bool = True) -> None:
    body = {
        "name": carrier_id,
        "vehicle_type": "van",
        "capacity_kg": 500,
        "capacity_m3": 5,
        "coverage": coverage,
        "active": active,
    }
    answer = client.put(f"/v1/carriers/{carrier_id}", json=body, headers=ADMIN)
    assert answer.status_code in (200, 201), answer.text


def _place(client: TestClient, customer: str, delivery: dict[str, Any], qty: int = 1) -> dict[str, Any]:
    body = {"customer_id": customer, "lines": [{"sku": "S1", "qty": qty}], "delivery": delivery}
    answer = client.post("/v1/orders", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _kinds(order: dict[str, Any]) -> list[str]:
    return [e["kind"] for e in order["exceptions"]]


def test_a_point_outside_every_active_carriers_coverage_raises_an_address_exception(client: TestClient) -> None:
    _put_carrier(client, "K1", SHANGHAI)
    _put_carrier(client, "K2", None, active=False)  # inactive: its unlimited area does not count
    inside = _place(client, "C2", INSIDE)
    assert _kinds(inside) == []
    outside = _place(client, "C2", HANGZHOU)
    (exception,) = outside["exceptions"]
    assert exception["kind"] == "address_outside_coverage"
    assert exception["root_cause_code"] == "address"
    assert exception["status"] == "open" and exception["details"]["active_carriers"] == 1
    assert outside["status"] == "allocated", "the check does not hold the order"
    stored = client.get(f"/v1/orders/{outside['id']}", headers=ADMIN).json()
    assert _kinds(stored) == ["address_outside_coverage"]


def test_a_carrier_without_coverage_or_no_carrier_at_all_raises_nothing(client: TestClient) -> None:
    assert _kinds(_place(client, "C2", HANGZHOU)) == [], "no active carrier: nothing to be outside of"
    _put_carrier(client, "K1", SHANGHAI)
    _put_carrier(client, "K2", None)  # delivers anywhere
    assert _kinds(_place(client, "C2", HANGZHOU)) == []


def test_a_carrier_change_is_seen_by_the_next_order(client: TestClient) -> None:
    _put_carrier(client, "K1", None)
    assert _kinds(_place(client, "C2", HANGZHOU)) == []
    _put_carrier(client, "K1", SHANGHAI)  # the cached fleet coverage is dropped by the upsert
    assert _kinds(_place(client, "C2", HANGZHOU)) == ["address_outside_coverage"]


def test_a_point_far_from_the_customers_registered_location_raises_an_address_exception(client: TestClient) -> None:
    assert _kinds(_place(client, "C1", INSIDE)) == []
    far = _place(client, "C1", HANGZHOU)
    (exception,) = far["exceptions"]
    assert exception["kind"] == "address_far_from_customer"
    assert exception["root_cause_code"] == "address"
    assert exception["details"]["distance_m"] > 150_000
    assert _kinds(_place(client, "C2", HANGZHOU)) == [], "C2 has no registered location"


def test_rejecting_an_address_exception_cancels_the_order(client: TestClient) -> None:
    _put_carrier(client, "K1", SHANGHAI)
    order = _place(client, "C2", HANGZHOU)
    rejected = client.post(f"/v1/exceptions/{order['exceptions'][0]['id']}/reject", json={}, headers=ADMIN)
    assert rejected.status_code == 200, rejected.text
    assert client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()["status"] == "cancelled"


@pytest.mark.parametrize(
    ("strategy", "root_cause"),
    [("wait_for_stock", "supplier_lead_time"), ("ship_available", "stock_shortage"), (None, "stock_shortage")],
)
def test_a_shortage_counts_as_supplier_lead_time_while_the_order_waits_for_supply(
    client: TestClient, strategy: str | None, root_cause: str
) -> None:
    order = _place(client, "C2", INSIDE, qty=15)
    (exception,) = order["exceptions"]
    assert exception["kind"] == "stock_shortage"
    assert exception["root_cause_code"] == "supplier_lead_time", "5 units are missing across the network"
    if strategy is None:
        answer = client.post(f"/v1/exceptions/{exception['id']}/reject", json={}, headers=ADMIN)
    else:
        answer = client.post(f"/v1/exceptions/{exception['id']}/approve", json={"strategy": strategy}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert answer.json()["root_cause_code"] == root_cause


def test_an_order_closed_when_stock_arrived_counts_as_supplier_lead_time(client: TestClient) -> None:
    order = _place(client, "C2", INSIDE, qty=15)
    raised = client.put("/v1/warehouses/W1/stock/S1", json={"on_hand": 20}, headers=ADMIN)
    assert raised.json()["allocated_orders"] == [order["id"]]
    (exception,) = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()["exceptions"]
    assert exception["status"] == "closed" and exception["root_cause_code"] == "supplier_lead_time"


def test_the_pareto_counts_what_the_pipeline_raised(client: TestClient) -> None:
    _put_carrier(client, "K1", SHANGHAI)
    _place(client, "C2", HANGZHOU)
    _place(client, "C1", HANGZHOU)  # far from C1 and outside: two address exceptions
    _place(client, "C2", INSIDE, qty=15)
    period = {"from": "2000-01-01T00:00:00Z", "to": "2000-12-31T00:00:00Z"}
    assert client.get("/v1/analytics/root-causes", params=period, headers=ADMIN).json()["bars"] == []
    now = datetime.now(UTC)
    period = {"from": (now - timedelta(hours=1)).isoformat(), "to": (now + timedelta(hours=1)).isoformat()}
    bars = client.get("/v1/analytics/root-causes", params=period, headers=ADMIN).json()["bars"]
    assert [(b["key"], b["exceptions"], b["orders"]) for b in bars] == [
        ("address", 3, 2),
        ("supplier_lead_time", 1, 1),
    ]


def test_a_late_node_carries_the_root_cause_its_exception_stored(make_client: Callable[..., TestClient]) -> None:
    # Every check step is due at placement: a held order is late at once, explained by its exception.
    test_client = make_client(delivery={"to_credit_review_s": 0, "to_stock_locked_s": 0, "to_allocated_s": 0})
    put_master_data(
        test_client,
        warehouses={"W1": {"name": "Shanghai", "location": {"lat": 31.2, "lng": 121.45}}},
        skus={"S1": {"name": "S1", "unit_price": "2.00", "weight_kg": 1, "volume_m3": 0.01}},
        customers={"C2": {"name": "C2", "credit_limit": 100000}},
        stock={("W1", "S1"): 10},
    )
    order = _place(test_client, "C2", INSIDE, qty=15)
    (exception,) = order["exceptions"]
    assert (exception["delay_reason_code"], exception["root_cause_code"]) == (
        "supplier_lead_time",
        "supplier_lead_time",
    )
    nodes = {n["status"]: n for n in test_client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()["progress"]}
    locked = nodes["stock_locked"]
    assert locked["late"] and locked["delay_reason_code"] == "supplier_lead_time"
    assert locked["root_cause_code"] == "supplier_lead_time"
    assert nodes["placed"]["root_cause_code"] is None
