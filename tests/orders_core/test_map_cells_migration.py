"""The 0024 migration stores the delivery point's H3 cells on every order placed before it (both backends),
as the order model declares them with their index, and downgrades to 0016 without them."""

from __future__ import annotations

from datetime import UTC, datetime

import h3
import pytest
import shapely
from sqlalchemy import Engine, inspect, text

import orders_core.master_data.tables
import orders_core.orders.tables  # noqa: F401  (registers the tables on Base.metadata)
from geo.h3_cells import HEAT_RESOLUTIONS
from infra.db import make_engine
from tests.orders_core.migration_support import migrate_to, model_diffs, tables_named

POINTS = {"ord_a": (31.23, 121.47), "ord_b": (30.27, 120.15), "ord_c": (30.2712, 120.1534)}


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def _insert_order(engine: Engine, order_id: str, lat: float, lng: float) -> None:
    postgis = engine.dialect.name == "postgresql"
    location = f"ST_GeomFromText('POINT({lng} {lat})', 4326)" if postgis else ":wkb"
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO orders (id, customer_id, status, price_ok, credit_ok, total, payment_status,"
                " delivery_lat, delivery_lng, delivery_location, created_at, updated_at, tracking_token)"
                " VALUES (:id, 'C1', 'allocated', true, true, 10, 'not_required', :lat, :lng,"
                f" {location}, :now, :now, :id)"
            ),
            {"id": order_id, "lat": lat, "lng": lng, "now": datetime.now(UTC), "wkb": shapely.Point(lng, lat).wkb},
        )


def test_models_and_migration_agree(database_url: str) -> None:
    assert [d for d in model_diffs(database_url) if "orders" in tables_named(d)] == []


def test_earlier_orders_get_their_cells_and_the_downgrade_removes_them(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate_to(engine, "0016_analytics_index")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO customers (id, name, credit_limit, overdue_amount, prepaid, created_at, updated_at)"
                " VALUES ('C1', 'Shop', 100, 0, false, :now, :now)"
            ),
            {"now": datetime.now(UTC)},
        )
    for order_id, (lat, lng) in POINTS.items():
        _insert_order(engine, order_id, lat, lng)
    placed, allocated, again = (datetime(2026, 3, 1, 8, minute, tzinfo=UTC) for minute in (0, 5, 30))
    with engine.begin() as connection:
        for status, at in (("placed", placed), ("allocated", allocated), ("on_hold", again), ("allocated", again)):
            connection.execute(
                text("INSERT INTO order_timeline (order_id, status, at, actor) VALUES ('ord_a', :s, :at, 'test')"),
                {"s": status, "at": at if engine.dialect.name == "postgresql" else at.strftime("%Y-%m-%d %H:%M:%S.%f")},
            )
    migrate_to(engine, "0024_ui_perf")
    with engine.connect() as connection:
        firsts = connection.execute(
            text("SELECT first_placed_at, first_allocated_at, first_loaded_at FROM orders WHERE id = 'ord_a'")
        ).one()
    as_utc = [None if v is None else datetime.fromisoformat(str(v)).replace(tzinfo=UTC) for v in firsts]
    assert as_utc == [placed, allocated, None]  # the first time each node was reached; never reached: NULL
    columns = ", ".join(f"delivery_h3_r{res}" for res in HEAT_RESOLUTIONS)
    with engine.connect() as connection:
        rows = {row[0]: row[1:] for row in connection.execute(text(f"SELECT id, {columns} FROM orders")).all()}
    for order_id, (lat, lng) in POINTS.items():
        expected = tuple(h3.str_to_int(h3.latlng_to_cell(lat, lng, res)) for res in HEAT_RESOLUTIONS)
        assert rows[order_id] == expected
    indexes = {str(i["name"]): list(i["column_names"]) for i in inspect(engine).get_indexes("orders")}
    assert indexes["ix_orders_created_at_h3"] == ["created_at", *(f"delivery_h3_r{r}" for r in HEAT_RESOLUTIONS)]
    migrate_to(engine, "0016_analytics_index", down=True)
    names = {c["name"] for c in inspect(engine).get_columns("orders")}
    assert not {n for n in names if n.startswith("delivery_h3_")}
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM orders")).scalar_one() == 3
    engine.dispose()
