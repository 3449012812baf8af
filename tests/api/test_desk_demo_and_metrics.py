"""Issue 12, items 7 and 8, over HTTP on both backends: a restart with demo data keeps the user's edits;
``/metrics`` names, helps and labels what it counts, and says how many orders are in each status now."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.demo import load_demo_data
from api.settings import Settings

from .factories import ADMIN, put_master_data

MAIN_LINE = ("placed", "credit_review", "stock_locked", "allocated", "picking", "loaded", "in_transit", "delivered")
STATUSES: tuple[str, ...] = (*MAIN_LINE, "on_hold", "cancelled")


def _items(listed: object) -> list[dict[str, object]]:
    """A list answer's items, whether it is a bare list or the ``{"items", "next_cursor"}`` envelope."""
    return listed["items"] if isinstance(listed, dict) else listed  # type: ignore[return-value]


def _serve_with_demo(database_url: str) -> TestClient:
    """The app as ``dispatch serve`` starts it: the demo loader runs once the container is up."""
    settings = Settings(database_url=database_url, admin_token="test-admin", log_json=False, jobs_interval_s=0)
    return TestClient(create_app(settings, on_started=[load_demo_data], demo=True))


def test_a_restart_with_demo_data_keeps_the_users_edits(database_url: str) -> None:
    with _serve_with_demo(database_url) as first:
        carrier = first.get("/v1/carriers/CAR-001", headers=ADMIN).json()
        assert carrier["webhook_url"] is None  # the demo's carriers have none
        body = {key: carrier[key] for key in ("name", "vehicle_type", "capacity_kg", "capacity_m3", "coverage")}
        hooked = first.put(
            "/v1/carriers/CAR-001", json={**body, "webhook_url": "https://carrier.example/hook"}, headers=ADMIN
        )
        assert hooked.status_code == 200, hooked.text
        customer = first.put("/v1/customers/CUST-001", json={"name": "Renamed", "credit_limit": 1234.5}, headers=ADMIN)
        assert customer.status_code == 200, customer.text
        assert (
            first.put("/v1/warehouses/WH-YUHANG/stock/SKU-0007", json={"on_hand": 7}, headers=ADMIN).status_code == 200
        )
        sku = first.get("/v1/skus/SKU-0003", headers=ADMIN).json()
        repriced = first.put("/v1/skus/SKU-0003", json={**sku, "unit_price": 1.25}, headers=ADMIN)
        assert repriced.status_code == 200, repriced.text

    with _serve_with_demo(database_url) as second:  # the next start: demo data again, on the same database
        carrier = second.get("/v1/carriers/CAR-001", headers=ADMIN).json()
        assert carrier["webhook_url"] == "https://carrier.example/hook"
        assert carrier["webhook_secret_set"] is True
        customer = second.get("/v1/customers/CUST-001", headers=ADMIN).json()
        assert (customer["name"], customer["credit_limit"], customer["location"]) == ("Renamed", 1234.5, None)
        assert second.get("/v1/warehouses/WH-YUHANG/stock/SKU-0007", headers=ADMIN).json()["on_hand"] == 7
        assert second.get("/v1/skus/SKU-0003", headers=ADMIN).json()["unit_price"] == 1.25
        assert len(_items(second.get("/v1/warehouses", headers=ADMIN).json())) == 3  # nothing loaded twice either


def test_the_demo_loads_into_an_empty_database_only(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    put_master_data(client, warehouses={"MINE": {"name": "Mine", "location": {"lat": 30.0, "lng": 120.0}}})
    summary = load_demo_data(client.app.state.container)  # type: ignore[attr-defined]
    assert summary.counts == {} and "1 warehouses" in str(summary)
    assert [w["id"] for w in _items(client.get("/v1/warehouses", headers=ADMIN).json())] == ["MINE"]


@pytest.fixture
def two_processes(make_client: Callable[..., TestClient]) -> Iterator[tuple[TestClient, TestClient]]:
    """Two API instances on one database, as two worker processes behind one load balancer."""
    first = make_client()
    put_master_data(
        first,
        warehouses={"W1": {"name": "W1", "location": {"lat": 30.0, "lng": 120.0}}},
        skus={"S1": {"name": "S1", "unit_price": 2, "weight_kg": 1, "volume_m3": 0.001}},
        customers={"C1": {"name": "C1", "credit_limit": 100000}},
        stock={("W1", "S1"): 5},
    )
    yield first, make_client()


def _order(client: TestClient, key: str, qty: int) -> dict[str, object]:
    body = {
        "customer_id": "C1",
        "lines": [{"sku": "S1", "qty": qty, "unit_price": 2}],
        "delivery": {"lat": 30.01, "lng": 120.01, "address": "x"},
    }
    answer = client.post("/v1/orders", json=body, headers={**ADMIN, "Idempotency-Key": key})
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _samples(metrics: str, name: str) -> dict[str, float]:
    """``{labels: value}`` of one metric in an exposition text."""
    return {
        labels: float(value)
        for labels, value in re.findall(rf"^{name}\{{([^}}]*)\}} (\S+)$", metrics, flags=re.MULTILINE)
    }


def _help(metrics: str, name: str) -> str:
    found = re.search(rf"^# HELP {name} (.*)$", metrics, flags=re.MULTILINE)
    assert found, name
    return found.group(1)


def test_metrics_say_what_they_count(two_processes: tuple[TestClient, TestClient]) -> None:
    first, second = two_processes
    kept = _order(first, "m-1", 2)
    cancelled = _order(first, "m-2", 1)
    short = _order(first, "m-3", 50)  # more than the stock: held, nothing reserved
    assert (kept["status"], cancelled["status"], short["status"]) == ("allocated", "allocated", "on_hold")
    assert first.post(f"/v1/orders/{cancelled['id']}/cancel", headers=ADMIN).status_code == 200

    # The gauge: orders in each status now, every status listed, the same from the other process.
    metrics = second.get("/metrics").text
    assert "# TYPE dispatch_orders gauge" in metrics
    now = _samples(metrics, "dispatch_orders")
    assert now == {f'status="{s}"': {"allocated": 1.0, "cancelled": 1.0, "on_hold": 1.0}.get(s, 0.0) for s in STATUSES}
    assert "current" in _help(metrics, "dispatch_orders").lower() or "currently" in _help(metrics, "dispatch_orders")

    # The counter: transitions, labelled by the status left and the status entered.
    metrics = first.get("/metrics").text
    transitions = _samples(metrics, "dispatch_order_transitions_total")
    assert all(labels.startswith('from_status="') and ',to_status="' in labels for labels in transitions)
    assert transitions['from_status="allocated",to_status="cancelled"'] >= 1.0
    assert transitions['from_status="none",to_status="placed"'] >= 3.0
    assert "transition" in _help(metrics, "dispatch_order_transitions_total").lower()

    # Stock-lock outcomes: the help names exactly the outcomes the service emits.
    outcomes = {labels.split('"')[1] for labels in _samples(metrics, "dispatch_stock_lock_outcomes_total")}
    named = set(re.findall(r"(\w+) \(", _help(metrics, "dispatch_stock_lock_outcomes_total")))
    assert {"reserved", "released"} <= outcomes  # insufficient: only when a race is lost at the lock itself
    assert outcomes <= named == {"reserved", "insufficient", "released"}
