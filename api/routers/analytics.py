"""Stage timings, funnel and daily trend of the orders placed in a period, as JSON for other tools.

The period is ``[from, to)`` in RFC 3339 with a zone, at most 366 days (else 422 ``invalid_period``).
Read by the desk: dispatchers and admins; the root-cause Pareto and its drill-down also by warehouse tokens,
which see only the orders their warehouse ships.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from api.auth import require_roles, warehouse_scope
from api.container import Container
from api.deps import get_container
from api.errors import refusals
from api.pagination import one_of, page_request
from api.schemas.analytics import (
    DayOut,
    FunnelNodeOut,
    FunnelOut,
    ParetoBarOut,
    RootCauseOut,
    RootCausesOut,
    StageTimingsOut,
    TransitionOut,
)
from api.schemas.orders import OrderPage, order_out
from api.tokens import Principal
from infra.pagination import PageRequest
from orders_core.analytics.aggregates import period_figures, period_funnel
from orders_core.analytics.pareto import pareto
from orders_core.analytics.period import period
from orders_core.analytics.root_cause_queries import (
    CauseFilter,
    Dimension,
    DrillDown,
    root_cause_counts,
    root_cause_orders,
)
from orders_core.orders.delays import CAUSE_CODES
from orders_core.orders.root_causes import ROOT_CAUSE_OF_DELAY, RootCause, describe_root_cause, root_cause_of_kind

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
    figures = period_figures(container.uow, checked.start, checked.end)
    transitions = [
        TransitionOut(from_node=t.from_node.value, to_node=t.to_node.value, count=t.count, p50_s=t.p50_s, p90_s=t.p90_s)
        for t in figures.timings
    ]
    trend = [
        DayOut(day=d.day, placed=d.placed, delivered=d.delivered, end_to_end_p50_s=d.end_to_end_p50_s)
        for d in figures.trend
    ]
    return StageTimingsOut.model_validate(
        {"from": checked.start, "to": checked.end, "orders": figures.orders, "transitions": transitions, "trend": trend}
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
    counts = period_funnel(container.uow, checked.start, checked.end)
    nodes = [FunnelNodeOut(node=status.value, reached=reached) for status, reached in counts.items()]
    return FunnelOut.model_validate({"from": checked.start, "to": checked.end, "nodes": nodes})


# --- root causes (issue 10, item 4) -------------------------------------------------------------------------

cause_readers = require_roles("dispatcher", "warehouse")
Cause = Annotated[
    str | None, Query(max_length=32, description="Only exceptions of this root cause (docs/ROOT_CAUSES.md).")
]
By = Annotated[Dimension, Query(description="What the bars are: cause, warehouse, customer, sku or carrier.")]
Selector = Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]*$")]
CAUSE_REFUSALS = refusals(
    {
        403: "forbidden: a role other than dispatcher, warehouse or admin.",
        422: "invalid_period: see /stage-timings; invalid_filter: an unknown root cause; validation_error: a"
        " time missing, malformed or without a zone, an unknown 'by'.",
    }
)


def _cause_filter(start: datetime, end: datetime, cause: str | None, principal: Principal) -> CauseFilter:
    checked = period(start, end)
    causes = one_of(None if cause is None else [cause], [c.value for c in RootCause], name="cause")
    return CauseFilter(checked.start, checked.end, causes[0] if causes else None, warehouse_scope(principal))


def _drill_url(where: CauseFilter, by: Dimension, key: str | None) -> str:
    params = {"from": where.start.isoformat(), "to": where.end.isoformat()}
    if where.cause is not None:
        params["cause"] = where.cause
    params[by.value] = key or ""
    return "/v1/analytics/root-causes/orders?" + urlencode(params)


def _label(by: Dimension, key: str | None) -> str:
    if key is None:
        return "(none)"
    if by is Dimension.CAUSE and key in RootCause.__members__.values():
        return describe_root_cause(key)
    return key


@router.get("/root-causes", response_model=RootCausesOut, response_model_by_alias=True, responses=CAUSE_REFUSALS)
def get_root_causes(
    start: From,
    end: To,
    by: By = Dimension.CAUSE,
    cause: Cause = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(cause_readers),
) -> RootCausesOut:
    """The Pareto of the exceptions opened in the period: by root cause, warehouse, customer, SKU or carrier,
    most first, with each bar's share, the cumulative share and a link to its orders. A warehouse token
    counts only orders shipping from its warehouse."""
    where = _cause_filter(start, end, cause, principal)
    population, counts = root_cause_counts(container.uow, by, where)
    bars = [
        ParetoBarOut(
            key=bar.key,
            label=_label(by, bar.key),
            exceptions=bar.exceptions,
            orders=bar.orders,
            share=round(bar.share, 6),
            cumulative_share=round(bar.cumulative_share, 6),
            orders_url=_drill_url(where, by, bar.key),
        )
        for bar in pareto(counts)
    ]
    return RootCausesOut.model_validate(
        {
            "from": where.start,
            "to": where.end,
            "by": by.value,
            "cause": where.cause,
            "exceptions": population,
            "bars": bars,
        }
    )


@router.get("/root-causes/orders", response_model=OrderPage, responses=CAUSE_REFUSALS)
def get_root_cause_orders(
    start: From,
    end: To,
    cause: Cause = None,
    warehouse: Selector = None,
    customer: Selector = None,
    sku: Selector = None,
    carrier: Selector = None,
    page: PageRequest = Depends(page_request),
    container: Container = Depends(get_container),
    principal: Principal = Depends(cause_readers),
) -> JSONResponse:
    """The orders behind a Pareto bar: those with an exception opened in the period (of ``cause``) whose order
    ships from ``warehouse``, belongs to ``customer``, has a line of ``sku``, ships with ``carrier`` (an
    empty ``warehouse`` / ``carrier``: none yet). Oldest first, paginated like every list; no timeline."""
    where = _cause_filter(start, end, cause, principal)
    found = root_cause_orders(container.uow, page, where, DrillDown(warehouse, customer, sku, carrier))
    items = [order_out(v).model_dump(mode="json", exclude={"timeline", "progress"}) for v in found.items]
    return JSONResponse({"items": items, "next_cursor": found.next_cursor})


@router.get("/root-cause-taxonomy", response_model=list[RootCauseOut])
def get_root_cause_taxonomy(_: Principal = Depends(cause_readers)) -> list[RootCauseOut]:
    """Every root cause with the delay codes and exception kinds that belong to it (docs/ROOT_CAUSES.md)."""
    return [
        RootCauseOut(
            code=cause.value,
            label=describe_root_cause(cause),
            delay_codes=[d.value for d, c in ROOT_CAUSE_OF_DELAY.items() if c is cause],
            exception_kinds=sorted(kind for kind in CAUSE_CODES if root_cause_of_kind(kind) is cause),
        )
        for cause in RootCause
    ]
