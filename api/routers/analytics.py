"""Stage timings, funnel and daily trend of the orders placed in a period, as JSON for other tools.

The period is ``[from, to)`` in RFC 3339 with a zone, at most 366 days (else 422 ``invalid_period``).
Read by the desk: dispatchers and admins.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from api.auth import require_roles
from api.container import Container
from api.deps import get_container
from api.errors import refusals
from api.schemas.analytics import DayOut, FunnelNodeOut, FunnelOut, StageTimingsOut, TransitionOut
from api.tokens import Principal
from orders_core.analytics.period import period
from orders_core.analytics.queries import orders_reached
from orders_core.analytics.stats import daily_trend, funnel, stage_timings

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])
readers = require_roles("dispatcher")

From = Annotated[AwareDatetime, Query(alias="from", description="Orders placed at or after (RFC 3339, with zone).")]
To = Annotated[AwareDatetime, Query(alias="to", description="Orders placed before (RFC 3339, with zone).")]
PERIOD_REFUSALS = refusals(
    {
        422: "invalid_period: 'to' not after 'from', or more than 366 days apart; validation_error: a time"
        " missing, malformed or without a zone."
    }
)


@router.get("/stage-timings", response_model=StageTimingsOut, response_model_by_alias=True, responses=PERIOD_REFUSALS)
def get_stage_timings(
    start: From,
    end: To,
    container: Container = Depends(get_container),
    _: Principal = Depends(readers),
) -> StageTimingsOut:
    """Per node transition the count and p50/p90 seconds, and the orders placed and end-to-end p50 per day."""
    checked = period(start, end)
    orders = orders_reached(container.uow, checked.start, checked.end)
    transitions = [
        TransitionOut(from_node=t.from_node.value, to_node=t.to_node.value, count=t.count, p50_s=t.p50_s, p90_s=t.p90_s)
        for t in stage_timings(orders)
    ]
    trend = [
        DayOut(day=d.day, placed=d.placed, delivered=d.delivered, end_to_end_p50_s=d.end_to_end_p50_s)
        for d in daily_trend(orders)
    ]
    return StageTimingsOut.model_validate(
        {"from": checked.start, "to": checked.end, "orders": len(orders), "transitions": transitions, "trend": trend}
    )


@router.get("/funnel", response_model=FunnelOut, response_model_by_alias=True, responses=PERIOD_REFUSALS)
def get_funnel(
    start: From,
    end: To,
    container: Container = Depends(get_container),
    _: Principal = Depends(readers),
) -> FunnelOut:
    """How many orders of the period reached each main-line node (or a later one)."""
    checked = period(start, end)
    counts = funnel(orders_reached(container.uow, checked.start, checked.end))
    nodes = [FunnelNodeOut(node=status.value, reached=reached) for status, reached in counts.items()]
    return FunnelOut.model_validate({"from": checked.start, "to": checked.end, "nodes": nodes})
