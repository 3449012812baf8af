"""Reading one period's orders for the analytics: placement time and first-reached time per main-line node.

One grouped query over the orders placed in ``[start, end)``: the orders' ``created_at`` index picks the
period, the timeline's ``(order_id, status, at)`` index (migration 0016) answers each order's first time at
each node without reading the timeline rows themselves, and the nodes come back pivoted, one row per order
(``MIN(CASE status ...)``), as the driver's raw values: no order is read outside the period and no per-node
row or ORM type conversion is paid in Python. Percentiles are computed in Python (``stats``) because SQLite
has no percentile function.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, and_, case, func, select, type_coerce

from orders_core.analytics.stats import OrderReach
from orders_core.orders.model import MAIN_LINE, OrderStatus
from orders_core.orders.tables import OrderRow, TimelineRow
from orders_core.unit_of_work import UnitOfWorkFactory


def _utc(value: Any) -> datetime | None:
    """A stored time as the driver hands it (SQLite: ``YYYY-MM-DD HH:MM:SS.ffffff`` text in UTC; PostgreSQL: an
    aware datetime) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    moment: datetime = value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def orders_reached(new_uow: UnitOfWorkFactory, start: datetime, end: datetime) -> list[OrderReach]:
    """Every order placed in ``[start, end)`` (UTC) with the first time it reached each main-line node."""
    nodes = [status.value for status in MAIN_LINE]
    firsts = [
        type_coerce(func.min(case((TimelineRow.status == node, TimelineRow.at))), String()).label(f"n{i}")
        for i, node in enumerate(nodes)
    ]
    query = (
        select(OrderRow.id, type_coerce(OrderRow.created_at, String()).label("placed_at"), *firsts)
        .outerjoin(TimelineRow, and_(TimelineRow.order_id == OrderRow.id, TimelineRow.status.in_(nodes)))
        .where(OrderRow.created_at >= start, OrderRow.created_at < end)
        .group_by(OrderRow.id, OrderRow.created_at)
    )
    orders = []
    with new_uow() as uow:
        for row in uow.session.execute(query):
            placed_at = _utc(row[1])
            assert placed_at is not None
            reached = {}
            for i, status in enumerate(MAIN_LINE):
                at = _utc(row[2 + i])
                if at is not None:
                    reached[OrderStatus(status)] = at
            orders.append(OrderReach(row[0], placed_at, reached))
    return orders
