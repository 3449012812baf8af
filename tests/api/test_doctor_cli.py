"""``dispatch doctor`` by subprocess, as the fault drills call it: consistent after real orders, detects drift
injected into Redis and into the database (exit 1, every check named), repairs it with ``--repair`` (exit 0,
the units counted), and is consistent again afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import text

from infra.db import make_engine
from orders_core.stock.model import ReservationLine
from orders_core.stock.redis_locks import RedisStockLocks, reservation_key, stock_key

from .factories import ADMIN, put_master_data

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_url(backend: str, request: pytest.FixtureRequest) -> str | None:
    """PostGIS runs with Redis (production), SQLite with the in-process store (the embedded default)."""
    return str(request.getfixturevalue("fresh_redis_url")) if backend == "postgis" else None


def _doctor(database_url: str, redis_url: str | None, *args: str) -> tuple[int, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")}
    env["PYTHONPATH"] = str(REPO)
    env["DISPATCH_STOCK__LEASE_S"] = "1"
    command = [sys.executable, "-c", "from api.cli import main; main()", "doctor", "--json"]
    command += ["--database-url", database_url, *(["--redis-url", redis_url] if redis_url else []), *args]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=env, timeout=120)
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1, (done.stdout, done.stderr)
    return done.returncode, json.loads(lines[0])


def _place_orders(client: TestClient, count: int) -> list[str]:
    put_master_data(
        client,
        warehouses={"wh-d": {"name": "Doc", "location": {"lat": 31.2, "lng": 121.4}}},
        skus={"sku-d": {"name": "Tea", "unit_price": "10.00", "weight_kg": 1.0, "volume_m3": 0.001}},
        customers={"cust-d": {"name": "Shop", "credit_limit": "1000000", "location": {"lat": 31.2, "lng": 121.5}}},
        stock={("wh-d", "sku-d"): 10},
    )
    ids = []
    for n in range(count):
        body = {
            "customer_id": "cust-d",
            "lines": [{"sku": "sku-d", "qty": 2, "unit_price": "10.00"}],
            "delivery": {"lat": 31.23, "lng": 121.47, "address": f"{n} Doctor Road"},
        }
        answer = client.post("/v1/orders", json=body, headers={**ADMIN, "Idempotency-Key": f"doc-{n}"})
        assert answer.status_code in (200, 201), answer.text
        ids.append(answer.json()["id"])
    for order_id in ids:
        assert client.get(f"/v1/orders/{order_id}", headers=ADMIN).json()["status"] == "allocated"
    return ids


def test_doctor_detects_injected_drift_and_repairs_it(
    database_url: str, redis_url: str | None, make_client: Callable[..., TestClient]
) -> None:
    with make_client(redis_url=redis_url) as client:
        orders = _place_orders(client, 3)  # 6 of 10 units held
    code, report = _doctor(database_url, redis_url)
    assert (code, report["consistent"], report["repaired_units"]) == (0, True, 0), report
    assert set(report["checks"]) == {
        "stock_fast_store",
        "reservations_vs_orders",
        "outbox_vs_deliveries",
        "stock_constraints",
    }

    engine = make_engine(database_url)
    with engine.begin() as connection:  # the durable reserved drifts from its held rows by one unit
        connection.execute(text("UPDATE stock_levels SET reserved = reserved + 1 WHERE sku = 'sku-d'"))
    engine.dispose()
    expected_units = 1
    if redis_url is not None:
        client_r = redis.Redis.from_url(redis_url)
        # A process died between its Redis hold and its commit (no lease: long expired): 3 phantom units.
        RedisStockLocks(client_r).reserve("ord-ghost", [ReservationLine("wh-d", "sku-d", 3)])
        # An order's hold lost from Redis (2 units), and on_hand drifted (+4).
        client_r.hdel(reservation_key("wh-d", orders[0]), "sku-d")
        client_r.hincrby(stock_key("wh-d", "sku-d"), "reserved", -2)
        client_r.hincrby(stock_key("wh-d", "sku-d"), "on_hand", 4)
        client_r.close()
        expected_units += 3 + 2 + 4

    code, report = _doctor(database_url, redis_url)
    assert code == 1 and not report["consistent"]
    reservations = report["checks"]["reservations_vs_orders"]
    assert not reservations["ok"]
    assert [p["kind"] for p in reservations["problems"]] == ["reserved_not_sum_of_holds"]
    if redis_url is not None:
        kinds = sorted(p["kind"] for p in report["checks"]["stock_fast_store"]["problems"])
        assert kinds == ["hold_freed", "hold_restored", "on_hand"]

    code, report = _doctor(database_url, redis_url, "--repair")
    assert (code, report["consistent"], report["repaired_units"]) == (0, True, expected_units), report
    code, report = _doctor(database_url, redis_url)
    assert (code, report["consistent"], report["repaired_units"]) == (0, True, 0), report
    if redis_url is not None:
        client_r = redis.Redis.from_url(redis_url)
        level = RedisStockLocks(client_r).levels([("wh-d", "sku-d")])[("wh-d", "sku-d")]
        client_r.close()
        assert (level.on_hand, level.reserved) == (10, 6)


def test_doctor_names_a_finished_order_that_still_holds_stock(
    database_url: str, make_client: Callable[..., TestClient]
) -> None:
    with make_client() as client:
        orders = _place_orders(client, 1)
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE orders SET status = 'delivered' WHERE id = :id"), {"id": orders[0]})
    engine.dispose()
    code, report = _doctor(database_url, None, "--repair")
    assert code == 1
    problems = report["checks"]["reservations_vs_orders"]["problems"]
    finished = {"kind": "finished_order_holds_stock", "order_id": orders[0], "status": "delivered", "units": 2}
    assert problems == [finished]
