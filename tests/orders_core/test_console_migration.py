"""The 0018 migration adds the exception decisions table (the console's audit trail) as the model declares
it, on both backends, and its downgrade removes it."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

import orders_core.master_data.tables
import orders_core.orders.decision_tables
import orders_core.orders.tables  # noqa: F401  (registers the tables on Base.metadata)
from infra.db import make_engine
from tests.orders_core.migration_support import migrate_to, schema_diffs


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def test_models_and_migration_agree(database_url: str) -> None:
    assert schema_diffs(database_url, {"exception_decisions"}) == []


def test_the_table_comes_with_0018_and_goes_with_its_downgrade(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate_to(engine, "0018_console")
    assert "exception_decisions" in inspect(engine).get_table_names()
    migrate_to(engine, "0016_analytics_index", down=True)
    assert "exception_decisions" not in inspect(engine).get_table_names()
    engine.dispose()
