"""The 0023 migration creates the reconciliation tables as the models declare them and drops them on downgrade."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

import orders_core.integration.reconcile_tables  # noqa: F401  (registers the tables on Base.metadata)
from infra.db import make_engine
from tests.orders_core.migration_support import migrate_to, schema_diffs

TABLES = {"reconciliation_runs", "reconciliation_differences"}


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def test_models_and_migration_agree(database_url: str) -> None:
    assert schema_diffs(database_url, TABLES) == []


def test_the_tables_come_with_0023_and_go_with_its_downgrade(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate_to(engine, "0023_reconciliation")
    assert set(inspect(engine).get_table_names()) >= TABLES
    migrate_to(engine, "0022_health_prebook", down=True)  # one step back
    assert not TABLES & set(inspect(engine).get_table_names())
    engine.dispose()
