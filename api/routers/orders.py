"""Orders: intake (idempotent, with the automatic pipeline), reads, listing with cursors, cancellation.

``POST /v1/orders`` honours an ``Idempotency-Key`` header: the same key with the same body answers the
same order (201 the first time, 200 afterwards, same body); the same key with another body is 409
``idempotency_key_reused``. Customers may place, read, list and cancel only their own orders.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Query, Response
from sqlalchemy.exc import IntegrityError

from api.auth import Forbidden, require_roles
from api.container import Container
from api.deps import get_container
from api.metrics import ORDERS_BY_STATUS
from api.schemas.master_data import ID_PATTERN, TEXT_PATTERN, PathId
from api.schemas.orders import (
    CancelIn,
    DeliveryOut,
    ExceptionOut,
    OrderIn,
    OrderLineOut,
    OrderOut,
    OrderPage,
    ShipmentLineOut,
    ShipmentOut,
    TimelineEntryOut,
)
from api.tokens import Principal
from foundation.errors import InvalidInput
from orders_core.orders.cancellation import cancel_order
from orders_core.orders.intake import place_order
from orders_core.orders.lifecycle import OrderNotFound, add_transition_listener, load_order
from orders_core.orders.model import DeliveryPoint, ExceptionView, OrderLine, OrderStatus, OrderView, PlaceOrder
from orders_core.orders.repository import OrderRepository

router = APIRouter(prefix="/v1/orders", tags=["orders"])
OrderId = PathId
placers = require_roles("dispatcher", "customer")
readers = require_roles("dispatcher", "warehouse", "customer")
cancellers = require_roles("dispatcher", "customer")


def _count_transition(_from_status: str, to_status: str) -> None:
    ORDERS_BY_STATUS.labels(status=to_status).inc()


add_transition_listener(_count_transition)


def actor_of(principal: Principal) -> str:
    """How a caller appears in timelines (one format everywhere: :attr:`Principal.actor`)."""
    return principal.actor


def exception_out(view: ExceptionView) -> ExceptionOut:
    """API form of an exception."""
    return ExceptionOut(
        id=view.id,
        order_id=view.order_id,
        kind=view.kind,
        status=view.status,
        message=view.message,
        details=view.details,
        created_at=view.created_at,
        resolved_at=view.resolved_at,
        resolved_by=view.resolved_by,
        note=view.note,
    )


def order_out(view: OrderView) -> OrderOut:
    """API form of an order."""
    return OrderOut(
        id=view.id,
        status=view.status,
        customer_id=view.customer_id,
        lines=[OrderLineOut(sku=line.sku, qty=line.qty, unit_price=line.unit_price) for line in view.lines],
        delivery=DeliveryOut(lat=view.delivery.lat, lng=view.delivery.lng, address=view.delivery.address),
        total=view.total,
        payment_status=view.payment_status,
        created_at=view.created_at,
        updated_at=view.updated_at,
        timeline=[
            TimelineEntryOut(
                status=e.status,
                at=e.at,
                actor=e.actor,
                reason_code=e.reason_code,
                reason=e.reason,
                expected_next_at=e.expected_next_at,
            )
            for e in view.timeline
        ],
        shipments=[
            ShipmentOut(warehouse_id=s.warehouse_id, lines=[ShipmentLineOut(sku=sku, qty=qty) for sku, qty in s.lines])
            for s in view.shipments
        ],
        exceptions=[exception_out(e) for e in view.exceptions],
    )


def _check_owner(principal: Principal, customer_id: str) -> None:
    if principal.role == "customer" and principal.subject != customer_id:
        raise Forbidden("a customer token may only act on its own orders")


def load_view(container: Container, order_id: str, principal: Principal | None = None) -> OrderView:
    """The order's view (404 when absent; 404 too for another customer's order, to reveal nothing)."""
    with container.uow() as uow:
        view = OrderRepository(uow.session).view(order_id)
    if view is None or (
        principal is not None and principal.role == "customer" and principal.subject != view.customer_id
    ):
        raise OrderNotFound(f"no order {order_id!r}")
    return view


@router.post("", status_code=201, response_model=OrderOut)
def create_order(
    body: OrderIn,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", max_length=200, pattern=TEXT_PATTERN)
    ] = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(placers),
) -> OrderOut:
    """Place an order and run price, credit and stock checks and allocation in the same request."""
    _check_owner(principal, body.customer_id)
    if idempotency_key is not None and not idempotency_key.strip():
        raise InvalidInput("Idempotency-Key must not be blank")
    command = PlaceOrder(
        customer_id=body.customer_id,
        lines=tuple(OrderLine(sku=line.sku, qty=line.qty, unit_price=line.unit_price) for line in body.lines),
        delivery=DeliveryPoint(lat=body.delivery.lat, lng=body.delivery.lng, address=body.delivery.address),
    )
    for attempt in range(2):
        try:
            with container.uow() as uow:
                placed = place_order(
                    uow,
                    container.stock,
                    command,
                    actor=actor_of(principal),
                    price_tolerance=container.settings.price_tolerance,
                    idempotency_key=idempotency_key,
                    payment_timeout_s=container.settings.prepaid_timeout_s,
                )
                # Read back in the same transaction: no second transaction (on SQLite: no second turn
                # of the writer queue) per order.
                view = OrderRepository(uow.session).view(placed.order_id)
                uow.commit()
            break
        except IntegrityError:
            # A concurrent request with the same Idempotency-Key won; the retry answers its order.
            if attempt or idempotency_key is None:
                raise
    response.status_code = 201 if placed.created else 200
    if view is None:  # pragma: no cover - the order was just stored or replayed
        raise OrderNotFound(f"no order {placed.order_id!r}")
    return order_out(view)


@router.get("", response_model=OrderPage)
def list_orders(
    status: Annotated[OrderStatus | None, Query()] = None,
    customer_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500, pattern=r"^[A-Za-z0-9_\-=]*$")] = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
) -> OrderPage:
    """Orders oldest first, filtered by status and customer; ``next_cursor`` fetches the next page."""
    if principal.role == "customer":
        if customer_id is not None and customer_id != principal.subject:
            raise Forbidden("a customer token may only list its own orders")
        customer_id = principal.subject
    with container.uow() as uow:
        views, next_cursor = OrderRepository(uow.session).list_views(
            status=None if status is None else status.value, customer_id=customer_id, limit=limit, cursor=cursor
        )
    return OrderPage(items=[order_out(v) for v in views], next_cursor=next_cursor)


@router.get("/{order_id}", response_model=OrderOut)
def get_order(
    order_id: OrderId, container: Container = Depends(get_container), principal: Principal = Depends(readers)
) -> OrderOut:
    """One order with its timeline, shipments and exceptions."""
    return order_out(load_view(container, order_id, principal))


@router.post("/{order_id}/cancel", response_model=OrderOut)
def cancel(
    order_id: OrderId,
    body: Annotated[CancelIn | None, Body()] = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(cancellers),
) -> OrderOut:
    """Cancel an order that is not loaded yet; everything it holds is released (409 once loaded)."""
    with container.uow() as uow:
        # The lock cancel_order takes anyway; another customer's order is a 404, as in load_view.
        if principal.role == "customer" and load_order(uow, order_id).customer_id != principal.subject:
            raise OrderNotFound(f"no order {order_id!r}")
        cancel_order(
            uow,
            container.stock,
            order_id,
            actor=actor_of(principal),
            reason_code="cancelled",
            reason=(body.reason if body else None) or "cancelled on request",
        )
        view = OrderRepository(uow.session).view(order_id)
        uow.commit()
    if view is None:  # pragma: no cover - the order was just locked and cancelled
        raise OrderNotFound(f"no order {order_id!r}")
    return order_out(view)
