"""Orders: intake (idempotent, with the automatic pipeline), reads, listing with cursors, cancellation.

``POST /v1/orders`` honours an ``Idempotency-Key`` header: the same key with the same body answers the
same order (201 the first time, 200 afterwards, same body); the same key with another body is 409
``idempotency_key_reused``. Customers may place, read, list and cancel only their own orders.

Every answer carries the order's progress against its promise (``promised_by``, ``progress``, and the delay
fields of the timeline entries); the plain-language reasons follow ``Accept-Language`` (``zh``/``en``),
Simplified Chinese by default for customers and English for staff.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Query, Response
from fastapi.responses import JSONResponse

from api.auth import Forbidden, require_roles, scoped_warehouse_filter, warehouse_scope
from api.container import Container
from api.deps import get_container
from api.errors import refusals
from api.pagination import CreatedFrom, CreatedTo, MultiValue, SearchText, one_of, page_request, time_range
from api.schemas.amendments import AmendIn
from api.schemas.master_data import ID_PATTERN, NON_BLANK_TEXT_PATTERN, PathId
from api.schemas.orders import CancelIn, OrderIn, OrderOut, OrderPage, order_out
from api.tokens import Principal
from foundation.clock import utc_now
from foundation.errors import InvalidInput
from infra.pagination import PageRequest
from orders_core.orders.amendment import amend
from orders_core.orders.cancellation import request_cancellation
from orders_core.orders.delays import Language
from orders_core.orders.intake import submit_order
from orders_core.orders.listing import order_page
from orders_core.orders.model import DeliveryPoint, OrderStatus, OrderView, PlaceOrder, RequestedLine
from orders_core.orders.progress import CarrierEtas, progress_of
from orders_core.transport.eta import carrier_etas, order_with_etas

router = APIRouter(prefix="/v1/orders", tags=["orders"])
OrderId = PathId
placers = require_roles("dispatcher", "customer")
readers = require_roles("dispatcher", "warehouse", "customer")
cancellers = require_roles("dispatcher", "customer")


def _check_owner(principal: Principal, customer_id: str) -> None:
    if principal.role == "customer" and principal.subject != customer_id:
        raise Forbidden("a customer token may only act on its own orders")


def response_language(principal: Principal, accept_language: str | None) -> Language:
    """``zh`` or ``en``: the first of them the caller accepts (by q), else Chinese for customers, English for staff."""
    return accepted_language(accept_language) or ("zh" if principal.role == "customer" else "en")


def accepted_language(accept_language: str | None) -> Language | None:
    """``zh`` or ``en``: the first of them an ``Accept-Language`` header accepts (by q), else None."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        ranked.append((-quality, position, tag.strip().lower()))
    for negative_quality, _position, tag in sorted(ranked):
        if negative_quality < 0 and (tag.startswith("zh") or tag.startswith("en")):
            return "zh" if tag.startswith("zh") else "en"
    return None


def _out(view: OrderView, container: Container, language: Language, etas: CarrierEtas | None = None) -> OrderOut:
    """The order with its progress against the promise (following the carriers' ETAs), reasons in ``language``."""
    progress = progress_of(view, targets=container.settings.delivery, now=utc_now(), etas=etas)
    return order_out(view, progress, language)


#: The heavy parts of an order that a list item carries only when ``include`` names them.
LIST_PARTS = ("timeline", "progress")

AcceptLanguage = Annotated[str | None, Header(alias="Accept-Language", max_length=200)]


def _own_customer(principal: Principal) -> str | None:
    """The customer a caller may see orders of (None: any); another customer's order is then a 404."""
    return principal.subject if principal.role == "customer" else None


@router.post(
    "",
    status_code=201,
    response_model=OrderOut,
    responses={
        200: {"model": OrderOut, "description": "A retry with the same Idempotency-Key and body: the first answer."},
        **refusals(
            {
                409: "idempotency_key_reused: the Idempotency-Key was used before with another body.",
                422: "unknown_customer / unknown_sku: ids that do not exist (every unknown SKU named);"
                " delivery_required: no delivery and the customer has no registered location; invalid_order:"
                " the order total (qty x price summed) above 1E+13; invalid_promise: promised_by in the past or"
                " too far ahead; validation_error: the body breaks the schema.",
            }
        ),
    },
)
def create_order(
    body: OrderIn,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", max_length=200, pattern=NON_BLANK_TEXT_PATTERN)
    ] = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(placers),
    accept_language: AcceptLanguage = None,
) -> OrderOut:
    """Place an order and run price, credit and stock checks and allocation in the same request."""
    _check_owner(principal, body.customer_id)
    delivery = body.delivery
    command = PlaceOrder(
        customer_id=body.customer_id,
        lines=tuple(RequestedLine(sku=line.sku, qty=line.qty, unit_price=line.unit_price) for line in body.lines),
        delivery=None
        if delivery is None
        else DeliveryPoint(
            lat=delivery.lat,
            lng=delivery.lng,
            address=delivery.address,
            contact_name=delivery.contact_name,
            contact_phone=delivery.contact_phone,
            cash_on_delivery=delivery.cash_on_delivery,
        ),
        promised_by=None if delivery is None else delivery.promised_by,
        priority=body.priority,
    )
    submitted = submit_order(
        container.uow,
        container.stock,
        command,
        actor=principal.actor,
        price_tolerance=container.settings.price_tolerance,
        idempotency_key=idempotency_key,
        payment_timeout_s=container.settings.prepaid_timeout_s,
        delivery_targets=container.settings.delivery,
        address_policy=container.settings.address,
    )
    response.status_code = 201 if submitted.created else 200
    return _out(submitted.order, container, response_language(principal, accept_language))


@router.get("", response_model=OrderPage)
def list_orders(
    status: MultiValue = None,
    customer_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    warehouse_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    q: SearchText = None,
    include: MultiValue = None,
    page: PageRequest = Depends(page_request),
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
    accept_language: AcceptLanguage = None,
) -> JSONResponse:
    """Orders, oldest first (``order=desc``: newest first), filtered by status (may repeat), customer,
    warehouse (a shipment from it), creation time and ``q`` (id, address, contact, customer name). Items
    carry no ``timeline`` and no ``progress`` (most of an order's size) unless ``include=timeline`` and/or
    ``include=progress``; ``next_cursor`` fetches the next page."""
    created_from, created_to = time_range(created_from, created_to)
    statuses = one_of(status, [s.value for s in OrderStatus], name="status")
    included = set(one_of(include, LIST_PARTS, name="include") or [])
    if principal.role == "customer":
        if customer_id is not None and customer_id != principal.subject:
            raise Forbidden("a customer token may only list its own orders")
        customer_id = principal.subject
    found = order_page(
        container.uow,
        page,
        statuses=statuses,
        customer_id=customer_id,
        warehouse_id=scoped_warehouse_filter(principal, warehouse_id),
        created_from=created_from,
        created_to=created_to,
        q=q,
    )
    language = response_language(principal, accept_language)
    etas = carrier_etas(container.uow, [v.id for v in found.items])
    leave_out = set(LIST_PARTS) - included
    items = [
        _out(v, container, language, etas.get(v.id)).model_dump(mode="json", exclude=leave_out) for v in found.items
    ]
    return JSONResponse({"items": items, "next_cursor": found.next_cursor})


@router.get("/{order_id}", response_model=OrderOut)
def get_order(
    order_id: OrderId,
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
    accept_language: AcceptLanguage = None,
) -> OrderOut:
    """One order with its timeline, shipments, exceptions and progress against its promise."""
    view, etas = order_with_etas(container.uow, order_id, customer_id=_own_customer(principal))
    scope = warehouse_scope(principal)
    if scope is not None and scope not in {shipment.warehouse_id for shipment in view.shipments}:
        # The same rule as the list: a scoped token sees the orders its warehouse ships, nothing else.
        raise Forbidden(f"this token is scoped to warehouse {scope!r}; order {order_id!r} ships nothing from it")
    return _out(view, container, response_language(principal, accept_language), etas)


@router.post("/{order_id}/amend", response_model=OrderOut)
def amend_endpoint(
    order_id: OrderId,
    body: AmendIn,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", max_length=200, pattern=NON_BLANK_TEXT_PATTERN)
    ] = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(cancellers),
    accept_language: AcceptLanguage = None,
) -> OrderOut:
    """Amend lines and/or delivery of an order not yet picking, through intake's checks (price, credit,
    stock): all or nothing (409 with the failed check's code, 409 ``order_not_amendable`` once picking).
    See ``orders_core.orders.amendment``."""
    if idempotency_key is not None and not idempotency_key.strip():
        raise InvalidInput("Idempotency-Key must not be blank")
    result = amend(
        container.uow,
        container.stock,
        order_id,
        body.to_command(),
        actor=principal.actor,
        price_tolerance=container.settings.price_tolerance,
        idempotency_key=idempotency_key,
        customer_id=_own_customer(principal),
    )
    return _out(result.order, container, response_language(principal, accept_language))


@router.post("/{order_id}/cancel", response_model=OrderOut)
def cancel(
    order_id: OrderId,
    body: Annotated[CancelIn | None, Body()] = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(cancellers),
    accept_language: AcceptLanguage = None,
) -> OrderOut:
    """Cancel an order that is not loaded yet; everything it holds is released (409 once loaded)."""
    view = request_cancellation(
        container.uow,
        container.stock,
        order_id,
        actor=principal.actor,
        reason=(body.reason if body else None) or "cancelled on request",
        customer_id=_own_customer(principal),
    )
    return _out(view, container, response_language(principal, accept_language))
