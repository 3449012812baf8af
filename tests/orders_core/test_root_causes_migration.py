"""The 0019 migration (both backends): the model and the migrated schema agree; existing exceptions get a
root cause from their kind, stock shortages that waited for supply become supplier lead time; the
downgrade removes the column and the indexes."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

import orders_core.master_data.tables
import orders_core.orders.tables  # noqa: F401  (registers the tables on Base.metadata)
from infra.db import make_engine
from infra.migrate import alembic_config
from tests.orders_core.migration_support import migrate_to, schema_diffs

#: id -> (kind, status, details, note, root cause expected after the upgrade).
ROWS = {
    "e1": ("price_conflict", "open", {}, None, "price_rule"),
    "e2": ("credit_overdue", "approved", {}, None, "credit"),
    "e3": ("stock_shortage", "open", {"missing": {"S1": 2}}, None, "supplier_lead_time"),
    "e4": (
        "stock_shortage",
        "approved",
        {"missing": {}, "resolution": {"strategy": "transfer"}},
        None,
        "supplier_lead_time",
    ),
    "e5": (
        "stock_shortage",
        "approved",
        {"missing": {}, "resolution": {"strategy": "ship_available"}},
        None,
        "stock_shortage",
    ),
    "e6": ("stock_shortage", "closed", {"missing": {}}, "resolved automatically: stock arrived", "supplier_lead_time"),
    "e7": ("delivered_far_from_dropoff", "open", {}, None, "data_sync"),
    "e8": ("shipment_returned", "open", {}, None, "failed_delivery"),
    "e9": ("some_old_kind", "open", {}, None, "manual_hold"),
}


#: The revision before 0019 (read from the script: the integrator may re-chain it).
BEFORE = str(ScriptDirectory.from_config(alembic_config()).get_revision("0019_root_causes").down_revision)


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def _indexes(engine: Engine, table: str) -> set[str]:
    return {str(i["name"]) for i in inspect(engine).get_indexes(table)}


def test_models_and_migration_agree(database_url: str) -> None:
    assert schema_diffs(database_url, {"order_exceptions", "order_lines", "shipments"}) == []


def test_upgrade_backfills_root_causes_and_downgrade_removes_them(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate_to(engine, BEFORE)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO customers (id, name, credit_limit, overdue_amount, prepaid, created_at, updated_at)"
                " VALUES ('C1', 'C1', 0, 0, false, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
        connection.execute(
            sa.text(
                "INSERT INTO orders (id, customer_id, status, price_ok, credit_ok, total, payment_status,"
                " delivery_lat, delivery_lng, delivery_location, created_at, updated_at, priority, tracking_token,"
                " cash_on_delivery) VALUES ('o1', 'C1', 'on_hold', false, false, 1, 'not_required', 31.0, 121.0,"
                + (
                    "ST_GeomFromText('POINT(121 31)', 4326)"
                    if engine.dialect.name == "postgresql"
                    else "X'0101000000000000000040'"
                )
                + ", '2026-01-01 00:00:00', '2026-01-01 00:00:00', 'normal', 't1', false)"
            )
        )
        for exception_id, (kind, status, details, note, _) in ROWS.items():
            connection.execute(
                sa.text(
                    "INSERT INTO order_exceptions (id, order_id, kind, status, message, details, created_at, note)"
                    " VALUES (:id, 'o1', :kind, :status, 'm', :details, '2026-01-01 00:00:00', :note)"
                ),
                {"id": exception_id, "kind": kind, "status": status, "details": json.dumps(details), "note": note},
            )
    migrate_to(engine, "0019_root_causes")
    with engine.connect() as connection:
        stored: dict[str, str] = dict(connection.execute(sa.text("SELECT id, root_cause FROM order_exceptions")).all())
    assert stored == {exception_id: row[-1] for exception_id, row in ROWS.items()}
    assert "ix_order_exceptions_created_cause_order" in _indexes(engine, "order_exceptions")
    assert "ix_shipments_order_warehouse_carrier" in _indexes(engine, "shipments")
    migrate_to(engine, BEFORE, down=True)
    columns = {c["name"] for c in inspect(engine).get_columns("order_exceptions")}
    assert "root_cause" not in columns
    assert "ix_order_lines_order_sku" not in _indexes(engine, "order_lines")
    engine.dispose()
