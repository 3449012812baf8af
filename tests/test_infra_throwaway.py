"""Throwaway servers (PostgreSQL, Redis, a Redis Cluster), the Redis URL schemes, migrations on both backends."""

from __future__ import annotations

import pytest
import redis
from pydantic import ValidationError
from redis.cluster import RedisCluster
from sqlalchemy import inspect, text

from api.settings import Settings
from infra.db import make_engine
from infra.migrate import current_revision, head_revisions, is_at_head, upgrade
from infra.redis_client import RedisUrlError, cluster_seed_nodes, each_server, is_cluster_url, redis_client_from_url


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def test_migrations_reach_head_on_each_backend(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    assert current_revision(engine) is not None
    assert "api_tokens" in inspect(engine).get_table_names()
    engine.dispose()


def test_a_database_is_at_head_only_after_the_migrations_and_upgrading_again_changes_nothing(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    assert not is_at_head(engine)
    upgrade(engine)
    assert is_at_head(engine)
    tables = sorted(inspect(engine).get_table_names())
    upgrade(engine)  # at head: one query, nothing run
    assert current_revision(engine) in head_revisions()
    assert sorted(inspect(engine).get_table_names()) == tables
    engine.dispose()


def test_the_copied_test_databases_are_at_head(sqlite_database_url: str, postgis_database_url: str) -> None:
    for url in (sqlite_database_url, postgis_database_url):
        engine = make_engine(url)
        assert is_at_head(engine), url
        engine.dispose()


def test_postgis_extension_is_available(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    with engine.connect() as connection:
        version = connection.execute(text("SELECT PostGIS_Version()")).scalar_one()
    assert version
    engine.dispose()


def test_throwaway_redis_is_not_the_machine_service(redis_url: str) -> None:
    assert not redis_url.endswith(":6379/0")
    assert redis.Redis.from_url(redis_url).ping()


def test_throwaway_redis_cluster_has_three_masters_covering_every_slot(redis_cluster_url: str) -> None:
    client = redis_client_from_url(redis_cluster_url)
    assert isinstance(client, RedisCluster)
    seeds = cluster_seed_nodes(redis_cluster_url)
    assert len(seeds) == 3 and all(port != 6379 for _host, port in seeds)
    assert {f"{host}:{port}" for host, port in seeds} == {node.name for node in client.get_primaries()}
    for node in client.get_primaries():  # every node agrees the cluster is whole
        info = client.get_redis_connection(node).execute_command("CLUSTER", "INFO")
        assert "cluster_state:ok" in (info.decode() if isinstance(info, bytes) else str(info))
    raw_slots = client.get_redis_connection(client.get_primaries()[0]).execute_command("CLUSTER", "SLOTS")
    owned = sorted((int(entry[0]), int(entry[1])) for entry in raw_slots)
    assert owned[0][0] == 0 and owned[-1][1] == 16383 and len(owned) == 3
    assert all(owned[i][1] + 1 == owned[i + 1][0] for i in range(2))
    client.close()


def test_a_plain_redis_url_gives_one_server_and_a_cluster_url_a_cluster(redis_url: str, redis_cluster_url: str) -> None:
    single = redis_client_from_url(redis_url)
    assert isinstance(single, redis.Redis) and single.ping()
    assert not is_cluster_url(redis_url) and is_cluster_url(redis_cluster_url)
    first_seed_only = redis_cluster_url.split(",")[0]  # any one node is enough to find the others
    cluster = redis_client_from_url(first_seed_only)
    assert isinstance(cluster, RedisCluster) and len(cluster.get_primaries()) == 3
    assert each_server(single) == [single]
    ports = sorted(server.connection_pool.connection_kwargs["port"] for server in each_server(cluster))
    assert ports == sorted(port for _host, port in cluster_seed_nodes(redis_cluster_url))
    assert all("used_cpu_user" in server.info("cpu") for server in each_server(cluster))
    single.close()
    cluster.close()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis+cluster://127.0.0.1:7000/3", "database 0 only"),
        ("redis+cluster://127.0.0.1:7000,127.0.0.1:x", "bad cluster node"),
        ("redis+cluster://127.0.0.1:7000,", "bad cluster node"),
    ],
)
def test_a_bad_cluster_url_is_refused_before_connecting(url: str, problem: str) -> None:
    with pytest.raises(RedisUrlError, match=problem):
        redis_client_from_url(url)
    with pytest.raises(ValidationError, match=problem) as refused:  # at start-up, naming the setting
        Settings(redis_url=url)
    assert refused.value.errors()[0]["loc"] == ("redis_url",)


def test_settings_name_the_redis_schemes_they_accept() -> None:
    with pytest.raises(ValidationError, match="redis\\+cluster://"):
        Settings(redis_url="http://127.0.0.1:6379")
    assert Settings(redis_url="redis+cluster://10.0.0.1:7000,10.0.0.2:7000").redis_url is not None


def test_cluster_seed_nodes_keep_credentials_out_and_default_the_port() -> None:
    assert cluster_seed_nodes("rediss+cluster://user:secret@a.example:7001,b.example,[::1]:7003") == [
        ("a.example", 7001),
        ("b.example", 6379),
        ("::1", 7003),
    ]


def test_a_durable_throwaway_postgres_really_flushes_its_commits() -> None:
    """Read back from the server itself: the benchmark's 'durable' label must not be an assumption."""
    from infra.throwaway import durability_settings, throwaway_postgres

    with throwaway_postgres("durable_check", durable=True) as url:
        assert durability_settings(url) == {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}


def test_the_tests_throwaway_postgres_is_non_durable_for_speed(postgres_url: str) -> None:
    from infra.throwaway import durability_settings

    assert durability_settings(postgres_url) == {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
