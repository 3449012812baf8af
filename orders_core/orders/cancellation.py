"""Cancelling an order before it is loaded: release every stock hold, close its open exceptions.

``request_cancellation`` is the use case (its own transaction); ``cancel_order`` is its body, which other
use cases (rejecting an exception, payment timeouts) compose into their transactions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from foundation.clock import utc_now
from orders_core.orders.lifecycle import OrderNotFound, advance_order, load_order, record_order_event
from orders_core.orders.model import TRANSITIONS, ExceptionStatus, InvalidTransition, OrderStatus, OrderView
from orders_core.orders.repository import OrderRepository
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory

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
    _return_picked_units(uow, stock, order_id, actor=actor)
    repository = OrderRepository(uow.session)
    now = utc_now()
    for exception in repository.exception_rows_of(order_id, status=ExceptionStatus.OPEN.value):
        exception.status = ExceptionStatus.CLOSED.value
        exception.resolved_at = now
        exception.resolved_by = actor
        exception.note = "order cancelled"
    advance_order(uow, order_id, OrderStatus.CANCELLED, actor=actor, reason_code=reason_code, reason=reason)
    from orders_core.transport.cancellation import cancel_shipments_of  # transport builds on orders

    cancel_shipments_of(uow, order_id)


def _return_picked_units(uow: UnitOfWork, stock: StockPort, order_id: str, *, actor: str) -> None:
    """Units already picked for the order are still in the building (it is not loaded): back on hand."""
    return_picked = getattr(stock, "return_picked", None)  # StockService; test doubles may lack it
    returned = return_picked(uow, order_id) if return_picked is not None else []
    if returned:
        summary = ", ".join(f"{line.sku} x{line.qty} at {line.warehouse_id}" for line in returned)
        record_order_event(
            uow,
            order_id,
            actor=actor,
            reason_code="picked_units_returned",
            reason=f"picked units back on hand: {summary}",
            payload={"returned": [{"warehouse_id": x.warehouse_id, "sku": x.sku, "qty": x.qty} for x in returned]},
        )


def request_cancellation(
    new_uow: UnitOfWorkFactory,
    stock: StockPort,
    order_id: str,
    *,
    actor: str,
    reason: str,
    customer_id: str | None = None,
) -> OrderView:
    """Cancel an order in its own transaction (see ``cancel_order``) and answer it as stored.

    With ``customer_id`` the order must be that customer's: another customer's order is OrderNotFound
    (404), revealing nothing.
    """
    with new_uow() as uow:
        # The lock cancel_order takes anyway.
        if customer_id is not None and load_order(uow, order_id).customer_id != customer_id:
            raise OrderNotFound(f"no order {order_id!r}")
        cancel_order(uow, stock, order_id, actor=actor, reason_code="cancelled", reason=reason)
        view = OrderRepository(uow.session).view(order_id)
        uow.commit()
    if view is None:  # pragma: no cover - the order was just locked and cancelled
        raise OrderNotFound(f"no order {order_id!r}")
    return view
