"""The 0015 migration adds the reserved <= on_hand CHECK the stock model declares (both backends), refuses to
run over a row that already breaks it, and downgrades to 0014."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

import orders_core.stock.tables  # noqa: F401  (registers the tables on Base.metadata)
from infra.db import make_engine
from tests.orders_core.migration_support import migrate_to, schema_diffs

CHECK = "ck_stock_levels_reserved_within_on_hand"


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """These tests run the migrations themselves: they start from an empty database."""
    return empty_database_url


def _level(engine: Engine, sku: str, on_hand: int, reserved: int) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO stock_levels (warehouse_id, sku, on_hand, reserved, updated_at)"
                " VALUES ('w1', :sku, :on_hand, :reserved, :now)"
            ),
            {"sku": sku, "on_hand": on_hand, "reserved": reserved, "now": datetime.now(UTC)},
        )


def _checks(engine: Engine) -> set[str]:
    return {str(c["name"]) for c in inspect(engine).get_check_constraints("stock_levels")}


def test_models_and_migration_agree(database_url: str) -> None:
    assert schema_diffs(database_url, {"stock_levels", "stock_reservations"}) == []


def test_the_check_refuses_an_oversell_and_the_downgrade_removes_it(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate_to(engine, "0014_tracking")
    _level(engine, "a", 5, 5)
    assert CHECK not in _checks(engine)
    migrate_to(engine, "0015_stock_protocol")
    assert CHECK in _checks(engine)
    assert len(_checks(engine)) == 3  # the two older checks survive the rebuild of the table (SQLite)
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("UPDATE stock_levels SET reserved = 6 WHERE sku = 'a'"))
    migrate_to(engine, "0014_tracking", down=True)
    assert CHECK not in _checks(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE stock_levels SET reserved = 6 WHERE sku = 'a'"))
    engine.dispose()


def test_the_upgrade_stops_over_an_oversold_row_and_names_it(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate_to(engine, "0014_tracking")
    _level(engine, "b", 2, 3)
    with pytest.raises(RuntimeError, match="w1/b: 3 reserved of 2"):
        migrate_to(engine, "0015_stock_protocol")
    assert CHECK not in _checks(engine)
    engine.dispose()
