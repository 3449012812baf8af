"""The 0011 migration creates exactly what the customer expiry column and the amendment table declare
(both backends), gives a temporary limit granted before it an expiry, and downgrades to 0010."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import inspect, text

import orders_core.master_data.tables
import orders_core.orders.amendment_tables
import orders_core.orders.tables  # noqa: F401  (registers the tables on Base.metadata)
from infra.db import make_engine
from tests.orders_core.migration_support import migrate_to, schema_diffs

OWN_TABLES = {"customers", "order_amendments"}


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def test_models_and_migration_agree(database_url: str) -> None:
    assert schema_diffs(database_url, OWN_TABLES) == []


def test_an_earlier_temporary_limit_gets_an_expiry_and_the_downgrade_removes_it(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate_to(engine, "0010_webhooks")
    now = datetime.now(UTC)
    with engine.begin() as connection:
        for cid, temporary in (("C1", 500), ("C2", None)):
            connection.execute(
                text(
                    "INSERT INTO customers (id, name, credit_limit, temporary_credit_limit, overdue_amount, prepaid,"
                    " created_at, updated_at) VALUES (:id, :id, 100, :t, 0, false, :now, :now)"
                ),
                {"id": cid, "t": temporary, "now": now},
            )
    migrate_to(engine, "0011_i12_credit")
    with engine.connect() as connection:
        rows: dict[str, Any] = dict(
            connection.execute(text("SELECT id, temporary_credit_limit_expires_at FROM customers")).all()
        )
    assert rows["C2"] is None
    expires = rows["C1"]
    expires = datetime.fromisoformat(expires) if isinstance(expires, str) else expires
    expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
    assert abs(expires - (now + timedelta(days=7))) < timedelta(minutes=5)
    migrate_to(engine, "0010_webhooks", down=True)
    inspector = inspect(engine)
    assert "order_amendments" not in inspector.get_table_names()
    assert "temporary_credit_limit_expires_at" not in {c["name"] for c in inspector.get_columns("customers")}
    engine.dispose()
