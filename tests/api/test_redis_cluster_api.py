"""``DISPATCH_REDIS_URL=redis+cluster://...`` builds a working service on a three-master Redis Cluster.

The app is started the way an operator starts it (the URL from the environment, PostGIS underneath); a
split order whose two warehouses hash to different masters is held at both, shows in the stock levels,
and is released at both on cancellation.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from redis.cluster import RedisCluster

from api.settings import Settings
from orders_core.stock.redis_locks import reservation_key, stock_key

from .factories import ADMIN, app_client, put_master_data


def _warehouse_pair_on_two_masters(client: RedisCluster) -> tuple[str, str]:
    by_master: dict[str, str] = {}
    for n in range(1, 1000):
        warehouse = f"W{n}"
        by_master.setdefault(str(client.get_node_from_key(stock_key(warehouse, "S1")).name), warehouse)
        if len(by_master) == 2:
            first, second = by_master.values()
            return first, second
    raise AssertionError("the cluster has a single master")


def _level(client: TestClient, warehouse_id: str, sku: str) -> tuple[int, int]:
    answer = client.get(f"/v1/warehouses/{warehouse_id}/stock/{sku}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["reserved"]), int(answer.json()["available"])


def test_a_cluster_url_from_the_environment_serves_orders_held_on_two_masters(
    monkeypatch: pytest.MonkeyPatch, postgis_database_url: str, fresh_redis_cluster_url: str
) -> None:
    monkeypatch.setenv("DISPATCH_REDIS_URL", fresh_redis_cluster_url)
    assert Settings().redis_url == fresh_redis_cluster_url
    with app_client(postgis_database_url) as client:
        redis = client.app.state.container.redis  # type: ignore[attr-defined]
        assert isinstance(redis, RedisCluster) and len(redis.get_primaries()) == 3
        north, south = _warehouse_pair_on_two_masters(redis)
        assert redis.get_node_from_key(stock_key(north, "S1")) != redis.get_node_from_key(stock_key(south, "S2"))
        put_master_data(
            client,
            warehouses={
                north: {"name": "North", "location": {"lat": 52.50, "lng": 13.4}},
                south: {"name": "South", "location": {"lat": 52.60, "lng": 13.4}},
            },
            skus={
                "S1": {"name": "S1", "unit_price": 10, "weight_kg": 1, "volume_m3": 0.01},
                "S2": {"name": "S2", "unit_price": 2.5, "weight_kg": 1, "volume_m3": 0.01},
            },
            customers={"C1": {"name": "C1", "credit_limit": 1000}},
            stock={(north, "S1"): 10, (south, "S2"): 10},
        )
        body = {
            "customer_id": "C1",
            "lines": [{"sku": "S1", "qty": 3, "unit_price": 10}, {"sku": "S2", "qty": 4, "unit_price": 2.5}],
            "delivery": {"lat": 52.55, "lng": 13.4, "address": "Between 1"},
        }
        placed = client.post("/v1/orders", json=body, headers={**ADMIN, "Idempotency-Key": "cluster-1"})
        assert placed.status_code == 201, placed.text
        order = placed.json()
        assert order["status"] == "allocated"
        assert sorted(s["warehouse_id"] for s in order["shipments"]) == sorted([north, south])

        assert _level(client, north, "S1") == (3, 7)
        assert _level(client, south, "S2") == (4, 6)
        # Each master holds its warehouse's part of the order.
        assert redis.hget(reservation_key(north, order["id"]), "S1") == b"3"
        assert redis.hget(reservation_key(south, order["id"]), "S2") == b"4"

        again = client.post("/v1/orders", json=body, headers={**ADMIN, "Idempotency-Key": "cluster-1"})
        assert again.status_code == 200 and again.json()["id"] == order["id"]
        assert _level(client, north, "S1") == (3, 7)  # a retried key holds nothing more

        cancelled = client.post(f"/v1/orders/{order['id']}/cancel", json={"reason": "test"}, headers=ADMIN)
        assert cancelled.status_code == 200, cancelled.text
        assert _level(client, north, "S1") == (0, 10)
        assert _level(client, south, "S2") == (0, 10)
        assert not redis.exists(reservation_key(north, order["id"]))
        assert not redis.exists(reservation_key(south, order["id"]))


@pytest.mark.slow
def test_bench_pipeline_runs_on_a_throwaway_redis_cluster() -> None:
    """``dispatch bench pipeline --backend postgis+redis-cluster``: its own cluster, every order through it."""
    import json

    import typer
    from typer.testing import CliRunner

    from benchmarks.pipeline import command

    app = typer.Typer()
    app.command("pipeline")(command)
    app.command("other")(lambda: None)  # keep sub-command dispatch as in the real CLI
    args = ["pipeline", "--orders", "30", "--threads", "4", "--backend", "postgis+redis-cluster", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (entry,) = json.loads(result.stdout.strip().splitlines()[-1])["results"]
    assert entry["backend"] == "postgis+redis-cluster"
    assert entry["orders"] + entry["failed"] == 30 and entry["orders"] > 0 and entry["orders_per_s"] > 0
