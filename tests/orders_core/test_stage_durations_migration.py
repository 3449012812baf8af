"""The 0025 migration counts the durations of the orders stored before it and sets their furthest node (both
backends), as the model declares the table, column and index, and its downgrade removes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import shapely
from sqlalchemy import Engine, inspect, text

import orders_core.master_data.tables
import orders_core.orders.tables  # noqa: F401  (registers the tables on Base.metadata)
from infra.db import make_engine
from orders_core.orders.stage_durations import BUCKETS
from tests.orders_core.migration_support import migrate_to, schema_diffs

CREATED = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def _stored(engine: Engine, value: datetime) -> object:
    return value if engine.dialect.name == "postgresql" else value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _insert_order(engine: Engine, order_id: str, firsts: dict[str, datetime]) -> None:
    postgis = engine.dialect.name == "postgresql"
    location = "ST_GeomFromText('POINT(120.15 30.27)', 4326)" if postgis else ":wkb"
    columns = "".join(f", first_{node}_at" for node in firsts)
    values = "".join(f", :{node}" for node in firsts)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO orders (id, customer_id, status, price_ok, credit_ok, total, payment_status,"
                f" delivery_lat, delivery_lng, delivery_location, created_at, updated_at, tracking_token{columns})"
                " VALUES (:id, 'C1', 'allocated', true, true, 10, 'not_required', 30.27, 120.15,"
                f" {location}, :created, :created, :id{values})"
            ),
            {
                "id": order_id,
                "created": _stored(engine, CREATED),
                "wkb": shapely.Point(120.15, 30.27).wkb,
                **{node: _stored(engine, at) for node, at in firsts.items()},
            },
        )


def test_models_and_migration_agree(database_url: str) -> None:
    assert schema_diffs(database_url, {"orders", "stage_duration_counts"}) == []


def test_earlier_orders_are_counted_and_the_downgrade_removes_the_counts(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate_to(engine, "0024_ui_perf")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO customers (id, name, credit_limit, overdue_amount, prepaid, created_at, updated_at)"
                " VALUES ('C1', 'Shop', 100, 0, false, :now, :now)"
            ),
            {"now": _stored(engine, CREATED)},
        )
    allocated = CREATED + timedelta(minutes=5)
    delivered = CREATED + timedelta(hours=6)
    _insert_order(engine, "ord_a", {"placed": CREATED, "allocated": allocated})
    _insert_order(engine, "ord_b", {"placed": CREATED, "allocated": allocated, "delivered": delivered})
    _insert_order(engine, "ord_c", {})  # stored before the timeline had 'placed': placement is creation

    migrate_to(engine, "0025_stage_duration_counts")

    with engine.connect() as connection:
        counts = {
            (str(row[0])[:10], row[1], row[2], row[3]): row[4]
            for row in connection.execute(
                text("SELECT day, from_node, to_node, bucket, orders FROM stage_duration_counts")
            )
        }
        furthest: dict[str, int] = dict(connection.execute(text("SELECT id, furthest_node FROM orders")).all())
    five_minutes, six_hours = BUCKETS.key(300.0), BUCKETS.key(6 * 3600.0)
    assert counts == {
        ("2026-03-01", "placed", "allocated", five_minutes): 2,
        ("2026-03-01", "placed", "delivered", six_hours): 1,
    }
    assert furthest == {"ord_a": 3, "ord_b": 7, "ord_c": 0}
    indexes = {str(i["name"]): list(i["column_names"]) for i in inspect(engine).get_indexes("orders")}
    assert indexes["ix_orders_created_at_furthest"] == ["created_at", "furthest_node"]

    migrate_to(engine, "0024_ui_perf", down=True)
    assert "stage_duration_counts" not in inspect(engine).get_table_names()
    assert "furthest_node" not in {c["name"] for c in inspect(engine).get_columns("orders")}
    engine.dispose()
