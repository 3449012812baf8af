"""The 0022 migration creates the health-score and pre-booking tables as the models declare them (both
backends), leaves ``stock_levels`` alone, and downgrades to 0016 without them."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

import orders_core.customers.health_tables
import orders_core.master_data.tables
import orders_core.orders.tables
import orders_core.stock.prebook_tables
import orders_core.stock.tables  # noqa: F401  (registers the tables on Base.metadata)
from infra.db import make_engine
from tests.orders_core.migration_support import migrate_to, schema_diffs

TABLES = {"customer_health_runs", "customer_health_indicators", "customer_health", "stock_prebookings"}


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def test_models_and_migration_agree(database_url: str) -> None:
    assert schema_diffs(database_url, TABLES | {"stock_levels"}) == []


def test_tables_come_with_0022_and_go_with_its_downgrade(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate_to(engine, "0016_analytics_index")
    assert not TABLES & set(inspect(engine).get_table_names())
    migrate_to(engine, "0022_health_prebook")
    assert set(inspect(engine).get_table_names()) >= TABLES
    migrate_to(engine, "0016_analytics_index", down=True)
    assert not TABLES & set(inspect(engine).get_table_names())
    engine.dispose()
