"""The desk's lists of orders and exceptions: filters a working day needs, on the shared keyset pagination.

Filters combine with AND; a list filter (statuses, kinds) matches any of its values. ``warehouse_id`` means
"has a shipment from that warehouse"; ``q`` searches an order's id, delivery address and contact and its
customer's name (case-insensitive substring).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import or_, select

from infra.pagination import Page, PageRequest, contains_text, keyset_page
from orders_core.master_data.tables import CustomerRow
from orders_core.orders.model import ExceptionView, OrderView
from orders_core.orders.repository import OrderRepository, _exception_view
from orders_core.orders.tables import ExceptionRow, OrderRow, ShipmentRow
from orders_core.unit_of_work import UnitOfWorkFactory

#: Statuses an exception can be in (the exceptions list refuses others).
EXCEPTION_STATUSES = ("open", "approved", "rejected", "closed")


def order_page(
    new_uow: UnitOfWorkFactory,
    request: PageRequest,
    *,
    statuses: Collection[str] | None = None,
    customer_id: str | None = None,
    warehouse_id: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    q: str | None = None,
) -> Page[OrderView]:
    """Orders by creation time, filtered."""
    query = select(OrderRow)
    if statuses:
        query = query.where(OrderRow.status.in_(list(statuses)))
    if customer_id is not None:
        query = query.where(OrderRow.customer_id == customer_id)
    if warehouse_id is not None:
        query = query.where(
            OrderRow.id.in_(select(ShipmentRow.order_id).where(ShipmentRow.warehouse_id == warehouse_id))
        )
    if created_from is not None:
        query = query.where(OrderRow.created_at >= created_from)
    if created_to is not None:
        query = query.where(OrderRow.created_at < created_to)
    if q:
        query = query.where(
            or_(
                contains_text(OrderRow.id, q),
                contains_text(OrderRow.delivery_address, q),
                contains_text(OrderRow.delivery_contact_name, q),
                OrderRow.customer_id.in_(select(CustomerRow.id).where(contains_text(CustomerRow.name, q))),
            )
        )
    with new_uow() as uow:
        repository = OrderRepository(uow.session)
        rows, next_cursor = keyset_page(uow.session, query, (OrderRow.created_at, OrderRow.id), request)
        return Page(repository._views(rows), next_cursor)


def exception_page(
    new_uow: UnitOfWorkFactory,
    request: PageRequest,
    *,
    statuses: Collection[str] | None = None,
    kinds: Collection[str] | None = None,
    order_id: str | None = None,
    warehouse_id: str | None = None,
    visible_to_warehouse: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
) -> Page[ExceptionView]:
    """Exceptions by creation time, filtered (``warehouse_id``: of orders with a shipment from there;
    ``visible_to_warehouse``: those, and those of orders with no shipment yet, which belong to no warehouse:
    never an exception of an order shipped only from other warehouses)."""
    query = select(ExceptionRow)
    if statuses:
        query = query.where(ExceptionRow.status.in_(list(statuses)))
    if kinds:
        query = query.where(ExceptionRow.kind.in_(list(kinds)))
    if order_id is not None:
        query = query.where(ExceptionRow.order_id == order_id)
    if warehouse_id is not None:
        query = query.where(
            ExceptionRow.order_id.in_(select(ShipmentRow.order_id).where(ShipmentRow.warehouse_id == warehouse_id))
        )
    if visible_to_warehouse is not None:
        shipped_from_there = select(ShipmentRow.order_id).where(ShipmentRow.warehouse_id == visible_to_warehouse)
        query = query.where(
            or_(
                ExceptionRow.order_id.in_(shipped_from_there),
                ExceptionRow.order_id.not_in(select(ShipmentRow.order_id)),
            )
        )
    if created_from is not None:
        query = query.where(ExceptionRow.created_at >= created_from)
    if created_to is not None:
        query = query.where(ExceptionRow.created_at < created_to)
    with new_uow() as uow:
        rows, next_cursor = keyset_page(uow.session, query, (ExceptionRow.created_at, ExceptionRow.id), request)
        return Page([_exception_view(row) for row in rows], next_cursor)
