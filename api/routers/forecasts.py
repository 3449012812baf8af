"""The stored demand forecast (issue 13, item 5): forecasts per SKU × region × week, and a warehouse's
replenishment and transfer suggestions. Both read the latest run (``dispatch forecast run`` writes it).
Read by the desk: dispatchers and admins.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import require_roles
from api.container import Container
from api.deps import get_container
from api.errors import refusals
from api.pagination import page_request
from api.schemas.forecasts import ForecastOut, ForecastPageOut, ForecastRunOut, ReplenishmentOut, SuggestionOut
from api.schemas.master_data import PathId
from api.tokens import Principal
from infra.pagination import PageRequest
from orders_core.planning.reads import RunInfo, list_forecasts, warehouse_replenishment

router = APIRouter(tags=["forecasts"])
readers = require_roles("dispatcher")
FilterId = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]


def _run(run: RunInfo | None) -> ForecastRunOut | None:
    return ForecastRunOut(**asdict(run)) if run is not None else None


@router.get("/v1/forecasts", response_model=ForecastPageOut, responses=refusals({422: "invalid_cursor, validation"}))
def get_forecasts(
    sku: FilterId = None,
    region: FilterId = None,
    week: Annotated[date | None, Query(description="Any day of the week wanted (its Monday is used).")] = None,
    page: PageRequest = Depends(page_request),
    container: Container = Depends(get_container),
    _: Principal = Depends(readers),
) -> ForecastPageOut:
    """The latest run's forecasts by SKU, region and week, filtered by any of them; ``run`` is null (and
    ``items`` empty) before the first run."""
    run, items, cursor = list_forecasts(container.uow, page, sku=sku, region=region, week=week)
    return ForecastPageOut(run=_run(run), items=[ForecastOut(**asdict(item)) for item in items], next_cursor=cursor)


@router.get(
    "/v1/warehouses/{warehouse_id}/replenishment",
    response_model=ReplenishmentOut,
    responses=refusals({404: "warehouse_not_found: no warehouse with that id."}),
)
def get_replenishment(
    warehouse_id: PathId,
    container: Container = Depends(get_container),
    _: Principal = Depends(readers),
) -> ReplenishmentOut:
    """The latest run's order-up-to levels, transfers and supplier orders of one warehouse, by SKU."""
    run, suggestions = warehouse_replenishment(container.uow, warehouse_id)
    return ReplenishmentOut(
        warehouse_id=warehouse_id,
        run=_run(run),
        items=[SuggestionOut.model_validate(asdict(s)) for s in suggestions],
    )
