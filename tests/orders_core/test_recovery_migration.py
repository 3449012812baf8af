"""The 0013_i12_recovery migration creates exactly what the order priority, the back-order link and the
stock transfers declare (both backends), and downgrades to the carrier-events schema."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

import orders_core.master_data.tables
import orders_core.orders.tables
import orders_core.stock.tables  # noqa: F401  (registers the tables on Base.metadata)
from infra.db import make_engine
from infra.migrate import upgrade
from tests.orders_core.migration_support import migrate_to, schema_diffs

OWN_TABLES = {"stock_transfers", "orders"}


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def test_recovery_models_and_migration_agree(database_url: str) -> None:
    assert schema_diffs(database_url, OWN_TABLES) == []


def test_recovery_migration_downgrades_to_carrier_events(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    migrate_to(engine, "0012_i12_waves", down=True)
    inspector = inspect(engine)
    assert "stock_transfers" not in inspector.get_table_names()
    columns = {c["name"] for c in inspector.get_columns("orders")}
    assert {"priority", "backorder_of"}.isdisjoint(columns) and "promised_by" in columns
    engine.dispose()
