"""Race over real HTTP: 400 one-unit orders against 100 units never oversell and retries create nothing.

A real uvicorn server runs in a thread on a free port (the same app as ``dispatch serve``); 32 client
threads post orders, each with its own Idempotency-Key, and some keys are sent again.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from api.settings import Settings
from benchmarks.live_service import serve_in_thread
from infra.redis_client import is_cluster_url
from orders_core.stock.repository import StockRepository

from .factories import ADMIN, ADMIN_TOKEN

ORDERS = 400
ON_HAND = 100
THREADS = 32
RETRY_EVERY = 8  # every 8th key is sent a second time


@pytest.fixture(params=["sqlite+memory", "postgis+redis", "postgis+redis-cluster"])
def settings(request: pytest.FixtureRequest) -> Settings:
    if request.param == "sqlite+memory":
        database_url, redis_url = request.getfixturevalue("sqlite_database_url"), None
    else:
        database_url = request.getfixturevalue("postgis_database_url")
        cluster = request.param.endswith("-cluster")
        redis_url = request.getfixturevalue("fresh_redis_cluster_url" if cluster else "fresh_redis_url")
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        admin_token=ADMIN_TOKEN,
        payment_secret="race-secret",
        log_json=False,
    )


def _fast_store(redis_url: str | None) -> str:
    if redis_url is None:
        return "memory"
    return "redis-cluster" if is_cluster_url(redis_url) else "redis"


def _order_body() -> dict[str, Any]:
    return {
        "customer_id": "cust-race",
        "lines": [{"sku": "sku-race", "qty": 1, "unit_price": "10.00"}],
        "delivery": {"lat": 31.23, "lng": 121.47, "address": "1 Race Road"},
    }


@pytest.mark.slow
def test_concurrent_orders_never_oversell_and_retries_create_nothing(settings: Settings) -> None:
    with serve_in_thread(settings, quiet=True) as (base_url, container):
        with httpx.Client(base_url=base_url, headers=ADMIN, timeout=60) as client:
            assert client.put(
                "/v1/warehouses/wh-race", json={"name": "Race", "location": {"lat": 31.2, "lng": 121.4}}
            ).status_code in (200, 201)
            assert client.put(
                "/v1/skus/sku-race",
                json={"name": "Rice", "unit_price": "10.00", "weight_kg": 1.0, "volume_m3": 0.001},
            ).status_code in (200, 201)
            assert client.put("/v1/warehouses/wh-race/stock/sku-race", json={"on_hand": ON_HAND}).status_code == 200
            assert client.put(
                "/v1/customers/cust-race",
                json={"name": "Big buyer", "credit_limit": "1000000000", "location": {"lat": 31.2, "lng": 121.5}},
            ).status_code in (200, 201)

        local = threading.local()
        first: dict[int, dict[str, Any]] = {}
        retried: dict[int, dict[str, Any]] = {}
        failures: list[str] = []
        guard = threading.Lock()

        def post(index: int) -> None:
            client = getattr(local, "client", None)
            if client is None:
                client = local.client = httpx.Client(base_url=base_url, headers=ADMIN, timeout=120)
            for attempt in range(2 if index % RETRY_EVERY == 0 else 1):
                answer = client.post("/v1/orders", json=_order_body(), headers={"Idempotency-Key": f"race-{index}"})
                with guard:
                    if answer.status_code not in (200, 201):
                        failures.append(f"{index}/{attempt}: {answer.status_code} {answer.text[:200]}")
                        return
                    (retried if attempt else first)[index] = answer.json()

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            list(pool.map(post, range(ORDERS)))
        wall_s = time.perf_counter() - started
        requests = ORDERS + len(retried)
        print(
            f"\n[race {settings.database_url.split(':')[0]}+{_fast_store(settings.redis_url)}] "
            f"{requests} requests ({ORDERS} orders, {len(retried)} retries) from {THREADS} threads in "
            f"{wall_s:.2f} s = {requests / wall_s:.0f} requests/s, {ORDERS / wall_s:.0f} orders/s"
        )
        assert not failures, failures[:5]

        ids = {body["id"] for body in first.values()}
        assert len(ids) == ORDERS  # every key made exactly one order
        for index, body in retried.items():  # a retry answers the same order and creates nothing new
            assert body["id"] == first[index]["id"]
        # Statuses as of now (the immediate answers may be earlier states of the same pipeline).
        with httpx.Client(base_url=base_url, headers=ADMIN, timeout=60) as client:
            orders = [client.get(f"/v1/orders/{order_id}").json() for order_id in sorted(ids)]
            level = client.get("/v1/warehouses/wh-race/stock/sku-race").json()
        statuses = Counter(order["status"] for order in orders)
        print(f"[race] statuses {dict(statuses)}; stock {level}")
        assert statuses["allocated"] == ON_HAND
        assert statuses["on_hold"] == ORDERS - ON_HAND
        for order in orders:
            if order["status"] == "on_hold":
                assert "stock_shortage" in str(order)
        assert (level["on_hand"], level["reserved"], level["available"]) == (ON_HAND, ON_HAND, 0)
        with container.uow() as uow:
            held = StockRepository(uow.session).held_totals()
            durable = StockRepository(uow.session).level("wh-race", "sku-race")
        assert held == {("wh-race", "sku-race"): ON_HAND}
        assert durable is not None and (durable.on_hand, durable.reserved) == (ON_HAND, ON_HAND)


@pytest.mark.slow
def test_bench_pipeline_reports_every_backend_as_json() -> None:
    """``dispatch bench pipeline`` with a tiny run: a table, then one JSON line with one entry per backend."""
    import json

    import typer
    from typer.testing import CliRunner

    from benchmarks.pipeline import command

    app = typer.Typer()
    app.command("pipeline")(command)
    app.command("other")(lambda: None)  # keep sub-command dispatch as in the real CLI
    result = CliRunner().invoke(app, ["pipeline", "--orders", "30", "--threads", "4", "--processes", "2", "--json"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    summary = json.loads(lines[-1])
    assert [r["backend"] for r in summary["results"]] == ["embedded", "postgis+redis"]
    for entry in summary["results"]:
        assert set(entry) >= {"backend", "orders", "orders_per_s", "p50_ms", "p99_ms"}
        # Failed orders are counted, not hidden (the race test above is the strict correctness check).
        assert entry["orders"] + entry["failed"] == 30 and entry["orders"] > 0 and entry["orders_per_s"] > 0
        assert entry["p99_ms"] >= entry["p50_ms"] > 0
    assert "orders/s" in result.stdout and "710" in result.stdout
    (scaling,) = summary["scaling"]  # two service processes sharing PostGIS + Redis under tight stock
    assert scaling["processes"] == 2 and scaling["orders"] + scaling["failed"] == 30
    assert scaling["stock_consistent"] is True
