"""Warehouses on the console: the list, and a warehouse's loading sheets (its planned routes, shipments
first loaded first) and pick tasks (open ones with their steps in walking order, then recently completed)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import warehouse_scope
from api.console.layout import console_headers, register_page, render_page
from api.console.session import console_roles
from api.container import Container
from api.deps import get_container
from api.schemas.master_data import PathId
from api.tokens import Principal
from infra.pagination import PageRequest
from orders_core.master_data.listing import warehouse_page
from orders_core.picking.service import WarehouseNotFound, task_page
from orders_core.transport.routes import loading_sheets

router = APIRouter()
readers = console_roles("dispatcher", "warehouse")
TASKS_SHOWN = 50
register_page("warehouses", "Warehouses", "/console/warehouses", roles=("dispatcher", "warehouse"), order=10)


@router.get("/warehouses", response_class=HTMLResponse)
def warehouse_list(
    request: Request, container: Container = Depends(get_container), principal: Principal = Depends(readers)
) -> Response:
    """Every warehouse; a token scoped to one warehouse goes straight to it."""
    scope = warehouse_scope(principal)
    if scope is not None:
        return RedirectResponse(f"/console/warehouses/{scope}", status_code=303, headers=console_headers())
    found = warehouse_page(container.uow, PageRequest(limit=200))
    return render_page(
        request,
        "warehouses.html",
        title="Warehouses",
        principal=principal,
        section="warehouses",
        context={"warehouses": found.items},
    )


@router.get("/warehouses/{warehouse_id}", response_class=HTMLResponse)
def warehouse_detail(
    request: Request,
    warehouse_id: PathId,
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),  # a scoped token naming another warehouse: 403
) -> Response:
    """The warehouse's loading sheets and pick tasks, as the floor works through them."""
    found = warehouse_page(container.uow, PageRequest(limit=1), only_id=warehouse_id).items
    if not found:
        raise WarehouseNotFound(f"no warehouse with id {warehouse_id!r}")
    open_tasks = task_page(
        container.uow, PageRequest(limit=TASKS_SHOWN), warehouse_id=warehouse_id, statuses=["open"]
    ).items
    done_tasks = task_page(
        container.uow,
        PageRequest(limit=TASKS_SHOWN, descending=True),
        warehouse_id=warehouse_id,
        statuses=["completed"],
    ).items
    return render_page(
        request,
        "warehouse_detail.html",
        title=f"Warehouse {found[0].name}",
        principal=principal,
        section="warehouses",
        context={
            "warehouse": found[0],
            "sheets": loading_sheets(container.uow, warehouse_id),
            "open_tasks": open_tasks,
            "done_tasks": done_tasks,
        },
    )
