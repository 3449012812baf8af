"""Reading one period's orders for the analytics: placement time and first-reached time per main-line node.

One indexed read: the orders' ``created_at`` index picks the orders placed in ``[start, end)``, and each
order's row carries the first time it reached every node (``first_<node>_at``, kept as its timeline is
written: ``orders_core.orders.milestones``, migration 0024), so no timeline row is grouped at request time
and nothing outside the period is read. Values come back as the driver hands them (no per-value ORM type
conversion). Percentiles are computed in Python (``stats``) because SQLite has no percentile function.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, String, select, type_coerce

from orders_core.analytics.stats import OrderReach
from orders_core.orders.milestones import MILESTONE_COLUMNS
from orders_core.orders.model import OrderStatus
from orders_core.orders.tables import OrderRow
from orders_core.unit_of_work import UnitOfWorkFactory

_NODES = [OrderStatus(status) for status in MILESTONE_COLUMNS]


def _utc(value: Any) -> datetime | None:
    """A stored time as the driver hands it (SQLite: ``YYYY-MM-DD HH:MM:SS.ffffff`` text in UTC; PostgreSQL: an
    aware datetime) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):  # parsed with its zone in one C call (``replace(tzinfo=...)`` costs as much again)
        return datetime.fromisoformat(value + "+00:00")
    moment: datetime = value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def reached_query(start: datetime, end: datetime) -> Select[*tuple[Any, ...]]:
    """The read behind ``orders_reached`` (also EXPLAINed by ``dispatch bench ui --explain``)."""
    raw = [type_coerce(OrderRow.created_at, String())] + [
        type_coerce(getattr(OrderRow, column), String()) for column in MILESTONE_COLUMNS.values()
    ]
    return select(OrderRow.id, *raw).where(OrderRow.created_at >= start, OrderRow.created_at < end)


def orders_reached(new_uow: UnitOfWorkFactory, start: datetime, end: datetime) -> list[OrderReach]:
    """Every order placed in ``[start, end)`` (UTC) with the first time it reached each main-line node."""
    query = reached_query(start, end)
    orders = []
    with new_uow() as uow:
        for row in uow.session.execute(query):
            placed_at = _utc(row[1])
            assert placed_at is not None
            reached = {}
            for node, value in zip(_NODES, row[2:], strict=True):
                at = _utc(value)
                if at is not None:
                    reached[node] = at
            orders.append(OrderReach(row[0], placed_at, reached))
    return orders
