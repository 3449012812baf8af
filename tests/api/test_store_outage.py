"""A store that cannot be reached is a 503 with Retry-After and the contract's error body, never a 500,
and the service recovers by itself once the store is back (the full restart drills are in tests/drills).

PostgreSQL is made unreachable without stopping the shared test server: the test's database refuses new
connections and its open ones are terminated, as a restart does to them.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from infra.throwaway import throwaway_redis

from .factories import ADMIN, app_client, put_master_data


def _admin_sql(database_url: str, statement: str) -> None:
    base, _, name = database_url.rpartition("/")
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as connection:
        connection.execute(statement.format(name=name))


def _cut_off(database_url: str) -> None:
    _admin_sql(database_url, 'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    _admin_sql(
        database_url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()",
    )


def _reopen(database_url: str) -> None:
    _admin_sql(database_url, 'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def assert_unavailable(answer: httpx.Response) -> None:
    """The clear outage answer: 503, Retry-After in seconds, ``service_unavailable`` in the error envelope."""
    assert answer.status_code == 503, answer.text
    assert int(answer.headers["Retry-After"]) > 0
    error = answer.json()["error"]
    assert error["code"] == "service_unavailable" and "retry" in error["message"]


@pytest.fixture
def postgis_client(postgis_database_url: str) -> Iterator[TestClient]:
    with app_client(postgis_database_url, raise_server_exceptions=False) as client:
        put_master_data(
            client,
            warehouses={"wh-1": {"name": "One", "location": {"lat": 31.2, "lng": 121.4}}},
            skus={"sku-1": {"name": "Rice", "unit_price": "10.00", "weight_kg": 1.0, "volume_m3": 0.001}},
            stock={("wh-1", "sku-1"): 5},
        )
        yield client
    _reopen(postgis_database_url)


def test_database_unreachable_is_503_with_retry_after_and_recovers_without_restart(
    postgis_client: TestClient, postgis_database_url: str
) -> None:
    assert postgis_client.get("/readyz").json() == {"status": "ready"}
    _cut_off(postgis_database_url)
    assert_unavailable(postgis_client.get("/v1/warehouses/wh-1", headers=ADMIN))
    assert_unavailable(postgis_client.put("/v1/warehouses/wh-1/stock/sku-1", json={"on_hand": 9}, headers=ADMIN))
    ready = postgis_client.get("/readyz")
    assert_unavailable(ready)
    assert "database" in ready.json()["error"]["message"]
    assert postgis_client.get("/healthz").status_code == 200  # alive: nothing to restart

    _reopen(postgis_database_url)
    assert postgis_client.get("/readyz").status_code == 200
    # The pool's dead connections were replaced; the write refused meanwhile changed nothing.
    level = postgis_client.get("/v1/warehouses/wh-1/stock/sku-1", headers=ADMIN)
    assert level.status_code == 200 and level.json()["on_hand"] == 5


def test_redis_unreachable_is_503_with_retry_after(sqlite_database_url: str) -> None:
    with throwaway_redis() as redis_url:
        client = app_client(sqlite_database_url, raise_server_exceptions=False, redis_url=redis_url)
        client.__enter__()
        put_master_data(
            client,
            warehouses={"wh-1": {"name": "One", "location": {"lat": 31.2, "lng": 121.4}}},
            skus={"sku-1": {"name": "Rice", "unit_price": "10.00", "weight_kg": 1.0, "volume_m3": 0.001}},
            stock={("wh-1", "sku-1"): 5},
        )
    try:  # the Redis server is gone now
        assert_unavailable(client.get("/v1/warehouses/wh-1/stock/sku-1", headers=ADMIN))
        ready = client.get("/readyz")
        assert_unavailable(ready)
        assert "redis" in ready.json()["error"]["message"]
        assert client.get("/healthz").status_code == 200  # alive: nothing to restart
    finally:
        client.__exit__(None, None, None)


def test_only_outages_count_as_store_unavailable() -> None:
    """Only outages become 503: a broken statement is a bug and must not be hidden behind "retry later"."""
    import redis.exceptions
    import sqlalchemy.exc

    from api.errors import is_store_unavailable

    integrity = sqlalchemy.exc.IntegrityError("INSERT", {}, Exception("duplicate key"))
    refused = sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))
    dropped = sqlalchemy.exc.DBAPIError("SELECT 1", {}, Exception("server closed"), connection_invalidated=True)
    assert not is_store_unavailable(integrity)
    assert is_store_unavailable(refused) and is_store_unavailable(dropped)
    assert is_store_unavailable(redis.exceptions.MasterDownError("MASTERDOWN"))  # a cluster failing over
    assert not is_store_unavailable(redis.exceptions.ResponseError("WRONGTYPE"))  # a bug, not an outage
