"""The console's Analytics pages: stage timings with the funnel and the daily trend, the root-cause Pareto
(by cause, warehouse, customer, SKU or carrier) and its drill-down to the orders behind a bar.

The pages call the same use cases as ``/v1/analytics/...`` (no figure is computed twice); each chart is
drawn by plotly.js (``static/analytics.js``) from the page's embedded JSON, and each has a table of the same
numbers for keyboards and screen readers. The period is whole UTC days: ``from`` included, ``to`` included
(the page asks for dates; the query is ``[from 00:00, to + 1 day 00:00)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from api.auth import warehouse_scope
from api.console.layout import register_page, render_page
from api.console.session import console_roles
from api.pagination import one_of, page_request
from api.tokens import Principal
from infra.pagination import PageRequest
from orders_core.analytics.aggregates import period_figures
from orders_core.analytics.pareto import pareto
from orders_core.analytics.period import period
from orders_core.analytics.root_cause_queries import (
    CauseFilter,
    Dimension,
    DrillDown,
    root_cause_counts,
    root_cause_orders,
)
from orders_core.orders.root_causes import RootCause, describe_root_cause

router = APIRouter()
TIMINGS_PATH = "/console/analytics"
CAUSES_PATH = "/console/analytics/root-causes"
DRILL_PATH = "/console/analytics/root-causes/orders"
register_page("analytics", "Stage timings", TIMINGS_PATH, roles=("dispatcher",), order=10)
register_page("analytics", "Root causes", CAUSES_PATH, roles=("dispatcher", "warehouse"), order=20)

#: The period a page shows when none is asked for: the last 30 days, today included.
DEFAULT_DAYS = 30
DIMENSION_LABELS = {
    Dimension.CAUSE: "Root cause",
    Dimension.WAREHOUSE: "Warehouse",
    Dimension.CUSTOMER: "Customer",
    Dimension.SKU: "SKU",
    Dimension.CARRIER: "Carrier",
}
FromDay = Annotated[date | None, Query(alias="from", description="First day (UTC), included.")]
ToDay = Annotated[date | None, Query(alias="to", description="Last day (UTC), included.")]
Selector = Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00]*$")]


@dataclass(frozen=True)
class Days:
    """The page's period as dates (for the form and links) and as the UTC instants the queries take."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), UTC)

    def params(self) -> dict[str, str]:
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def _days(first: date | None, last: date | None) -> Days:
    """The asked days, or the default span ending today; checked like the API's period (422 page)."""
    last = last or datetime.now(UTC).date()
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    days = Days(first, last)
    period(days.start, days.end)  # invalid_period: reversed or longer than the API allows
    return days


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)


@router.get("/analytics", response_class=HTMLResponse)
def stage_timings_page(
    request: Request,
    first: FromDay = None,
    last: ToDay = None,
    principal: Principal = Depends(console_roles("dispatcher")),
) -> HTMLResponse:
    """p50/p90 hours per node transition, the funnel and the trend by day, as charts and tables."""
    days = _days(first, last)
    container = request.app.state.container
    figures = period_figures(container.uow, days.start, days.end)
    transitions = [
        {
            "label": f"{t.from_node.value} → {t.to_node.value}",
            "count": t.count,
            "p50_h": _hours(t.p50_s),
            "p90_h": _hours(t.p90_s),
        }
        for t in figures.timings
    ]
    nodes = [{"node": status.value, "reached": reached} for status, reached in figures.funnel.items()]
    trend = [
        {
            "day": d.day.isoformat(),
            "placed": d.placed,
            "delivered": d.delivered,
            "end_to_end_p50_h": _hours(d.end_to_end_p50_s),
        }
        for d in figures.trend
    ]
    data = {"transitions": transitions, "funnel": nodes, "trend": trend}
    return render_page(
        request,
        "analytics_timings.html",
        title="Stage timings",
        principal=principal,
        section="analytics",
        context={"days": days, "orders": figures.orders, "data": data},
        vendors=("plotly",),
        scripts=("analytics.js",),
    )


def _cause_filter(days: Days, cause: str | None, principal: Principal) -> CauseFilter:
    causes = one_of(None if not cause else [cause], [c.value for c in RootCause], name="cause")
    return CauseFilter(days.start, days.end, causes[0] if causes else None, warehouse_scope(principal))


def _drill_link(days: Days, cause: str | None, by: Dimension, key: str | None) -> str:
    params = days.params() | ({"cause": cause} if cause else {}) | {by.value: key or ""}
    return f"{DRILL_PATH}?{urlencode(params)}"


def _bar_label(by: Dimension, key: str | None) -> str:
    if key is None:
        return "(none)"
    return describe_root_cause(key) if by is Dimension.CAUSE and key in set(RootCause) else key


@router.get("/analytics/root-causes", response_class=HTMLResponse)
def root_causes_page(
    request: Request,
    first: FromDay = None,
    last: ToDay = None,
    by: Dimension = Dimension.CAUSE,
    cause: Selector = None,
    principal: Principal = Depends(console_roles("dispatcher", "warehouse")),
) -> HTMLResponse:
    """The Pareto of the period's exceptions along ``by`` (optionally of one cause), each bar linked to
    its orders."""
    days = _days(first, last)
    where = _cause_filter(days, cause, principal)
    population, counts = root_cause_counts(request.app.state.container.uow, by, where)
    bars = [
        {
            "key": bar.key,
            "label": _bar_label(by, bar.key),
            "exceptions": bar.exceptions,
            "orders": bar.orders,
            "share_pct": round(bar.share * 100, 1),
            "cumulative_pct": round(bar.cumulative_share * 100, 1),
            "url": _drill_link(days, where.cause, by, bar.key),
        }
        for bar in pareto(counts)
    ]
    causes = [{"code": c.value, "label": describe_root_cause(c)} for c in RootCause]
    dimensions = [{"code": d.value, "label": label} for d, label in DIMENSION_LABELS.items()]
    return render_page(
        request,
        "analytics_root_causes.html",
        title="Root causes",
        principal=principal,
        section="analytics",
        context={
            "days": days,
            "by": by.value,
            "by_label": DIMENSION_LABELS[by],
            "cause": where.cause,
            "cause_label": describe_root_cause(where.cause) if where.cause else None,
            "causes": causes,
            "dimensions": dimensions,
            "population": population,
            "scope": where.scope_warehouse,
            "data": {"bars": bars, "by_label": DIMENSION_LABELS[by]},
        },
        vendors=("plotly",),
        scripts=("analytics.js",),
    )


@router.get("/analytics/root-causes/orders", response_class=HTMLResponse)
def root_cause_orders_page(
    request: Request,
    first: FromDay = None,
    last: ToDay = None,
    cause: Selector = None,
    warehouse: Selector = None,
    customer: Selector = None,
    sku: Selector = None,
    carrier: Selector = None,
    page: PageRequest = Depends(page_request),
    principal: Principal = Depends(console_roles("dispatcher", "warehouse")),
) -> HTMLResponse:
    """The orders behind a Pareto bar (the period's exceptions of ``cause`` for the selectors), paginated."""
    days = _days(first, last)
    where = _cause_filter(days, cause, principal)
    drill = DrillDown(warehouse, customer, sku, carrier)
    found = root_cause_orders(request.app.state.container.uow, page, where, drill)
    selectors: dict[str, Any] = {
        name: value
        for name, value in (("warehouse", warehouse), ("customer", customer), ("sku", sku), ("carrier", carrier))
        if value is not None
    }
    base = days.params() | ({"cause": where.cause} if where.cause else {}) | selectors
    next_url = f"{DRILL_PATH}?{urlencode(base | {'cursor': found.next_cursor})}" if found.next_cursor else None
    return render_page(
        request,
        "analytics_cause_orders.html",
        title="Orders behind a root cause",
        principal=principal,
        section="analytics",
        context={
            "days": days,
            "cause_label": describe_root_cause(where.cause) if where.cause else "any root cause",
            "selectors": {k: (v or "(none)") for k, v in selectors.items()},
            "orders": found.items,
            "next_url": next_url,
            "back_url": f"{CAUSES_PATH}?{urlencode(days.params() | ({'cause': where.cause} if where.cause else {}))}",
        },
    )
