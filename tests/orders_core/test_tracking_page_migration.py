"""The 0017 migration adds the carrier-events index the tracking page's delivery window reads through (both
backends), as the model declares it, and downgrades to 0016 without it."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect

import orders_core.orders.tables
import orders_core.transport.tracking_tables  # noqa: F401  (registers the tables on Base.metadata)
from infra.db import make_engine
from tests.orders_core.migration_support import migrate_to, schema_diffs

INDEX = "ix_carrier_events_carrier_type_id"


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def _indexes(engine: Engine) -> dict[str, list[str | None]]:
    return {str(i["name"]): list(i["column_names"]) for i in inspect(engine).get_indexes("carrier_events")}


def test_models_and_migration_agree(database_url: str) -> None:
    assert schema_diffs(database_url, {"carrier_events"}) == []


def test_the_index_comes_with_0017_and_goes_with_its_downgrade(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate_to(engine, "0023_reconciliation")
    assert INDEX not in _indexes(engine)
    migrate_to(engine, "0017_tracking_page")
    assert _indexes(engine)[INDEX] == ["carrier_id", "type", "id"]
    migrate_to(engine, "0023_reconciliation", down=True)
    assert INDEX not in _indexes(engine)
    engine.dispose()
