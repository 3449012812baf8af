"""Pre-booked stock over HTTP on SQLite and PostGIS: only customers at or above the configured score get their
week booked (from their own order history), the soft hold is visible per warehouse and in the stock GET, the
customer's own order consumes it first, firm orders of others bump it and are never refused while stock is
physically there, and it is released at its deadline (the job's function and ``dispatch prebook expire``)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from infra.db import make_engine
from orders_core.customers.demand import HistoryMeanDemand
from orders_core.stock.prebook import week_of
from orders_core.stock.prebook_service import expire_prebookings, plan_prebookings

from .factories import ADMIN, make_token, put_master_data

REPO = Path(__file__).resolve().parents[2]
NEAR = {"lat": 30.20, "lng": 120.20}


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client(jobs_interval_s=0)
    put_master_data(
        test_client,
        warehouses={
            "W1": {"name": "Near", "location": NEAR},
            "W2": {"name": "Far", "location": {"lat": 31.5, "lng": 121.5}},
        },
        skus={
            "S1": {"name": "Rice", "unit_price": "10.00", "weight_kg": 1, "volume_m3": 0.001},
            "S2": {"name": "Oil", "unit_price": "20.00", "weight_kg": 1, "volume_m3": 0.001},
        },
        customers={
            "VIP": {"name": "Best", "credit_limit": "100000", "location": NEAR},
            "MID": {"name": "Stretched", "credit_limit": "100", "location": NEAR},
            "OTHER": {"name": "Walk-in", "credit_limit": "100000", "location": NEAR},
        },
        stock={("W1", "S1"): 200, ("W1", "S2"): 200, ("W2", "S1"): 500},
    )
    return test_client


def place(client: TestClient, customer: str, lines: dict[str, int]) -> dict[str, Any]:
    body = {
        "customer_id": customer,
        "lines": [
            {"sku": sku, "qty": qty, "unit_price": "10.00" if sku == "S1" else "20.00"} for sku, qty in lines.items()
        ],
        "delivery": {**NEAR, "address": "1 Test Road"},
    }
    answer = client.post("/v1/orders", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()
    return order


def place_at(client: TestClient, database_url: str, customer: str, lines: dict[str, int], at: datetime) -> str:
    """An order placed at ``at`` (seeded history: its placement and timeline moved back)."""
    order_id = str(place(client, customer, lines)["id"])
    engine = make_engine(database_url)
    stored: Any = at.replace(tzinfo=None).isoformat(sep=" ") if engine.dialect.name == "sqlite" else at
    with engine.begin() as connection:
        connection.execute(text("UPDATE orders SET created_at = :at WHERE id = :id"), {"at": stored, "id": order_id})
        connection.execute(
            text("UPDATE order_timeline SET at = :at WHERE order_id = :id"), {"at": stored, "id": order_id}
        )
    engine.dispose()
    return order_id


def seed_history(client: TestClient, database_url: str, week_start: datetime) -> None:
    """VIP ordered 5 x S1 and 2 x S2 in each of the 4 weeks before ``week_start``, and 4 x S1 the week before
    that (baseline); MID 3 x 9 units 3 weeks ago against a 100 credit limit (stretched)."""
    for weeks_back in (1, 2, 3, 4):
        place_at(client, database_url, "VIP", {"S1": 5, "S2": 2}, week_start - timedelta(weeks=weeks_back, hours=-2))
    place_at(client, database_url, "VIP", {"S1": 4}, week_start - timedelta(weeks=5))
    place_at(client, database_url, "MID", {"S1": 9}, week_start - timedelta(weeks=3))


def stock(client: TestClient, sku: str = "S1", wh: str = "W1") -> dict[str, Any]:
    answer: dict[str, Any] = client.get(f"/v1/warehouses/{wh}/stock/{sku}", headers=ADMIN).json()
    return answer


def prebooked(client: TestClient, wh: str = "W1") -> dict[str, dict[str, Any]]:
    answer = client.get(f"/v1/warehouses/{wh}/prebooked", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return {item["sku"]: item for item in answer.json()["items"]}


def test_prebooking_threshold_visibility_own_consumption_and_priority(client: TestClient, database_url: str) -> None:
    container = client.app.state.container  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    week_start, deadline = week_of(now)
    seed_history(client, database_url, week_start)
    container.recompute_health()
    vip = client.get("/v1/customers/VIP/health", headers=ADMIN).json()["score"]
    mid = client.get("/v1/customers/MID/health", headers=ADMIN).json()["score"]
    assert vip >= 75 > mid, (vip, mid)  # the default threshold sits between them

    assert container.prebook_round() == {"created": 2}  # booked and settled in one go
    rows = prebooked(client)
    assert set(rows) == {"S1", "S2"}  # VIP only: MID is below the score
    s1 = rows["S1"]["prebookings"]
    assert [(p["customer_id"], p["requested"], p["held"]) for p in s1] == [("VIP", 5, 5)]  # mean of 4 weeks
    assert rows["S2"]["prebookings"][0]["requested"] == 2
    assert s1[0]["expires_at"].startswith(deadline.date().isoformat())
    assert s1[0]["source"] == "forecast_else_history_mean_4w"  # no forecast run yet: the history mean sized it
    assert prebooked(client, "W2") == {}  # booked where VIP's orders are served, not where stock is largest
    # Soft holds are not in `reserved`: the firm counts do not move, `prebooked` is shown beside them.
    level = stock(client)
    assert level["prebooked"] == 5 and level["reserved"] == 4 * 5 + 4 + 9
    assert level["available"] == 200 - level["reserved"]
    # Idempotent: the same week is not booked twice.
    assert plan_prebookings(container.uow, HistoryMeanDemand(), min_score=75) == []

    # VIP's own firm order consumes its soft hold first.
    place(client, "VIP", {"S1": 3})
    row = prebooked(client)["S1"]["prebookings"][0]
    assert (row["consumed"], row["held"], row["bumped"]) == (3, 2, 0)
    assert stock(client)["prebooked"] == 2

    # Another customer's firm orders may take every unit physically there, soft holds or not.
    free = stock(client)["available"]
    first = place(client, "OTHER", {"S1": free - 1})
    assert first["status"] == "allocated", first
    assert stock(client)["prebooked"] == 1
    row = prebooked(client)["S1"]["prebookings"][0]
    assert (row["consumed"], row["held"], row["bumped"]) == (3, 1, 1)
    assert place(client, "OTHER", {"S1": 1})["status"] == "allocated"
    assert stock(client)["prebooked"] == 0 and stock(client)["available"] == 0
    # Only a physical shortage refuses a firm order (held for stock at W1; W2 is farther but has S1).
    container.prebook_round()  # the settlement is stored too
    engine = make_engine(database_url)
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT consumed_qty, held_qty, bumped_qty FROM stock_prebookings WHERE sku = 'S1'")
        ).one()
        checks = connection.execute(text("SELECT COUNT(*) FROM stock_levels WHERE reserved > on_hand")).scalar_one()
    engine.dispose()
    assert tuple(stored) == (3, 0, 2) and checks == 0

    # VIP orders the rest of its week: the pre-booking is fulfilled and no longer listed.
    place(client, "VIP", {"S1": 2})
    container.prebook_round()
    assert "S1" not in prebooked(client)


def test_prebooking_is_released_at_its_deadline_by_the_cli(client: TestClient, database_url: str) -> None:
    container = client.app.state.container  # type: ignore[attr-defined]
    last_week = datetime.now(UTC) - timedelta(weeks=1)
    week_start, deadline = week_of(last_week)
    seed_history(client, database_url, week_start)
    container.recompute_health()
    vip = client.get("/v1/customers/VIP/health", headers=ADMIN).json()["score"]
    # The threshold is inclusive: a score just below it books nothing, the score itself books.
    assert plan_prebookings(container.uow, HistoryMeanDemand(), min_score=vip + 0.05, now=last_week) == []
    created = plan_prebookings(container.uow, HistoryMeanDemand(), min_score=vip, now=last_week)
    assert len(created) == 2
    # Not yet due before the deadline.
    assert expire_prebookings(container.uow, now=deadline - timedelta(seconds=1)).expired == []
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")}
    env.update(PYTHONPATH=str(REPO), DISPATCH_DATABASE_URL=database_url, DISPATCH_LOG_FORMAT="json")
    done = subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", "prebook", "expire"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == '{"expired": 2, "released_units": 7}'
    assert prebooked(client) == {} and stock(client)["prebooked"] == 0
    again = subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", "prebook", "expire"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert again.stdout.strip().splitlines()[-1] == '{"expired": 0, "released_units": 0}'


def test_prebooked_view_roles_and_unknown_warehouse(client: TestClient) -> None:
    assert client.get("/v1/warehouses/NOPE/prebooked", headers=ADMIN).json()["error"]["code"] == "warehouse_not_found"
    assert client.get("/v1/warehouses/W1/prebooked", headers=make_token(client, "warehouse", "W1")).status_code == 200
    assert client.get("/v1/warehouses/W1/prebooked", headers=make_token(client, "warehouse", "W2")).status_code == 403
    assert client.get("/v1/warehouses/W1/prebooked", headers=make_token(client, "carrier", "C9")).status_code == 403
    assert client.get("/v1/warehouses/W1/prebooked", headers=make_token(client, "dispatcher")).json() == {
        "warehouse_id": "W1",
        "items": [],
    }
