"""The throwaway servers and migrations work on both backends."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import inspect, text

from infra.db import make_engine
from infra.migrate import current_revision, head_revisions, is_at_head, upgrade


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


def test_a_durable_throwaway_postgres_really_flushes_its_commits() -> None:
    """Read back from the server itself: the benchmark's 'durable' label must not be an assumption."""
    from infra.throwaway import durability_settings, throwaway_postgres

    with throwaway_postgres("durable_check", durable=True) as url:
        assert durability_settings(url) == {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}


def test_the_tests_throwaway_postgres_is_non_durable_for_speed(postgres_url: str) -> None:
    from infra.throwaway import durability_settings

    assert durability_settings(postgres_url) == {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
