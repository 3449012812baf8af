"""The 0007 migration creates exactly what the delivery-route model declares (both backends), and downgrades."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import orders_core.master_data.tables
import orders_core.transport.route_tables  # noqa: F401  (registers the table on Base.metadata)
from infra.db import Base, make_engine
from infra.migrate import alembic_config, upgrade


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def test_delivery_routes_model_and_migration_agree(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        diffs = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert [d for d in diffs if "delivery_routes" in repr(d)] == []


def test_delivery_routes_migration_downgrades_to_transport(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    assert "delivery_routes" in inspect(engine).get_table_names()
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0006_transport")
    assert "delivery_routes" not in inspect(engine).get_table_names()
    engine.dispose()
