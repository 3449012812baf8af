"""Read-only order queries: each opens its own unit of work and answers plain views (never rows)."""

from __future__ import annotations

from orders_core.orders.exceptions_flow import get_exception
from orders_core.orders.lifecycle import OrderNotFound
from orders_core.orders.model import ExceptionView, OrderView
from orders_core.orders.repository import OrderRepository
from orders_core.unit_of_work import UnitOfWorkFactory


def order_view(new_uow: UnitOfWorkFactory, order_id: str, *, customer_id: str | None = None) -> OrderView:
    """One order with its timeline, shipments and exceptions; OrderNotFound (404) when absent.

    With ``customer_id`` another customer's order is OrderNotFound too, revealing nothing.
    """
    with new_uow() as uow:
        view = OrderRepository(uow.session).view(order_id)
    if view is None or (customer_id is not None and customer_id != view.customer_id):
        raise OrderNotFound(f"no order {order_id!r}")
    return view


def exception_view(new_uow: UnitOfWorkFactory, exception_id: str) -> ExceptionView:
    """One exception; ExceptionNotFound (404) when absent."""
    with new_uow() as uow:
        return get_exception(uow, exception_id)
