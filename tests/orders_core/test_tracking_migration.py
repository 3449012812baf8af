"""The 0014 migration adds exactly the tracking token the order model declares (both backends), gives
every order placed before it a distinct token (NOT NULL, unique), and downgrades to 0013."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
import shapely
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

import orders_core.master_data.tables
import orders_core.orders.tables  # noqa: F401  (registers the tables on Base.metadata)
from infra.db import make_engine
from tests.orders_core.migration_support import migrate_to, model_diffs, tables_named


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def _insert_order(engine: Engine, order_id: str, **extra: Any) -> None:
    postgis = engine.dialect.name == "postgresql"
    location = "ST_GeomFromText('POINT(121.47 31.23)', 4326)" if postgis else ":wkb"
    columns = ", ".join(["id", *extra])
    values = ", ".join([":id", *(f":{key}" for key in extra)])
    with engine.begin() as connection:
        connection.execute(
            text(
                f"INSERT INTO orders ({columns}, customer_id, status, price_ok, credit_ok, total, payment_status,"
                " delivery_lat, delivery_lng, delivery_location, created_at, updated_at)"
                f" VALUES ({values}, 'C1', 'allocated', true, true, 10, 'not_required', 31.23, 121.47,"
                f" {location}, :now, :now)"
            ),
            {"id": order_id, "now": datetime.now(UTC), "wkb": shapely.Point(121.47, 31.23).wkb, **extra},
        )


def test_models_and_migration_agree(database_url: str) -> None:
    assert [d for d in model_diffs(database_url) if "orders" in tables_named(d)] == []


def test_earlier_orders_get_distinct_tokens_and_the_downgrade_removes_them(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate_to(engine, "0013_i12_recovery")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO customers (id, name, credit_limit, overdue_amount, prepaid, created_at, updated_at)"
                " VALUES ('C1', 'Shop', 100, 0, false, :now, :now)"
            ),
            {"now": datetime.now(UTC)},
        )
    for n in range(3):
        _insert_order(engine, f"ord_{n}")
    migrate_to(engine, "0014_tracking")
    with engine.connect() as connection:
        tokens: dict[str, str] = dict(connection.execute(text("SELECT id, tracking_token FROM orders")).all())
    assert set(tokens) == {"ord_0", "ord_1", "ord_2"}
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{32}", token) for token in tokens.values())
    assert len(set(tokens.values())) == 3
    column = next(c for c in inspect(engine).get_columns("orders") if c["name"] == "tracking_token")
    assert column["nullable"] is False
    with pytest.raises(IntegrityError):  # a token names one order
        _insert_order(engine, "ord_dup", tracking_token=tokens["ord_0"])
    with pytest.raises(IntegrityError):  # every order has one
        _insert_order(engine, "ord_none")
    migrate_to(engine, "0013_i12_recovery", down=True)
    assert "tracking_token" not in {c["name"] for c in inspect(engine).get_columns("orders")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM orders")).scalar_one() == 3
    engine.dispose()
