"""A warehouse's delivery routes: plan them, read their loading sheets, release their picks in loading order."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from api.auth import require_roles
from api.container import Container
from api.deps import get_container
from api.schemas.master_data import PathId
from api.schemas.routes import (
    LoadingSheetOut,
    LoadingSheetsOut,
    PlanRoutesIn,
    RouteWaveIn,
    RouteWaveOut,
    WarehouseRoutesOut,
    routes_out,
    sheet_html,
    sheet_out,
    wave_out,
)
from api.tokens import Principal
from orders_core.picking.service import warehouse_cart
from orders_core.transport import routes
from warehouse_picking.waves import CartLimits

router = APIRouter(prefix="/v1", tags=["transport"])
planners = require_roles("dispatcher")
readers = require_roles("warehouse", "dispatcher")


@router.post("/warehouses/{warehouse_id}/routes", response_model=WarehouseRoutesOut)
def plan_routes(
    warehouse_id: PathId,
    body: PlanRoutesIn | None = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(planners),
) -> WarehouseRoutesOut:
    """Plan delivery routes for the warehouse's assigned shipments; replaces its earlier planned routes."""
    result = routes.plan_warehouse_routes(
        container.uow,
        warehouse_id,
        params=container.settings.routing,
        actor=principal.actor,
        time_limit_s=body.time_limit_s if body else None,
    )
    return routes_out(result)


@router.get("/warehouses/{warehouse_id}/loading-sheets", response_model=LoadingSheetsOut)
def list_loading_sheets(
    warehouse_id: PathId, container: Container = Depends(get_container), _=Depends(readers)
) -> LoadingSheetsOut:
    """Loading sheets of the warehouse's current routes: per vehicle, shipments first loaded first."""
    return LoadingSheetsOut(items=[sheet_out(s) for s in routes.loading_sheets(container.uow, warehouse_id)])


@router.get("/warehouses/{warehouse_id}/loading-sheets/{route_id}.html", response_class=HTMLResponse)
def loading_sheet_page(
    warehouse_id: PathId, route_id: PathId, container: Container = Depends(get_container), _=Depends(readers)
) -> HTMLResponse:
    """The printable loading sheet of one route."""
    return HTMLResponse(sheet_html(routes.loading_sheet(container.uow, warehouse_id, route_id)))


@router.get("/warehouses/{warehouse_id}/loading-sheets/{route_id}", response_model=LoadingSheetOut)
def loading_sheet(
    warehouse_id: PathId,
    route_id: PathId,
    format: Literal["json", "html"] = Query("json"),
    container: Container = Depends(get_container),
    _=Depends(readers),
) -> LoadingSheetOut | Response:
    """One route's loading sheet (``?format=html`` for the printable page)."""
    sheet = routes.loading_sheet(container.uow, warehouse_id, route_id)
    if format == "html":
        return HTMLResponse(sheet_html(sheet))
    return sheet_out(sheet)


@router.post("/warehouses/{warehouse_id}/routes/{route_id}/pick-wave", response_model=RouteWaveOut)
def release_route_picks(
    warehouse_id: PathId,
    route_id: PathId,
    body: RouteWaveIn,
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
) -> RouteWaveOut:
    """Pick tasks for the route's orders, released in loading order: first loaded, first picked."""
    if body.cart is None:
        cart = warehouse_cart(container.uow, warehouse_id)
    else:
        cart = CartLimits(body.cart.max_items, body.cart.max_weight_kg, body.cart.max_volume_m3)
    result = routes.release_route_picks(
        container.uow,
        warehouse_id,
        route_id,
        cart,
        actor=principal.actor,
        time_limit_s=body.time_limit_s,
        params=container.settings.picking,
    )
    return wave_out(result)
