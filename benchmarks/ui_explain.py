"""The query plans behind the slowest-looking pages, as each backend chooses them (``bench ui --explain``):
``EXPLAIN (ANALYZE, BUFFERS)`` on PostgreSQL, ``EXPLAIN QUERY PLAN`` on SQLite, for the map's heat counts
and the analytics' aggregates over the last week, so a reader sees indexes at work rather than scans of orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, text

from orders_core.analytics.aggregates import explained_queries
from orders_core.map.model import HeatKind
from orders_core.map.queries import ACTIVE_SHIPMENT_STATES, heat_query
from orders_core.orders.tables import ShipmentRow


def query_plans(engine: Engine, *, resolution: int = 7) -> dict[str, list[str]]:
    """Plan lines per query name."""
    now = datetime.now(UTC)
    week_ago = now - timedelta(days=7)
    queries: dict[str, Any] = {
        "map_heat_demand": heat_query(HeatKind.DEMAND, resolution, week_ago, now, now),
        "map_heat_late": heat_query(HeatKind.LATE, resolution, week_ago, now, now),
        "map_active_shipments": select(ShipmentRow.carrier_id).where(ShipmentRow.status.in_(ACTIVE_SHIPMENT_STATES)),
    }
    queries.update(explained_queries(engine.dialect.name, week_ago, now))
    postgres = engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    plans: dict[str, list[str]] = {}
    with engine.connect() as connection:
        for name, query in queries.items():
            sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
            rows = connection.execute(text(prefix + sql)).all()
            plans[name] = [str(row[0]) if postgres else str(row[-1]) for row in rows]
    return plans
