"""The root-cause Pareto and drill-down read through indexes, not a scan of every exception or order
(SQLite's EXPLAIN QUERY PLAN on the migrated schema: the plan does not depend on table statistics there)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Select, text

from infra.db import make_engine
from infra.migrate import upgrade
from orders_core.analytics.root_cause_queries import CauseFilter, Dimension, DrillDown, _grouped, orders_query
from orders_core.orders.tables import OrderRow

MARCH = CauseFilter(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))


def _plan(database_url: str, query: Select[object]) -> list[str]:
    engine = make_engine(database_url)
    upgrade(engine)
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        plan = [str(row[-1]) for row in connection.execute(text("EXPLAIN QUERY PLAN " + sql))]
    engine.dispose()
    return plan


def _scans(plan: list[str]) -> list[str]:
    """Steps that read a whole table (SQLite says SCAN; a SCAN of a covering index over a period is still one)."""
    return [step for step in plan if step.startswith("SCAN")]


@pytest.mark.parametrize("dimension", list(Dimension))
@pytest.mark.parametrize("where", [MARCH, CauseFilter(MARCH.start, MARCH.end, "address", "W1")])
def test_the_pareto_searches_exceptions_by_period_and_joins_by_index(
    sqlite_database_url: str, dimension: Dimension, where: CauseFilter
) -> None:
    plan = _plan(sqlite_database_url, _grouped(dimension, where))
    assert _scans(plan) == [], plan
    assert any(step.startswith("SEARCH order_exceptions USING") and "created_at>" in step for step in plan), plan


def test_the_drill_down_starts_from_the_periods_exceptions(sqlite_database_url: str) -> None:
    where = CauseFilter(MARCH.start, MARCH.end, "address", "W1")
    drill = DrillDown(warehouse="W1", customer="C1", sku="S1", carrier="")
    query = orders_query(where, drill).order_by(OrderRow.created_at, OrderRow.id).limit(51)
    plan = _plan(sqlite_database_url, query)
    assert [step for step in _scans(plan) if step != "SCAN matching"] == [], plan
    assert any("ix_order_exceptions_cause_created_order" in step for step in plan), plan
    assert any(step.startswith("SEARCH orders USING") and "(id=?)" in step for step in plan), plan
