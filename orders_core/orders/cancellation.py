"""Cancelling an order before it is loaded: release every stock hold, close its open exceptions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from foundation.clock import utc_now
from orders_core.orders.lifecycle import advance_order, load_order
from orders_core.orders.model import TRANSITIONS, ExceptionStatus, InvalidTransition, OrderStatus
from orders_core.orders.repository import OrderRepository
from orders_core.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from orders_core.orders.pipeline import StockPort


class OrderNotCancellable(InvalidTransition):
    """The goods are loaded (or the order is already closed): cancelling is no longer possible."""

    code = "order_not_cancellable"


def cancel_order(
    uow: UnitOfWork,
    stock: StockPort,
    order_id: str,
    *,
    actor: str,
    reason_code: str = "cancelled",
    reason: str | None = None,
) -> None:
    """Cancel (409 once loaded or already cancelled/delivered); releases the stock the order holds."""
    row = load_order(uow, order_id)
    current = OrderStatus(row.status)
    if OrderStatus.CANCELLED not in TRANSITIONS[current]:  # the state machine says what is cancellable
        raise OrderNotCancellable(f"order {order_id} is {current}; only orders not yet loaded can be cancelled")
    stock.release(uow, order_id)
    repository = OrderRepository(uow.session)
    now = utc_now()
    for exception in repository.exception_rows_of(order_id, status=ExceptionStatus.OPEN.value):
        exception.status = ExceptionStatus.CLOSED.value
        exception.resolved_at = now
        exception.resolved_by = actor
        exception.note = "order cancelled"
    advance_order(uow, order_id, OrderStatus.CANCELLED, actor=actor, reason_code=reason_code, reason=reason)
