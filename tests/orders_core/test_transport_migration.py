"""The 0006 migration creates exactly what the transport models declare (both backends), and downgrades."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

import orders_core.master_data.tables
import orders_core.orders.tables
import orders_core.transport.tables  # noqa: F401  (registers the tables on Base.metadata)
from infra.db import make_engine
from infra.migrate import upgrade
from tests.orders_core.migration_support import migrate_to, schema_diffs

OWN_TABLES = {"waybills", "shipments", "customers", "orders"}


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def test_transport_models_and_migration_agree(database_url: str) -> None:
    assert schema_diffs(database_url, OWN_TABLES) == []


def test_transport_migration_downgrades_to_picking(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    migrate_to(engine, "0005_picking", down=True)
    inspector = inspect(engine)
    assert "waybills" not in inspector.get_table_names()
    assert "carrier_id" not in {c["name"] for c in inspector.get_columns("shipments")}
    assert "phone" not in {c["name"] for c in inspector.get_columns("customers")}
    engine.dispose()
