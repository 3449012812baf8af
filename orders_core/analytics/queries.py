"""Reading one period's orders for the analytics: placement time and first-reached time per main-line node.

One grouped query (``MIN(at)`` per order and node) over the orders placed in ``[start, end)``: the orders'
``created_at`` index picks the period, the timeline's ``(order_id, status, at)`` index (migration 0016)
answers each order's nodes without reading the timeline rows themselves. Percentiles are computed in
Python (``stats``) because SQLite has no percentile function.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from orders_core.analytics.stats import OrderReach
from orders_core.orders.model import MAIN_LINE, OrderStatus
from orders_core.orders.tables import OrderRow, TimelineRow
from orders_core.unit_of_work import UnitOfWorkFactory


def orders_reached(new_uow: UnitOfWorkFactory, start: datetime, end: datetime) -> list[OrderReach]:
    """Every order placed in ``[start, end)`` (UTC) with the first time it reached each main-line node."""
    placed = select(OrderRow.id, OrderRow.created_at).where(OrderRow.created_at >= start, OrderRow.created_at < end)
    firsts = (
        select(TimelineRow.order_id, TimelineRow.status, func.min(TimelineRow.at).label("at"))
        .join(OrderRow, OrderRow.id == TimelineRow.order_id)
        .where(OrderRow.created_at >= start, OrderRow.created_at < end)
        .where(TimelineRow.status.in_([status.value for status in MAIN_LINE]))
        .group_by(TimelineRow.order_id, TimelineRow.status)
    )
    with new_uow() as uow:
        orders = {row.id: OrderReach(row.id, row.created_at, {}) for row in uow.session.execute(placed)}
        for row in uow.session.execute(firsts):
            orders[row.order_id].reached[OrderStatus(row.status)] = row.at  # MIN keeps the column's UTC type
    return list(orders.values())
