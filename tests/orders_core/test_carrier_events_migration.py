"""The 0007 and 0008 migrations create exactly what the promise column and the callback tables declare
(both backends), and downgrade to the transport schema."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

import orders_core.master_data.tables
import orders_core.orders.tables
import orders_core.transport.tables
import orders_core.transport.tracking_tables  # noqa: F401  (registers the tables on Base.metadata)
from infra.db import make_engine
from infra.migrate import upgrade
from tests.orders_core.migration_support import migrate_to, schema_diffs

OWN_TABLES = {"carrier_events", "shipment_tracking", "orders"}


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def test_callback_models_and_migrations_agree(database_url: str) -> None:
    assert schema_diffs(database_url, OWN_TABLES) == []


def test_callback_migrations_downgrade_to_delivery_routes(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    migrate_to(engine, "0007_delivery_routes", down=True)
    inspector = inspect(engine)
    assert {"carrier_events", "shipment_tracking"}.isdisjoint(inspector.get_table_names())
    assert "promised_by" not in {c["name"] for c in inspector.get_columns("orders")}
    assert "delivery_routes" in inspector.get_table_names()
    engine.dispose()
