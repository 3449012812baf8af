"""The live map's data: carriers with the age of their fix, a day's orders with a late flag, H3 heat cells of
demand and of late deliveries with their outlines (GeoJSON), and the vector basemap.

Read by the desk (dispatchers, admins) and by warehouse tokens, which see only what their warehouse ships
(the same scoping as the order list: ``api.auth.scoped_warehouse_filter``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from api.auth import require_roles
from api.container import Container
from api.deps import get_container
from api.errors import refusals
from api.map_views import map_basemap, map_carriers, map_heat, map_orders
from api.responses import PresentedJSONResponse
from api.schemas.map import BasemapOut, HeatOut, MapCarriersOut, MapOrdersOut
from api.schemas.master_data import ID_PATTERN
from api.tokens import Principal
from orders_core.map.model import HeatKind

router = APIRouter(prefix="/v1/map", tags=["map"])
readers = require_roles("dispatcher", "warehouse")

WarehouseFilter = Annotated[
    str | None,
    Query(
        max_length=64, pattern=ID_PATTERN, description="Only what ships from this warehouse (a scoped token: its own)."
    ),
]
SCOPE_REFUSALS = refusals({403: "forbidden: a warehouse token naming another warehouse."})


@router.get("/carriers", response_model=MapCarriersOut, responses=SCOPE_REFUSALS)
def get_map_carriers(
    warehouse_id: WarehouseFilter = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
) -> MapCarriersOut:
    """Every carrier (a warehouse's view: those carrying its shipments) with its newest fix, the fix's age and
    a status for the legend (inactive, no_position, stale, busy, idle)."""
    return map_carriers(container, principal, warehouse_id)


@router.get(
    "/orders",
    response_model=MapOrdersOut,
    responses=refusals(
        {
            403: "forbidden: a warehouse token naming another warehouse.",
            422: "invalid_date: a day whose bounds have no UTC time (year 1 or 9999); validation_error: not a date.",
        }
    ),
)
def get_map_orders(
    day: Annotated[date | None, Query(alias="date", description="YYYY-MM-DD (desk's clock); default today.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many orders, newest first.")] = 5_000,
    warehouse_id: WarehouseFilter = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
) -> MapOrdersOut:
    """The delivery points of the orders placed on a day (Asia/Shanghai), with status and late flag."""
    return map_orders(container, principal, day, limit=limit, warehouse_id=warehouse_id)


@router.get(
    "/heat",
    response_model=HeatOut,
    response_model_by_alias=True,
    responses=refusals(
        {
            403: "forbidden: a warehouse token naming another warehouse.",
            422: "invalid_resolution: no stored cells at that resolution; invalid_period: 'to' not after 'from' or"
            " more than 366 days apart.",
        }
    ),
)
def get_map_heat(
    kind: Annotated[HeatKind, Query(description="demand: every order; late: late deliveries.")] = HeatKind.DEMAND,
    resolution: Annotated[int, Query(description="H3 resolution, 5 (region) to 9 (street block).")] = 7,
    start: Annotated[
        AwareDatetime | None, Query(alias="from", description="Orders placed at or after; default 'to' - 7 days.")
    ] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to", description="Orders placed before; default now.")] = None,
    limit: Annotated[int, Query(ge=1, le=20_000, description="At most this many cells, hottest first.")] = 2_000,
    warehouse_id: WarehouseFilter = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
) -> PresentedJSONResponse:
    """Orders placed in the period per H3 cell of their delivery point (``late``: late deliveries only), as a
    GeoJSON FeatureCollection of the cells' hexagons, hottest first."""
    heat = map_heat(container, principal, kind, resolution, start, end, limit=limit, warehouse_id=warehouse_id)
    return PresentedJSONResponse(heat)


@router.get("/basemap", response_model=BasemapOut, responses=SCOPE_REFUSALS)
def get_map_basemap(
    warehouse_id: WarehouseFilter = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
) -> BasemapOut:
    """The map's vector basemap (no tile server needed): warehouses and active carriers' coverage areas."""
    return map_basemap(container, principal, warehouse_id)
