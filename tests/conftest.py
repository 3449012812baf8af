"""Shared fixtures: throwaway PostgreSQL+PostGIS and Redis servers, and a database per backend.

The servers are started once per test session on free ports (never the machine's own services) and
removed afterwards. ``database_url`` is parametrised so that a test using it runs on the embedded
SQLite default and on PostGIS with the same code.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.throwaway import create_database, throwaway_postgres, throwaway_redis

_database_counter = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a throwaway PostgreSQL server's default database (PostGIS enabled)."""
    with throwaway_postgres() as url:
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


@pytest.fixture(params=["sqlite", "postgis"])
def backend(request: pytest.FixtureRequest) -> str:
    """Name of the relational backend under test."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A fresh, empty database on the backend under test (a new SQLite file or PostGIS database)."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'dispatch.sqlite3'}"
    server_url: str = request.getfixturevalue("postgres_url")
    return create_database(server_url, f"test_{next(_database_counter)}")
