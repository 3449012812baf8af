"""Customer health score: the latest breakdown, the list by score, and a recomputation on demand.

Read and recomputed by dispatchers (and admins). Registered before the master-data router, so that
``/v1/customers/health`` is this list and not the customer ``health``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import require_roles
from api.container import Container
from api.deps import get_container
from api.errors import refusals
from api.metrics import count_health_scores
from api.pagination import Page, page_request
from api.schemas.customer_health import HealthOut, HealthSummaryOut
from api.schemas.master_data import PathId
from api.tokens import Principal
from infra.pagination import PageRequest
from orders_core.customers.health_service import health_breakdown, health_page, recompute_customer_health

router = APIRouter(prefix="/v1/customers", tags=["customer health"])
readers = require_roles("dispatcher")


@router.get("/health", response_model=Page[HealthSummaryOut])
def list_health(
    min_score: Annotated[float | None, Query(ge=0, le=100, description="Only customers scoring at least this.")] = None,
    page: PageRequest = Depends(page_request),
    container: Container = Depends(get_container),
    _: Principal = Depends(readers),
) -> Page[HealthSummaryOut]:
    """Every scored customer's latest score, ordered by score then customer id (``order=desc``: best first);
    a customer never scored is not listed (one without data is listed with a null score, below 0)."""
    found = health_page(container.uow, page, min_score=min_score)
    return Page[HealthSummaryOut](
        items=[
            HealthSummaryOut(customer_id=s.customer_id, score=s.score, computed_at=s.computed_at) for s in found.items
        ],
        next_cursor=found.next_cursor,
    )


@router.get(
    "/{customer_id}/health",
    response_model=HealthOut,
    responses=refusals({404: "customer_not_found, or health_not_computed: never scored yet"}),
)
def get_health(
    customer_id: PathId, container: Container = Depends(get_container), _: Principal = Depends(readers)
) -> HealthOut:
    """The latest score with each indicator's raw value, tier score, weight, contribution and trend."""
    return HealthOut.model_validate(health_breakdown(container.uow, customer_id))


@router.post(
    "/{customer_id}/health/recompute",
    response_model=HealthOut,
    responses=refusals({404: "customer_not_found"}),
)
def recompute_health(
    customer_id: PathId, container: Container = Depends(get_container), _: Principal = Depends(readers)
) -> HealthOut:
    """Score the customer now from its orders, payments, exceptions and deliveries; answers the breakdown."""
    breakdown = recompute_customer_health(container.uow, customer_id, container.settings.health.policy())
    count_health_scores("on_demand", 1)
    return HealthOut.model_validate(breakdown)
