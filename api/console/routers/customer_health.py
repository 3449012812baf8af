"""Console: customers by health score, and one customer's view (score, indicator breakdown with a plotly
chart, soft reservations of its week, recompute on demand). The numbers come from the use cases of
``orders_core.customers.health_service`` and ``orders_core.stock.prebook_service``; nothing is computed here."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.console.layout import console_headers, register_page, render_page
from api.console.session import console_roles
from api.container import Container
from api.deps import get_container
from api.schemas.master_data import PathId
from api.tokens import Principal
from infra.pagination import PageRequest
from orders_core.customers.health_service import (
    HealthNotComputed,
    health_breakdown,
    health_page,
    recompute_customer_health,
)
from orders_core.stock.prebook_service import customer_prebookings

router = APIRouter()
dispatchers = console_roles("dispatcher")
register_page("analytics", "Customer health", "/console/customers", roles=("dispatcher",), order=40)


@router.get("/customers", response_class=HTMLResponse)
def customers_by_health(
    request: Request, container: Container = Depends(get_container), principal: Principal = Depends(dispatchers)
) -> Response:
    """Every scored customer, best first (the 200 best; the API pages through all)."""
    page = health_page(container.uow, PageRequest(limit=200, descending=True))
    return render_page(
        request,
        "customer_health_list.html",
        title="Customer health",
        principal=principal,
        section="analytics",
        context={"scores": page.items, "more": page.next_cursor is not None},
    )


@router.get("/customers/{customer_id}", response_class=HTMLResponse)
def customer_view(
    customer_id: PathId,
    request: Request,
    container: Container = Depends(get_container),
    principal: Principal = Depends(dispatchers),
) -> Response:
    """The customer's score, each indicator's line, a chart of the contributions, and its pre-bookings."""
    try:
        health = health_breakdown(container.uow, customer_id)
    except HealthNotComputed:
        health = None
    chart = (
        None
        if health is None
        else {
            "indicators": [line["indicator"] for line in health["indicators"]],
            "contribution": [line["contribution"] for line in health["indicators"]],
            "tier_score": [line["tier_score"] for line in health["indicators"]],
            "weight": [line["effective_weight"] for line in health["indicators"]],
        }
    )
    return render_page(
        request,
        "customer_health.html",
        title=f"Customer {customer_id}",
        principal=principal,
        section="analytics",
        context={
            "customer_id": customer_id,
            "health": health,
            "chart": chart,
            "prebookings": customer_prebookings(container.uow, customer_id),
        },
        vendors=("plotly",),
        scripts=("customer_health.js",),
    )


@router.post("/customers/{customer_id}/health/recompute")
def recompute(
    customer_id: PathId,
    container: Container = Depends(get_container),
    _: Principal = Depends(dispatchers),
) -> Response:
    """Score the customer now, then show its page again."""
    recompute_customer_health(container.uow, customer_id, container.settings.health.policy())
    return RedirectResponse(f"/console/customers/{customer_id}", status_code=303, headers=console_headers())
