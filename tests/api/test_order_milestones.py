"""Each order's ``first_<node>_at`` columns (what the analytics read) equal the first time its timeline reached
each main-line node, through the real pipeline on both backends: intake to allocated, a credit hold, and a
cancellation (a non-main-line entry that changes none of them). The stage-timing pre-aggregate and the
furthest node the funnel counts follow too: they equal what the timeline gives, bucketed here one value at a
time (the scalar ``LogBuckets.key``), not by the pipeline's own code."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select, update
from typer.testing import CliRunner

from api.cli import app as cli_app
from infra.db import make_engine, make_session_factory
from orders_core.analytics.stats import TRANSITIONS
from orders_core.orders.milestones import MILESTONE_COLUMNS
from orders_core.orders.model import MAIN_LINE
from orders_core.orders.stage_durations import BUCKETS, fold_stage_durations
from orders_core.orders.tables import (
    OrderRow,
    StageDurationCountRow,
    StageDurationDeltaRow,
    StageDurationMonthCountRow,
    TimelineRow,
)

from .factories import ADMIN, put_master_data


def _columns_and_timeline(database_url: str, order_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        row = session.get(OrderRow, order_id)
        assert row is not None
        columns = {status: getattr(row, column) for status, column in MILESTONE_COLUMNS.items()}
        firsts = dict(
            session.execute(
                select(TimelineRow.status, func.min(TimelineRow.at))
                .where(TimelineRow.order_id == order_id)
                .group_by(TimelineRow.status)
            ).all()
        )
    engine.dispose()
    return columns, {status: firsts.get(status) for status in MILESTONE_COLUMNS}


def _put_store_and_small_customer(client: TestClient) -> None:
    """One warehouse with stock, one SKU, a store with credit and a small customer whose orders wait on it."""
    put_master_data(
        client,
        warehouses={"W1": {"name": "W", "location": {"lat": 30.27, "lng": 120.15}}},
        skus={"S1": {"name": "S", "unit_price": 10, "weight_kg": 1, "volume_m3": 0.01}},
        customers={"C1": {"name": "Store", "credit_limit": 1_000_000}, "C2": {"name": "Small", "credit_limit": 5}},
        stock={("W1", "S1"): 100},
    )


def test_first_reached_columns_follow_the_timeline(database_url: str, client: TestClient) -> None:
    _put_store_and_small_customer(client)
    placed = []
    for customer in ("C1", "C2"):  # C2's order waits on its credit limit (a hold: no later node yet)
        body = {
            "customer_id": customer,
            "lines": [{"sku": "S1", "qty": 2, "unit_price": 10}],
            "delivery": {"lat": 30.26, "lng": 120.16, "address": "Road 1"},
        }
        answer = client.post("/v1/orders", json=body, headers=ADMIN)
        assert answer.status_code == 201, answer.text
        placed.append(answer.json())
    assert placed[0]["status"] == "allocated" and placed[1]["status"] == "on_hold"
    for order in placed:
        columns, timeline = _columns_and_timeline(database_url, order["id"])
        assert columns == timeline
    allocated, held = (_columns_and_timeline(database_url, o["id"])[0] for o in placed)
    assert allocated["placed"] is not None and allocated["allocated"] is not None and allocated["picking"] is None
    assert held["allocated"] is None
    # Cancelling appends a non-main-line entry: the columns stay as they were.
    assert client.post(f"/v1/orders/{placed[1]['id']}/cancel", headers=ADMIN).status_code == 200
    assert _columns_and_timeline(database_url, placed[1]["id"])[0] == held


Counts = Counter[tuple[Any, ...]]


def _counts_and_furthest(
    database_url: str,
) -> tuple[Counter[tuple[Any, ...]], Counter[tuple[Any, ...]], dict[str, int]]:
    """The stored counts (after folding the pipeline's deltas) and furthest nodes, and the counts the timeline
    implies."""
    engine = make_engine(database_url)
    with engine.begin() as connection:
        fold_stage_durations(connection)
    with make_session_factory(engine)() as session:
        stored = Counter(
            {
                (row.day, row.from_node, row.to_node, row.bucket): row.orders
                for row in session.execute(select(StageDurationCountRow)).scalars()
            }
        )
        furthest = dict(session.execute(select(OrderRow.id, OrderRow.furthest_node)).all())
        expected: Counts = Counter()
        for order in session.execute(select(OrderRow)).scalars():
            firsts = dict(
                session.execute(
                    select(TimelineRow.status, func.min(TimelineRow.at))
                    .where(TimelineRow.order_id == order.id)
                    .group_by(TimelineRow.status)
                ).all()
            )
            firsts.setdefault("placed", order.created_at)
            for a, b in TRANSITIONS:
                if a.value in firsts and b.value in firsts:
                    seconds = (firsts[b.value] - firsts[a.value]).total_seconds()
                    expected[(order.created_at.date(), a.value, b.value, BUCKETS.key(seconds))] += 1
            reached = [index for index, status in enumerate(MAIN_LINE) if status.value in firsts]
            assert furthest[order.id] == max(reached)
    engine.dispose()
    return stored, expected, furthest


def test_stage_duration_counts_and_the_furthest_node_follow_the_timeline(database_url: str, client: TestClient) -> None:
    _put_store_and_small_customer(client)
    for customer in ("C1", "C1", "C2"):
        body = {
            "customer_id": customer,
            "lines": [{"sku": "S1", "qty": 1, "unit_price": 10}],
            "delivery": {"lat": 30.26, "lng": 120.16, "address": "Road 1"},
        }
        assert client.post("/v1/orders", json=body, headers=ADMIN).status_code == 201
    engine = make_engine(database_url)
    with engine.connect() as connection:  # the orders' transactions inserted deltas, locked no counter
        assert connection.execute(select(func.count()).select_from(StageDurationDeltaRow)).scalar_one() > 0
        assert connection.execute(select(func.count()).select_from(StageDurationCountRow)).scalar_one() == 0
    engine.dispose()

    stored, expected, furthest = _counts_and_furthest(database_url)

    assert stored == expected
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        months = {
            (row.month, row.from_node, row.to_node, row.bucket): row.orders
            for row in session.execute(select(StageDurationMonthCountRow)).scalars()
        }
    engine.dispose()
    expected_months: Counts = Counter()
    for (day, a, b, bucket), orders in expected.items():
        expected_months[(day.replace(day=1), a, b, bucket)] += orders
    assert months == expected_months
    assert sum(stored.values()) > 0  # intake reached allocated: placed -> ... -> allocated were counted
    assert sorted(furthest.values()) == [1, MAIN_LINE.index(MAIN_LINE[3]), MAIN_LINE.index(MAIN_LINE[3])]


def test_dispatch_analytics_rebuild_restores_the_counts_the_pipeline_kept(
    database_url: str, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    _put_store_and_small_customer(client)
    for customer in ("C1", "C2"):
        body = {"customer_id": customer, "lines": [{"sku": "S1", "qty": 1}], "delivery": {"lat": 30.26, "lng": 120.16}}
        assert client.post("/v1/orders", json=body, headers=ADMIN).status_code == 201
    kept, expected, _ = _counts_and_furthest(database_url)
    assert kept == expected and kept
    engine = make_engine(database_url)
    with engine.begin() as connection:  # a bulk load that bypassed the pipeline: counts lost and one wrong
        connection.execute(delete(StageDurationCountRow).where(StageDurationCountRow.to_node == "allocated"))
        connection.execute(update(StageDurationCountRow).values(orders=99))
    engine.dispose()
    assert _counts_and_furthest(database_url)[0] != expected
    from api.settings import get_settings

    monkeypatch.setenv("DISPATCH_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["analytics", "rebuild"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "rebuilt from 2 orders" in result.output
    assert _counts_and_furthest(database_url)[0] == expected
