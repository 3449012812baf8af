"""The 0005 migration creates exactly what the picking models declare (both backends)."""

from __future__ import annotations

import pytest

import orders_core.picking.tables  # noqa: F401  (registers the tables on Base.metadata)
from tests.orders_core.migration_support import schema_diffs

OWN_TABLES = {"sku_slots", "pick_tasks", "pick_task_steps"}


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def test_picking_models_and_migration_agree(database_url: str) -> None:
    ours = schema_diffs(database_url, OWN_TABLES)
    assert ours == []
