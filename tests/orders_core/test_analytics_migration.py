"""The 0016 migration adds the timeline index the analytics read through (both backends), as the model
declares it, and downgrades to 0015 without it."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect

import orders_core.master_data.tables
import orders_core.orders.tables  # noqa: F401  (registers the tables on Base.metadata)
from infra.db import make_engine
from tests.orders_core.migration_support import migrate_to, schema_diffs

INDEX = "ix_order_timeline_order_status_at"


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def _indexes(engine: Engine) -> dict[str, list[str | None]]:
    return {str(i["name"]): list(i["column_names"]) for i in inspect(engine).get_indexes("order_timeline")}


def test_models_and_migration_agree(database_url: str) -> None:
    assert schema_diffs(database_url, {"order_timeline"}) == []


def test_the_index_comes_with_0016_and_goes_with_its_downgrade(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate_to(engine, "0015_stock_protocol")
    assert INDEX not in _indexes(engine)
    migrate_to(engine, "0016_analytics_index")
    assert _indexes(engine)[INDEX] == ["order_id", "status", "at"]
    migrate_to(engine, "0015_stock_protocol", down=True)
    assert INDEX not in _indexes(engine)
    engine.dispose()
