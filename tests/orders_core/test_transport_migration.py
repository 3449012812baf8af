"""The 0006 migration creates exactly what the transport models declare (both backends), and downgrades."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import orders_core.master_data.tables
import orders_core.orders.tables
import orders_core.transport.tables  # noqa: F401  (registers the tables on Base.metadata)
from infra.db import Base, make_engine
from infra.migrate import alembic_config, upgrade

OWN_TABLES = {"waybills", "shipments", "customers", "orders"}


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def _tables_named(diff: object) -> set[str]:
    found: set[str] = set()
    items = diff if isinstance(diff, list) else [diff]
    for item in items:
        for part in item[1:] if isinstance(item, tuple) else ():
            if isinstance(part, str):
                found.add(part)
            name = getattr(part, "name", None)
            if isinstance(name, str):
                found.add(name)
            table = getattr(part, "table", None)
            if table is not None and isinstance(getattr(table, "name", None), str):
                found.add(table.name)
    return found


def test_transport_models_and_migration_agree(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        diffs = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert [d for d in diffs if _tables_named(d) & OWN_TABLES] == []


def test_transport_migration_downgrades_to_picking(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0005_picking")
    inspector = inspect(engine)
    assert "waybills" not in inspector.get_table_names()
    assert "carrier_id" not in {c["name"] for c in inspector.get_columns("shipments")}
    assert "phone" not in {c["name"] for c in inspector.get_columns("customers")}
    engine.dispose()
