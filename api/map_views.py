"""The live map's answers, built once for both doors: the JSON API (``api/routers/map.py``, bearer tokens)
and the console's map page and its data (``api/console/routers/map.py``, the session cookie).

Each builder applies a warehouse token's scope (``api.auth.scoped_warehouse_filter``) and answers the API's
response model; coordinates are WGS-84 (the console shifts them for GCJ-02 tiles itself).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from api.auth import scoped_warehouse_filter
from api.container import Container
from api.schemas.map import BasemapOut, MapCarrierOut, MapCarriersOut, MapOrderOut, MapOrdersOut
from api.tokens import Principal
from foundation.clock import rfc3339, utc_now
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


def map_carriers(container: Container, principal: Principal, warehouse_id: str | None = None) -> MapCarriersOut:
    """Every carrier in scope with its newest fix, the fix's age and its status for the legend."""
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


def map_orders(
    container: Container, principal: Principal, day: date | None, *, limit: int, warehouse_id: str | None = None
) -> MapOrdersOut:
    """The orders placed on ``day`` (default today, desk's clock) in scope, newest first, with the late flag."""
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
    late = sum(o.late for o in orders)
    return MapOrdersOut(date=day, time_zone=str(DESK_TIME_ZONE), total=total, late=late, orders=orders)


def map_heat(
    container: Container,
    principal: Principal,
    kind: HeatKind,
    resolution: int,
    start: datetime | None,
    end: datetime | None,
    *,
    limit: int,
    warehouse_id: str | None = None,
) -> dict[str, Any]:
    """Orders of the period (default: the week before ``end``, which defaults to now) per H3 cell, hottest
    first, as a GeoJSON FeatureCollection of hexagons (the JSON of ``api.schemas.map.HeatOut``)."""
    res = check_resolution(resolution)
    now = utc_now()
    end = end or now
    start = start or end - DEFAULT_HEAT_SPAN
    checked = period(start, end)
    scope = scoped_warehouse_filter(principal, warehouse_id)
    cells = heat_cells(container.uow, kind, res, checked.start, checked.end, now, warehouse_id=scope)
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
    # Built as the answer itself (no model round trip): thousands of hexagons, each already well formed.
    return {
        "type": "FeatureCollection",
        "kind": kind.value,
        "resolution": res,
        "from": rfc3339(checked.start),
        "to": rfc3339(checked.end),
        "total": sum(c.count for c in cells),
        "cells": len(cells),
        "max_count": cells[0].count if cells else 0,
        "features": features,
    }


def map_basemap(container: Container, principal: Principal, warehouse_id: str | None = None) -> BasemapOut:
    """Warehouses and active carriers' coverage areas in scope, as GeoJSON features."""
    features = basemap_features(container.uow, warehouse_id=scoped_warehouse_filter(principal, warehouse_id))
    return BasemapOut(type="FeatureCollection", features=features)
