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

from api.auth import require_roles, scoped_warehouse_filter
from api.container import Container
from api.deps import get_container
from api.errors import refusals
from api.schemas.map import BasemapOut, HeatOut, MapCarrierOut, MapCarriersOut, MapOrderOut, MapOrdersOut
from api.schemas.master_data import ID_PATTERN
from api.tokens import Principal
from foundation.clock import utc_now
from geo.h3_cells import cell_center, cell_name, cell_polygon
from orders_core.analytics.period import period
from orders_core.map.model import (
    DEFAULT_HEAT_SPAN,
    DESK_TIME_ZONE,
    HeatKind,
    check_resolution,
    desk_day_bounds,
    desk_today,
)
from orders_core.map.queries import basemap_features, carriers_on_map, heat_cells, orders_placed_between

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
    max_age_s = container.settings.max_position_age_s
    points = carriers_on_map(
        container.uow,
        container.carriers.position_of,
        max_age_s,
        warehouse_id=scoped_warehouse_filter(principal, warehouse_id),
    )
    carriers = [
        MapCarrierOut(
            carrier_id=p.carrier_id,
            name=p.name,
            vehicle_type=p.vehicle_type,
            status=p.status.value,
            lat=p.lat,
            lng=p.lng,
            fixed_at=p.fixed_at,
            position_age_s=p.age_s,
            active_shipments=p.active_shipments,
        )
        for p in points
    ]
    return MapCarriersOut(carriers=carriers, max_position_age_s=max_age_s)


@router.get("/orders", response_model=MapOrdersOut, responses=SCOPE_REFUSALS)
def get_map_orders(
    day: Annotated[
        date | None, Query(alias="date", description="YYYY-MM-DD on the desk's clock; default today.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many orders, newest first.")] = 5_000,
    warehouse_id: WarehouseFilter = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
) -> MapOrdersOut:
    """The delivery points of the orders placed on a day (Asia/Shanghai), with status and late flag."""
    now = utc_now()
    day = day or desk_today(now)
    start, end = desk_day_bounds(day)
    points, total = orders_placed_between(
        container.uow, start, end, now, warehouse_id=scoped_warehouse_filter(principal, warehouse_id), limit=limit
    )
    orders = [
        MapOrderOut(
            order_id=p.order_id,
            customer_id=p.customer_id,
            status=p.status,
            lat=p.lat,
            lng=p.lng,
            address=p.address,
            placed_at=p.placed_at,
            promised_by=p.promised_by,
            late=p.late,
        )
        for p in points
    ]
    return MapOrdersOut(
        date=day, time_zone=str(DESK_TIME_ZONE), total=total, late=sum(o.late for o in orders), orders=orders
    )


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
    resolution: Annotated[int, Query(description="H3 resolution, 5 (region) to 9 (street block).")] = 8,
    start: Annotated[
        AwareDatetime | None, Query(alias="from", description="Orders placed at or after; default 'to' - 7 days.")
    ] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to", description="Orders placed before; default now.")] = None,
    limit: Annotated[int, Query(ge=1, le=20_000, description="At most this many cells, hottest first.")] = 2_000,
    warehouse_id: WarehouseFilter = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
) -> HeatOut:
    """Orders placed in the period per H3 cell of their delivery point (``late``: late deliveries only), as a
    GeoJSON FeatureCollection of the cells' hexagons, hottest first."""
    res = check_resolution(resolution)
    now = utc_now()
    end = end or now
    start = start or end - DEFAULT_HEAT_SPAN
    checked = period(start, end)
    cells = heat_cells(
        container.uow,
        kind,
        res,
        checked.start,
        checked.end,
        now,
        warehouse_id=scoped_warehouse_filter(principal, warehouse_id),
    )
    features = []
    for cell in cells[:limit]:
        lat, lng = cell_center(cell.cell)
        name = cell_name(cell.cell)
        features.append(
            {
                "type": "Feature",
                "id": name,
                "geometry": cell_polygon(cell.cell),
                "properties": {"cell": name, "count": cell.count, "center": {"lat": lat, "lng": lng}},
            }
        )
    return HeatOut.model_validate(
        {
            "type": "FeatureCollection",
            "kind": kind.value,
            "resolution": res,
            "from": checked.start,
            "to": checked.end,
            "total": sum(c.count for c in cells),
            "cells": len(cells),
            "max_count": cells[0].count if cells else 0,
            "features": features,
        }
    )


@router.get("/basemap", response_model=BasemapOut, responses=SCOPE_REFUSALS)
def get_map_basemap(
    warehouse_id: WarehouseFilter = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
) -> BasemapOut:
    """The map's vector basemap (no tile server needed): warehouses and active carriers' coverage areas."""
    features = basemap_features(container.uow, warehouse_id=scoped_warehouse_filter(principal, warehouse_id))
    return BasemapOut(type="FeatureCollection", features=features)
