"""The 0007 migration creates exactly what the webhook models declare (both backends)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import orders_core.orders.tables
import orders_core.transport.webhooks.tables  # noqa: F401  (registers the tables on Base.metadata)
from infra.db import Base, make_engine
from infra.migrate import upgrade

OWN_TABLES = {"webhook_deliveries", "webhook_attempts", "retired_webhook_secrets", "outbox"}


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def _tables_named(diff: object) -> set[str]:
    """Every table name a diff entry mentions (tables, columns, indexes, constraints)."""
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


def test_webhook_models_and_migration_agree(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        diffs = compare_metadata(context, Base.metadata)
    engine.dispose()
    ours = [d for d in diffs if _tables_named(d) & OWN_TABLES]
    assert ours == []
