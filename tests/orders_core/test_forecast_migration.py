"""The 0021 migration creates the forecast tables as the models declare them (both backends) and its
downgrade removes them."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

import orders_core.planning.tables  # noqa: F401  (registers the tables on Base.metadata)
from infra.db import make_engine
from tests.orders_core.migration_support import migrate_to, schema_diffs

TABLES = {"forecast_runs", "forecasts", "replenishment_suggestions"}


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def test_models_and_migration_agree(database_url: str) -> None:
    assert schema_diffs(database_url, TABLES) == []


def test_the_tables_come_with_0021_and_go_with_its_downgrade(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate_to(engine, "0021_forecast")
    assert set(inspect(engine).get_table_names()) >= TABLES
    migrate_to(engine, "0016_analytics_index", down=True)
    assert not TABLES & set(inspect(engine).get_table_names())
    engine.dispose()
