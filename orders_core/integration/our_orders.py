"""Our orders of a period as canonical records (the field names of the mapping profiles' ``order`` entity).

One aggregate statement per call: the orders placed in ``[start, end)`` joined with their lines (count of
SKUs, units, line value), their shipments (warehouses) and the first time they were delivered (timeline),
each pre-aggregated per order in a sub-select so that the join never multiplies rows. Rows are streamed
(server-side cursor on PostgreSQL, ``yield_per`` batches), so a year of orders never sits in memory here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.orm import Session

from orders_core.integration.profile_records import ITEMS
from orders_core.integration.tables import ImportSourceKeyRow
from orders_core.orders.tables import OrderLineRow, OrderRow, ShipmentRow, TimelineRow
from orders_core.unit_of_work import UnitOfWorkFactory

#: Canonical order fields this read fills, beside the aggregates ``lines``, ``units`` and ``total``.
ORDER_FIELDS: tuple[str, ...] = (
    "order_no",
    "customer_id",
    "placed_at",
    "status",
    "delivery_lat",
    "delivery_lng",
    "delivery_address",
    "contact_name",
    "contact_phone",
    "cash_on_delivery",
    "promised_by",
    "delivered_at",
    "priority",
    "warehouse_id",
    "lines",
    "units",
    "total",
)
STREAM_BATCH = 1000


def _warehouses(session: Session) -> Any:
    """The distinct warehouses of an order's shipments as one text, per dialect (sorted again in Python)."""
    column = ShipmentRow.warehouse_id
    if session.get_bind().dialect.name == "postgresql":
        return func.string_agg(distinct(column), ",")
    return func.group_concat(distinct(column))


def summary_statement(
    session: Session, start: datetime, end: datetime, system: str | None = None
) -> Select[*tuple[Any, ...]]:
    """The one aggregate statement behind :func:`order_summaries` (exposed for EXPLAIN in tests)."""
    imported = (
        select(ImportSourceKeyRow.entity_id, ImportSourceKeyRow.source_key)
        .where(ImportSourceKeyRow.system == (system or ""), ImportSourceKeyRow.entity == "order")
        .subquery()
    )
    lines = (
        select(
            OrderLineRow.order_id,
            func.count(distinct(OrderLineRow.sku)).label("lines"),
            func.sum(OrderLineRow.qty).label("units"),
        )
        .group_by(OrderLineRow.order_id)
        .subquery()
    )
    shipments = (
        select(ShipmentRow.order_id, _warehouses(session).label("warehouses"))
        .where(ShipmentRow.status != "cancelled")
        .group_by(ShipmentRow.order_id)
        .subquery()
    )
    delivered = (
        select(TimelineRow.order_id, func.min(TimelineRow.at).label("delivered_at"))
        .where(TimelineRow.status == "delivered")
        .group_by(TimelineRow.order_id)
        .subquery()
    )
    return (
        select(
            func.coalesce(imported.c.source_key, OrderRow.id).label("order_no"),
            OrderRow.id,
            OrderRow.customer_id,
            OrderRow.created_at,
            OrderRow.status,
            OrderRow.delivery_lat,
            OrderRow.delivery_lng,
            OrderRow.delivery_address,
            OrderRow.delivery_contact_name,
            OrderRow.delivery_contact_phone,
            OrderRow.cash_on_delivery,
            OrderRow.promised_by,
            OrderRow.priority,
            OrderRow.total,
            lines.c.lines,
            lines.c.units,
            shipments.c.warehouses,
            delivered.c.delivered_at,
        )
        .outerjoin(lines, lines.c.order_id == OrderRow.id)
        .outerjoin(shipments, shipments.c.order_id == OrderRow.id)
        .outerjoin(delivered, delivered.c.order_id == OrderRow.id)
        .outerjoin(imported, imported.c.entity_id == OrderRow.id)
        .where(OrderRow.created_at >= start, OrderRow.created_at < end)
        .order_by(OrderRow.created_at, OrderRow.id)
    )


def order_summaries(
    new_uow: UnitOfWorkFactory, start: datetime, end: datetime, *, system: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every order placed in ``[start, end)`` as one canonical record, streamed in creation order.

    ``order_no`` is the other system's key for orders imported from ``system`` (``import_source_keys``), so
    both sides pair on the same key; our order id otherwise.
    """
    with new_uow() as uow:
        yield from _summaries(uow.session, start, end, system)


def _summaries(session: Session, start: datetime, end: datetime, system: str | None) -> Iterator[dict[str, Any]]:
    statement = summary_statement(session, start, end, system).execution_options(yield_per=STREAM_BATCH)
    for row in session.execute(statement):
        warehouses = sorted(set((row.warehouses or "").split(","))) if row.warehouses else []
        yield {
            "order_no": row.order_no,
            "_order_id": row.id,
            "customer_id": row.customer_id,
            "placed_at": row.created_at,
            "status": row.status,
            "delivery_lat": row.delivery_lat,
            "delivery_lng": row.delivery_lng,
            "delivery_address": row.delivery_address,
            "contact_name": row.delivery_contact_name,
            "contact_phone": row.delivery_contact_phone,
            "cash_on_delivery": bool(row.cash_on_delivery),
            "promised_by": row.promised_by,
            "delivered_at": row.delivered_at,  # MIN keeps the column's UTC type
            "priority": row.priority,
            "warehouse_id": ",".join(warehouses) or None,
            "lines": int(row.lines or 0),
            "units": int(row.units or 0),
            "total": Decimal(row.total),
        }


def order_records(
    new_uow: UnitOfWorkFactory,
    start: datetime,
    end: datetime,
    *,
    system: str | None = None,
    batch: int = STREAM_BATCH,
) -> Iterator[dict[str, Any]]:
    """:func:`order_summaries` with each order's lines (``items``: sku, qty, unit_price), in one transaction.

    Lines are fetched one query per batch of orders on the same session as the streamed aggregate (a second
    transaction would wait on SQLite's write lock held by the first).
    """
    with new_uow() as uow:
        chunk: list[dict[str, Any]] = []
        for record in _summaries(uow.session, start, end, system):
            chunk.append(record)
            if len(chunk) >= batch:
                yield from _with_items(uow.session, chunk)
                chunk = []
        if chunk:
            yield from _with_items(uow.session, chunk)


def _with_items(session: Session, chunk: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    items: dict[str, list[dict[str, Any]]] = {record["_order_id"]: [] for record in chunk}
    query = (
        select(OrderLineRow.order_id, OrderLineRow.sku, OrderLineRow.qty, OrderLineRow.unit_price)
        .where(OrderLineRow.order_id.in_(list(items)))
        .order_by(OrderLineRow.order_id, OrderLineRow.line_no)
    )
    for line in session.execute(query):
        items[line.order_id].append({"sku": line.sku, "qty": line.qty, "unit_price": Decimal(line.unit_price)})
    for record in chunk:
        yield {**record, ITEMS: items[record["_order_id"]]}
