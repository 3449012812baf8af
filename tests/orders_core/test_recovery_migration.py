"""The 0013_i12_recovery migration creates exactly what the order priority, the back-order link and the
stock transfers declare (both backends), and downgrades to the carrier-events schema."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import orders_core.master_data.tables
import orders_core.orders.tables
import orders_core.stock.tables  # noqa: F401  (registers the tables on Base.metadata)
from infra.db import Base, make_engine
from infra.migrate import alembic_config, upgrade

OWN_TABLES = {"stock_transfers", "orders"}


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def _tables_named(diff: object) -> set[str]:
    found: set[str] = set()
    for item in diff if isinstance(diff, list) else [diff]:
        for part in item[1:] if isinstance(item, tuple) else ():
            if isinstance(part, str):
                found.add(part)
            for candidate in (part, getattr(part, "table", None)):
                name = getattr(candidate, "name", None)
                if isinstance(name, str):
                    found.add(name)
    return found


def test_recovery_models_and_migration_agree(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        diffs = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert [d for d in diffs if _tables_named(d) & OWN_TABLES] == []


def test_recovery_migration_downgrades_to_carrier_events(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0012_i12_waves")
    inspector = inspect(engine)
    assert "stock_transfers" not in inspector.get_table_names()
    columns = {c["name"] for c in inspector.get_columns("orders")}
    assert {"priority", "backorder_of"}.isdisjoint(columns) and "promised_by" in columns
    engine.dispose()
