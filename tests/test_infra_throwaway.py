"""The throwaway servers and migrations work on both backends."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import inspect, text

from infra.db import make_engine
from infra.migrate import current_revision, upgrade


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


def test_postgis_extension_is_available(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    with engine.connect() as connection:
        version = connection.execute(text("SELECT PostGIS_Version()")).scalar_one()
    assert version
    engine.dispose()


def test_throwaway_redis_is_not_the_machine_service(redis_url: str) -> None:
    assert not redis_url.endswith(":6379/0")
    assert redis.Redis.from_url(redis_url).ping()
