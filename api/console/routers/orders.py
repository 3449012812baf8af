"""Orders on the console: the list with filters and search, an order's page (timeline with delay reasons,
lines, shipments, waybills, webhook deliveries, exceptions and their decisions) and the carrier override."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import Forbidden, scoped_warehouse_filter, warehouse_scope
from api.console.forms import blank_to_none, day_range, optional_id
from api.console.layout import console_headers, register_page, render_page
from api.console.session import console_roles
from api.container import Container
from api.deps import get_container
from api.pagination import CURSOR_PATTERN, one_of
from api.schemas.master_data import PathId
from api.schemas.orders import order_out
from api.tokens import Principal
from foundation.clock import utc_now
from foundation.errors import InvalidInput
from infra.pagination import PageRequest
from orders_core.carriers.listing import carrier_page
from orders_core.orders.decisions import decisions_of_order
from orders_core.orders.listing import order_page
from orders_core.orders.model import OrderStatus
from orders_core.orders.progress import progress_of
from orders_core.transport.assignment import assign_shipment
from orders_core.transport.eta import order_with_etas
from orders_core.transport.listing import waybill_page
from orders_core.transport.webhooks.service import delivery_page

router = APIRouter()
readers = console_roles("dispatcher", "warehouse")
desk = console_roles("dispatcher")
PAGE_SIZE = 50
#: Reasons the desk gives for overriding the carrier the service chose (sent to the assignment use case).
OVERRIDE_REASONS = {
    "customer_request": "Customer asked for this carrier",
    "carrier_unavailable": "Assigned carrier unavailable",
    "closer_carrier": "A closer carrier is free",
    "capacity": "Load needs another vehicle",
    "service_quality": "Service quality",
    "other": "Other",
}
register_page("orders", "Orders", "/console/orders", roles=("dispatcher", "warehouse"), order=10)


@router.get("/orders", response_class=HTMLResponse)
def order_list(
    request: Request,
    status: Annotated[str | None, Query(max_length=40)] = None,
    warehouse: Annotated[str | None, Query(max_length=64)] = None,
    customer: Annotated[str | None, Query(max_length=64)] = None,
    date_from: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=2000, pattern=CURSOR_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = PAGE_SIZE,
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
) -> Response:
    """Orders newest first, filtered by status, warehouse, customer, creation date and a search text (order
    id, address, contact, customer name); a warehouse token sees its warehouse's orders only."""
    filters = {
        "status": blank_to_none(status),
        "warehouse": optional_id(warehouse, name="warehouse"),
        "customer": optional_id(customer, name="customer"),
        "from": blank_to_none(date_from),
        "to": blank_to_none(date_to),
        "q": blank_to_none(q),
    }
    created_from, created_to = day_range(filters["from"], filters["to"])
    statuses = one_of([filters["status"]] if filters["status"] else None, [s.value for s in OrderStatus], name="status")
    found = order_page(
        container.uow,
        PageRequest(limit=limit, cursor=blank_to_none(cursor), descending=True),
        statuses=statuses,
        customer_id=filters["customer"],
        warehouse_id=scoped_warehouse_filter(principal, filters["warehouse"]),
        created_from=created_from,
        created_to=created_to,
        q=filters["q"],
    )
    kept: dict[str, str | int] = {k: v for k, v in filters.items() if v}
    if limit != PAGE_SIZE:
        kept["limit"] = limit
    next_url = None
    if found.next_cursor:
        next_url = "/console/orders?" + urlencode({**kept, "cursor": found.next_cursor})
    return render_page(
        request,
        "orders.html",
        title="Orders",
        principal=principal,
        section="orders",
        context={
            "orders": found.items,
            "filters": filters,
            "statuses": [s.value for s in OrderStatus],
            "scope": warehouse_scope(principal),
            "next_url": next_url,
            "first_url": ("/console/orders?" + urlencode(kept)) if cursor else None,
        },
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse)
def order_detail(
    request: Request,
    order_id: PathId,
    assigned: Annotated[str | None, Query(max_length=64)] = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
) -> Response:
    """One order as the desk needs it: status, timeline with delay reasons, lines, shipments (with the
    carrier override), waybills, webhook deliveries, exceptions and who decided them."""
    view, etas = order_with_etas(container.uow, order_id)
    scope = warehouse_scope(principal)
    if scope is not None and scope not in {s.warehouse_id for s in view.shipments}:
        raise Forbidden(f"this token is scoped to warehouse {scope!r}; order {order_id!r} ships nothing from it")
    order = order_out(view, progress_of(view, targets=container.settings.delivery, now=utc_now(), etas=etas), "en")
    is_desk = principal.role in ("admin", "dispatcher")
    waybills = waybill_page(container.uow, PageRequest(limit=200), order_id=order_id).items if is_desk else []
    deliveries = []
    if is_desk and waybills:
        numbers = {w["waybill_no"] for w in waybills} | {c for w in waybills for c in w.get("child_waybill_nos") or []}
        deliveries = delivery_page(container.uow, limit=100, waybill_nos=sorted(numbers)).items
    carriers = carrier_page(container.uow, PageRequest(limit=200), active=True).items if is_desk else []
    return render_page(
        request,
        "order_detail.html",
        title=f"Order {order.id}",
        principal=principal,
        section="orders",
        context={
            "order": order,
            "waybills": waybills,
            "deliveries": deliveries,
            "decisions": decisions_of_order(container.uow, order_id),
            "carriers": carriers,
            "override_reasons": OVERRIDE_REASONS,
            "is_desk": is_desk,
            "assigned": blank_to_none(assigned),
        },
    )


@router.post("/shipments/{shipment_id}/assign")
def override_assignment(
    shipment_id: PathId,
    order_id: Annotated[str, Form(max_length=64, pattern=r"^[A-Za-z0-9._:\-]+$")],
    reason_code: Annotated[str, Form(max_length=40)],
    carrier_id: Annotated[str, Form(max_length=64)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
    container: Container = Depends(get_container),
    principal: Principal = Depends(desk),
) -> Response:
    """Assign a shipment's carrier through the same use case as ``POST /v1/shipments/{id}/assign``: the
    chosen carrier (a manual override, with its reason) or, with none chosen, the best eligible one."""
    if reason_code not in OVERRIDE_REASONS:
        raise InvalidInput(f"unknown override reason {reason_code!r}; expected one of {', '.join(OVERRIDE_REASONS)}")
    reason = OVERRIDE_REASONS[reason_code] + (f": {note.strip()}" if note.strip() else "")
    assignment = assign_shipment(
        container.uow,
        container.carriers,
        shipment_id,
        actor=principal.actor,
        policy=container.transport_policy,
        carrier_id=optional_id(carrier_id, name="carrier"),
        reason=reason,
    )
    target = f"/console/orders/{order_id}?" + urlencode({"assigned": assignment.shipment_id}) + "#shipments"
    return RedirectResponse(target, status_code=303, headers=console_headers())
