"""The 0026 migration sums the day counts of 0025 per calendar month (both backends), as the model declares
the month table, and its downgrade removes it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine, inspect, text

import orders_core.orders.tables  # noqa: F401  (registers the tables on Base.metadata)
from infra.db import make_engine
from tests.orders_core.migration_support import migrate_to, schema_diffs

DAY_COUNTS = [
    (date(2026, 3, 1), "placed", "allocated", 300, 2),
    (date(2026, 3, 31), "placed", "allocated", 300, 5),
    (date(2026, 3, 31), "placed", "allocated", 301, 1),
    (date(2026, 4, 1), "placed", "allocated", 300, 7),
    (date(2026, 3, 15), "loaded", "delivered", 400, 3),
]


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def _day(engine: Engine, day: date) -> object:
    return day if engine.dialect.name == "postgresql" else day.isoformat()


def test_models_and_migration_agree(database_url: str) -> None:
    assert schema_diffs(database_url, {"stage_duration_month_counts", "stage_duration_deltas"}) == []


def test_the_day_counts_are_summed_per_month_and_the_downgrade_removes_them(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate_to(engine, "0025_stage_duration_counts")
    with engine.begin() as connection:
        for day, a, b, bucket, orders in DAY_COUNTS:
            connection.execute(
                text("INSERT INTO stage_duration_counts VALUES (:day, :a, :b, :bucket, :orders)"),
                {"day": _day(engine, day), "a": a, "b": b, "bucket": bucket, "orders": orders},
            )

    migrate_to(engine, "0026_stage_duration_months")

    with engine.connect() as connection:
        months = {
            (str(row[0])[:10], row[1], row[2], row[3]): row[4]
            for row in connection.execute(text("SELECT * FROM stage_duration_month_counts"))
        }
    assert months == {
        ("2026-03-01", "placed", "allocated", 300): 7,
        ("2026-03-01", "placed", "allocated", 301): 1,
        ("2026-04-01", "placed", "allocated", 300): 7,
        ("2026-03-01", "loaded", "delivered", 400): 3,
    }
    migrate_to(engine, "0025_stage_duration_counts", down=True)
    assert not {"stage_duration_month_counts", "stage_duration_deltas"} & set(inspect(engine).get_table_names())
    engine.dispose()
