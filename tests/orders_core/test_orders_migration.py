"""The 0002 migration creates exactly what the master-data and order models declare (both backends)."""

from __future__ import annotations

import pytest

import orders_core.master_data.tables
import orders_core.orders.tables  # noqa: F401  (registers the tables on Base.metadata)
from tests.orders_core.migration_support import model_diffs

OWN_TABLES = {
    "warehouses",
    "skus",
    "customers",
    "orders",
    "order_lines",
    "order_timeline",
    "order_exceptions",
    "outbox",
    "idempotency_keys",
    "payments",
    "shipments",
    "shipment_lines",
}


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def _table_of(diff: object) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:] if isinstance(item, tuple) else ():
        name = getattr(part, "name", None)
        table = getattr(part, "table", None)
        if table is not None and getattr(table, "name", None):
            return str(table.name)
        if isinstance(part, str) and part in OWN_TABLES:
            return part
        if name in OWN_TABLES:
            return str(name)
    return None


def test_models_and_migration_agree(database_url: str) -> None:
    ours = [d for d in model_diffs(database_url) if _table_of(d) in OWN_TABLES]
    assert ours == []
