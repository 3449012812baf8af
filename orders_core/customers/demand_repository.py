"""Ordered quantities per customer and SKU over a period: one grouped statement (the default demand's input)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from foundation.columns import UtcDateTime
from orders_core.orders.model import OrderStatus
from orders_core.orders.tables import OrderLineRow, OrderRow


def ordered_qty(
    session: Session, customer_ids: Sequence[str], start: datetime, end: datetime
) -> dict[str, dict[str, int]]:
    """customer -> sku -> units ordered in ``[start, end)`` by orders not cancelled."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(OrderRow.customer_id, OrderLineRow.sku, func.sum(OrderLineRow.qty))
        .join(OrderLineRow, OrderLineRow.order_id == OrderRow.id)
        .where(
            OrderRow.customer_id.in_(list(customer_ids)),
            OrderRow.status != OrderStatus.CANCELLED.value,
            OrderRow.created_at >= literal(start, UtcDateTime()),
            OrderRow.created_at < literal(end, UtcDateTime()),
        )
        .group_by(OrderRow.customer_id, OrderLineRow.sku)
    )
    answer: dict[str, dict[str, int]] = {}
    for cid, sku, qty in rows:
        answer.setdefault(cid, {})[sku] = int(qty or 0)
    return answer
