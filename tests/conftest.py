"""Shared fixtures: throwaway PostgreSQL+PostGIS and Redis servers, and a database per backend.

The servers are started once per test session (once per worker under pytest-xdist) on free ports (never
the machine's own services) and removed afterwards. ``database_url`` is parametrised so that a test
using it runs on the embedded SQLite default and on PostGIS with the same code.

Migrating costs seconds, copying a migrated database milliseconds: each backend is migrated once per
session into a template (a SQLite file, a PostGIS database) and every test gets its own copy, so tests
still commit for real and never see each other's rows. The tests of the migrations themselves use
``empty_database_url``.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.throwaway import (
    create_database,
    drop_database,
    throwaway_postgres,
    throwaway_redis,
    throwaway_redis_cluster,
)

_database_counter = itertools.count(1)

#: The PostGIS database every test database is copied from (migrated once per session).
POSTGIS_TEMPLATE = "migrated_template"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a throwaway PostgreSQL server's default database (PostGIS enabled).

    Non-durable on purpose (fsync, synchronous_commit and full_page_writes off): test data is thrown
    away and flushing every commit would only slow the suite down. Benchmarks ask for ``durable=True``.
    """
    with throwaway_postgres(durable=False) as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a throwaway, memory-only Redis server."""
    with throwaway_redis() as url:
        yield url


@pytest.fixture
def fresh_redis_url(redis_url: str) -> Iterator[str]:
    """The throwaway Redis, flushed before the test so keys never leak between tests."""
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushall()
    client.close()
    yield redis_url


@pytest.fixture(scope="session")
def redis_cluster_url() -> Iterator[str]:
    """``redis+cluster://`` URL of a throwaway Redis Cluster of three masters (started only when a test asks)."""
    with throwaway_redis_cluster(masters=3) as url:
        yield url


@pytest.fixture
def fresh_redis_cluster_url(redis_cluster_url: str) -> Iterator[str]:
    """The throwaway Redis Cluster, every master flushed before the test."""
    from infra.redis_client import redis_client_from_url

    client = redis_client_from_url(redis_cluster_url)
    client.flushall()  # RedisCluster sends FLUSHALL to every master
    client.close()
    yield redis_cluster_url


@pytest.fixture(params=["redis", "redis-cluster"])
def fresh_redis_or_cluster_url(request: pytest.FixtureRequest) -> str:
    """A flushed throwaway Redis: the single server, then the three-master cluster (a test using it runs on both)."""
    fixture = "fresh_redis_cluster_url" if request.param == "redis-cluster" else "fresh_redis_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture(params=["sqlite", "postgis"])
def backend(request: pytest.FixtureRequest) -> str:
    """Name of the relational backend under test."""
    return str(request.param)


def _migrate(url: str) -> None:
    from infra.db import make_engine
    from infra.migrate import upgrade

    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()  # the last connection closed: SQLite folds its WAL back into the file


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once per session (copied, never opened, by the tests)."""
    path = tmp_path_factory.mktemp("template") / "dispatch.sqlite3"
    _migrate(f"sqlite:///{path}")
    assert not path.with_name(path.name + "-wal").exists(), "the template's WAL must be checkpointed"
    return path


@pytest.fixture(scope="session")
def postgis_template(postgres_url: str) -> str:
    """Name of a PostGIS database migrated to head once per session; no connection stays open to it."""
    _migrate(create_database(postgres_url, POSTGIS_TEMPLATE))
    return POSTGIS_TEMPLATE


@pytest.fixture
def sqlite_database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A new SQLite file at the schema's head: a copy of the session's migrated template."""
    path = tmp_path / "dispatch.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def postgis_database_url(postgres_url: str, postgis_template: str) -> Iterator[str]:
    """A new PostGIS database at the schema's head (a copy of the template), dropped after the test."""
    name = f"test_{next(_database_counter)}"
    yield create_database(postgres_url, name, template=postgis_template)
    drop_database(postgres_url, name)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    """A new database at the schema's head on the backend under test, for this test alone."""
    return str(request.getfixturevalue(f"{backend}_database_url"))


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new, empty database on the backend under test (PostGIS installed, no tables): for migration tests."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    server_url: str = request.getfixturevalue("postgres_url")
    name = f"empty_{next(_database_counter)}"
    yield create_database(server_url, name)
    drop_database(server_url, name)
