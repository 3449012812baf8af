"""Read-only order queries: each opens its own unit of work and answers plain views (never rows)."""

from __future__ import annotations

from dataclasses import dataclass

from orders_core.orders.exceptions_flow import get_exception
from orders_core.orders.lifecycle import OrderNotFound
from orders_core.orders.model import ExceptionView, OrderView
from orders_core.orders.repository import OrderRepository
from orders_core.unit_of_work import UnitOfWorkFactory


@dataclass(frozen=True)
class OrderPage:
    """A page of orders, oldest first, and the cursor of the next page (None at the end)."""

    items: list[OrderView]
    next_cursor: str | None


def order_view(new_uow: UnitOfWorkFactory, order_id: str, *, customer_id: str | None = None) -> OrderView:
    """One order with its timeline, shipments and exceptions; OrderNotFound (404) when absent.

    With ``customer_id`` another customer's order is OrderNotFound too, revealing nothing.
    """
    with new_uow() as uow:
        view = OrderRepository(uow.session).view(order_id)
    if view is None or (customer_id is not None and customer_id != view.customer_id):
        raise OrderNotFound(f"no order {order_id!r}")
    return view


def order_page(
    new_uow: UnitOfWorkFactory,
    *,
    status: str | None = None,
    customer_id: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> OrderPage:
    """Orders oldest first, filtered by status and customer, ``limit`` at a time from ``cursor``."""
    with new_uow() as uow:
        views, next_cursor = OrderRepository(uow.session).list_views(
            status=status, customer_id=customer_id, limit=limit, cursor=cursor
        )
    return OrderPage(items=views, next_cursor=next_cursor)


def exception_views(
    new_uow: UnitOfWorkFactory,
    *,
    status: str | None = None,
    kind: str | None = None,
    order_id: str | None = None,
    limit: int = 100,
) -> list[ExceptionView]:
    """Exceptions oldest first, filtered by status, kind and order."""
    with new_uow() as uow:
        return OrderRepository(uow.session).list_exceptions(status=status, kind=kind, order_id=order_id, limit=limit)


def exception_view(new_uow: UnitOfWorkFactory, exception_id: str) -> ExceptionView:
    """One exception; ExceptionNotFound (404) when absent."""
    with new_uow() as uow:
        return get_exception(uow, exception_id)
