"""The 0007 migration creates exactly what the delivery-route model declares (both backends), and downgrades."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

import orders_core.master_data.tables
import orders_core.transport.route_tables  # noqa: F401  (registers the table on Base.metadata)
from infra.db import make_engine
from infra.migrate import upgrade
from tests.orders_core.migration_support import migrate_to, model_diffs


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def test_delivery_routes_model_and_migration_agree(database_url: str) -> None:
    assert [d for d in model_diffs(database_url) if "delivery_routes" in repr(d)] == []


def test_delivery_routes_migration_downgrades_to_transport(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    assert "delivery_routes" in inspect(engine).get_table_names()
    migrate_to(engine, "0006_transport", down=True)
    assert "delivery_routes" not in inspect(engine).get_table_names()
    engine.dispose()
