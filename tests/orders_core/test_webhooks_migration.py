"""The 0007 migration creates exactly what the webhook models declare (both backends)."""

from __future__ import annotations

import pytest

import orders_core.orders.tables
import orders_core.transport.webhooks.tables  # noqa: F401  (registers the tables on Base.metadata)
from tests.orders_core.migration_support import schema_diffs

OWN_TABLES = {"webhook_deliveries", "webhook_attempts", "retired_webhook_secrets", "outbox"}


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def test_webhook_models_and_migration_agree(database_url: str) -> None:
    ours = schema_diffs(database_url, OWN_TABLES)
    assert ours == []
