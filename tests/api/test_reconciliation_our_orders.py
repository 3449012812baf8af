"""Our side of a reconciliation read from the database (SQLite and PostGIS): one record per order of the period,
with its lines, units, value and shipping warehouse; and stored runs with their differences."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from infra.pagination import PageRequest
from orders_core.integration.our_orders import order_records, order_summaries
from orders_core.integration.reconcile import reconcile
from orders_core.integration.reconcile_rules import FieldKind, FieldRule, ReconcileSpec
from orders_core.integration.reconciliation_runs import (
    ReconciliationKeyReused,
    RunRequest,
    difference_counts,
    difference_page,
    get_run,
    record_run,
    replay_run,
    run_page,
)

from .factories import ADMIN, put_master_data


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client()
    put_master_data(
        test_client,
        warehouses={
            "W1": {"name": "East", "location": {"lat": 30.25, "lng": 120.2}},
            "W2": {"name": "West", "location": {"lat": 30.30, "lng": 120.0}},
        },
        skus={
            "S1": {"name": "Tea", "unit_price": "12.50", "weight_kg": 1, "volume_m3": 0.001},
            "S2": {"name": "Rice", "unit_price": "30", "weight_kg": 5, "volume_m3": 0.01},
        },
        customers={"C1": {"name": "Shop", "credit_limit": 1_000_000}},
        stock={("W1", "S1"): 100, ("W1", "S2"): 2, ("W2", "S2"): 100},
    )
    return test_client


def _place(client: TestClient, lines: list[dict[str, Any]], **delivery: Any) -> dict[str, Any]:
    body = {
        "customer_id": "C1",
        "lines": lines,
        "delivery": {"lat": 30.26, "lng": 120.19, "address": "1 West Lake Rd", **delivery},
    }
    answer = client.post("/v1/orders", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_each_order_of_the_period_is_one_record_with_its_aggregates(client: TestClient) -> None:
    start = datetime.now(UTC) - timedelta(minutes=1)
    one = _place(client, [{"sku": "S1", "qty": 3, "unit_price": "12.50"}])
    # 5 of S2: W1 holds only 2, so this order ships from W2 (or both): its warehouses are what its shipments say.
    two = _place(client, [{"sku": "S1", "qty": 1, "unit_price": "12.50"}, {"sku": "S2", "qty": 5, "unit_price": "30"}])
    end = datetime.now(UTC) + timedelta(minutes=1)
    container = client.app.state.container  # type: ignore[attr-defined]
    records = {r["order_no"]: r for r in order_summaries(container.uow, start, end)}
    assert set(records) == {one["id"], two["id"]}
    first, second = records[one["id"]], records[two["id"]]
    assert (first["lines"], first["units"], first["total"]) == (1, 3, Decimal("37.5"))
    assert (second["lines"], second["units"], second["total"]) == (2, 6, Decimal("162.5"))
    shipped_from = sorted({s["warehouse_id"] for s in two["shipments"]})
    assert second["warehouse_id"] == ",".join(shipped_from)
    assert first["customer_id"] == "C1" and first["status"] == one["status"]
    assert first["placed_at"].tzinfo is not None and start <= first["placed_at"] < end
    assert first["delivery_address"] == "1 West Lake Rd" and first["delivered_at"] is None
    assert list(order_summaries(container.uow, end, end + timedelta(days=1))) == []


def test_a_run_is_stored_with_every_difference_and_listed(client: TestClient) -> None:
    container = client.app.state.container  # type: ignore[attr-defined]
    spec = ReconcileSpec(key=("order_no",), fields=(FieldRule("total", FieldKind.MONEY),))
    result = reconcile(
        spec,
        [{"order_no": "A", "total": 1}, {"order_no": "B", "total": 2}],
        [{"order_no": "A", "total": 1.5}, {"order_no": "C", "total": 2}, {"order_no": "C", "total": 2}],
    )
    request = RunRequest("erp_orders_csv", "export.csv", "ab" * 32, None, None, "admin", idempotency_key="k1")
    run = record_run(container.uow, request, result)
    assert replay_run(container.uow, request) == run
    with pytest.raises(ReconciliationKeyReused):
        replay_run(container.uow, RunRequest("erp_orders_csv", "other.csv", "cd" * 32, None, None, "admin", "k1"))
    assert get_run(container.uow, run.id).summary["by_cause"]["duplicate_key"] == 1
    assert difference_counts(container.uow, run.id) == {
        ("total", "value_differs"): 1,
        ("(record)", "missing_on_theirs"): 1,
        ("(record)", "duplicate_key"): 1,
    }
    page = difference_page(container.uow, run.id, PageRequest(limit=2))
    assert [d["key"] for d in page.items] == ["A", "B"] and page.next_cursor
    rest = difference_page(container.uow, run.id, PageRequest(limit=2, cursor=page.next_cursor))
    assert [d["cause"] for d in rest.items] == ["duplicate_key"]
    only = difference_page(container.uow, run.id, PageRequest(), field="total")
    assert [(d["theirs"], d["delta"]) for d in only.items] == [("1.5", "0.5")]
    assert [r.id for r in run_page(container.uow, PageRequest()).items] == [run.id]


def test_order_records_carry_their_lines_across_batches_in_one_transaction(client: TestClient) -> None:
    start = datetime.now(UTC) - timedelta(minutes=1)
    placed = [_place(client, [{"sku": "S1", "qty": n + 1, "unit_price": "12.50"}]) for n in range(5)]
    container = client.app.state.container  # type: ignore[attr-defined]
    records = list(order_records(container.uow, start, datetime.now(UTC) + timedelta(minutes=1), batch=2))
    assert [r["order_no"] for r in records] == [o["id"] for o in placed]
    assert [[(i["sku"], i["qty"]) for i in r["items"]] for r in records] == [[("S1", n + 1)] for n in range(5)]
