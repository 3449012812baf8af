"""The 0020 migration creates the import tables as the models declare them, and its downgrade drops them."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

import orders_core.integration.tables
import orders_core.master_data.tables  # noqa: F401
from infra.db import make_engine
from tests.orders_core.migration_support import migrate_to, schema_diffs

TABLES = {"import_runs", "import_records", "import_source_keys", "import_pending", "sku_pack_sizes"}


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def test_models_and_migration_agree(database_url: str) -> None:
    assert schema_diffs(database_url, TABLES) == []


def test_the_downgrade_drops_the_import_tables(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate_to(engine, "0020_integration")
    assert set(inspect(engine).get_table_names()) >= TABLES
    migrate_to(engine, "0016_analytics_index", down=True)
    assert not TABLES & set(inspect(engine).get_table_names())
    engine.dispose()
