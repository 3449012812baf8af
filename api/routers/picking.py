"""Picking: optimal pick routes, SKU slots, waves of pick tasks and their confirmation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.auth import enforce_warehouse_scope, require_roles, scoped_warehouse_filter
from api.container import Container
from api.deps import get_container
from api.errors import created_or_replaced, refusals
from api.pagination import CreatedFrom, CreatedTo, MultiValue, Page, one_of, page_request, time_range
from api.schemas.master_data import ID_PATTERN, PathId
from api.schemas.picking import (
    CartIn,
    CartOut,
    ConfirmIn,
    LeftOutOut,
    PickRouteIn,
    PickRouteOut,
    PickStepOut,
    PickTaskOut,
    SkuSlotIn,
    SkuSlotOut,
    WaveIn,
    WaveOut,
)
from api.tokens import Principal
from infra.pagination import PageRequest
from orders_core.picking import service as picking
from orders_core.picking.model import CreateWave, PickConfirmation, PickTask
from warehouse_picking.waves import CartLimits

router = APIRouter(prefix="/v1", tags=["picking"])
picking_roles = require_roles("warehouse", "dispatcher")
cart_writers = require_roles("dispatcher")
TASK_STATUSES = ("open", "completed")


def _task_out(task: PickTask) -> PickTaskOut:
    return PickTaskOut(
        id=task.id,
        warehouse_id=task.warehouse_id,
        status=task.status,
        distance_m=task.distance_m,
        walk_from_depot_m=task.walk_from_depot_m,
        method=task.method,
        order_ids=task.order_ids,
        created_at=task.created_at,
        completed_at=task.completed_at,
        steps=[
            PickStepOut(
                step=s.step,
                slot=s.slot_id,
                sku=s.sku,
                qty=s.qty,
                order_id=s.order_id,
                walk_to_next_m=s.walk_to_next_m,
                picked_qty=s.picked_qty,
                confirmed_at=s.confirmed_at,
            )
            for s in task.steps
        ],
    )


@router.post(
    "/warehouses/{warehouse_id}/pick-route",
    response_model=PickRouteOut,
    responses=refusals(
        {
            404: "warehouse_not_found: no warehouse with this id.",
            422: "warehouse_has_no_layout: PUT the warehouse with a layout first; unknown_slot: slots the layout"
            " does not have (all named); empty_pick_list: no slot to visit; unsupported_method: the method does not"
            " apply to this layout; validation_error: the body breaks the schema.",
        }
    ),
)
def plan_pick_route(
    warehouse_id: PathId,
    body: PickRouteIn,
    container: Container = Depends(get_container),
    _=Depends(picking_roles),
) -> PickRouteOut:
    """Shortest closed walk from the depot through the slots (exact where affordable)."""
    route = picking.plan_pick_route(
        container.uow,
        warehouse_id,
        body.slots,
        method=body.method,
        time_limit_s=body.time_limit_s,
        params=container.settings.picking,
    )
    return PickRouteOut(
        sequence=route.sequence,
        distance_m=route.distance_m,
        method=route.method,
        lower_bound_m=route.lower_bound_m,
        proven_optimal=route.proven_optimal,
        stops=len(route.stop_order),
        solve_ms=round(route.solve_ms, 3),
    )


@router.put(
    "/warehouses/{warehouse_id}/slots/{sku}",
    response_model=SkuSlotOut,
    responses=refusals(
        {
            404: "warehouse_not_found / sku_not_found: no warehouse or SKU with this id.",
            422: "warehouse_has_no_layout: PUT the warehouse with a layout first; unknown_slot: the layout has no"
            " such slot; validation_error: the body breaks the schema.",
        }
    ),
)
def put_sku_slot(
    warehouse_id: PathId,
    sku: PathId,
    body: SkuSlotIn,
    container: Container = Depends(get_container),
    _=Depends(picking_roles),
) -> SkuSlotOut:
    """Say where a SKU is picked (the slot must exist in the warehouse's layout)."""
    picking.assign_sku_slot(container.uow, warehouse_id, sku, body.slot)
    return SkuSlotOut(warehouse_id=warehouse_id, sku=sku, slot=body.slot)


@router.get("/warehouses/{warehouse_id}/slots/{sku}", response_model=SkuSlotOut)
def get_sku_slot(
    warehouse_id: PathId, sku: PathId, container: Container = Depends(get_container), _=Depends(picking_roles)
) -> SkuSlotOut:
    """Where a SKU is picked."""
    return SkuSlotOut(warehouse_id=warehouse_id, sku=sku, slot=picking.sku_slot(container.uow, warehouse_id, sku))


@router.put("/warehouses/{warehouse_id}/cart", response_model=CartOut, responses=created_or_replaced(CartOut))
def put_cart(
    warehouse_id: PathId,
    body: CartIn,
    response: Response,
    container: Container = Depends(get_container),
    _=Depends(cart_writers),
) -> CartOut:
    """Store the cart this warehouse's waves use when a wave request names none (201 first time, then 200)."""
    cart = CartLimits(body.max_items, body.max_weight_kg, body.max_volume_m3)
    created = picking.set_warehouse_cart(container.uow, warehouse_id, cart)
    response.status_code = 201 if created else 200
    return CartOut(warehouse_id=warehouse_id, **body.model_dump())


@router.get("/warehouses/{warehouse_id}/cart", response_model=CartOut)
def get_cart(warehouse_id: PathId, container: Container = Depends(get_container), _=Depends(picking_roles)) -> CartOut:
    """The warehouse's stored cart (422 ``cart_not_configured`` when none was stored)."""
    cart = picking.warehouse_cart(container.uow, warehouse_id)
    return CartOut(
        warehouse_id=warehouse_id,
        max_items=cart.max_items,
        max_weight_kg=cart.max_weight_kg,
        max_volume_m3=cart.max_volume_m3,
    )


@router.post("/warehouses/{warehouse_id}/waves", response_model=WaveOut)
def post_wave(
    warehouse_id: PathId,
    body: WaveIn,
    container: Container = Depends(get_container),
    principal: Principal = Depends(picking_roles),
) -> WaveOut:
    """Batch allocated orders (all, or ``order_ids``) into cart-sized pick tasks; those orders move to
    ``picking``. The cart is the body's or the warehouse's stored one. An order larger than a cart is split
    across trips; one that cannot be picked is left out with the reason, and the others still go."""
    command = CreateWave(
        warehouse_id=warehouse_id,
        actor=principal.actor,
        cart=None
        if body.cart is None
        else CartLimits(body.cart.max_items, body.cart.max_weight_kg, body.cart.max_volume_m3),
        order_ids=None if body.order_ids is None else tuple(body.order_ids),
        time_limit_s=body.time_limit_s,
    )
    result = picking.create_wave(container.uow, command, params=container.settings.picking)
    tasks = [_task_out(t) for t in result.tasks]
    return WaveOut(
        tasks=tasks,
        orders=result.orders,
        distance_m=round(sum(t.distance_m for t in tasks), 6),
        split_orders=result.split_orders,
        left_out=[LeftOutOut(order_id=o.order_id, code=o.reason_code, reason=o.reason) for o in result.left_out],
    )


@router.get("/pick-tasks", response_model=Page[PickTaskOut])
def list_pick_tasks(
    warehouse_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    status: MultiValue = None,
    order_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    page: PageRequest = Depends(page_request),
    container: Container = Depends(get_container),
    principal: Principal = Depends(picking_roles),
) -> Page[PickTaskOut]:
    """Pick tasks with their steps, oldest first (``order=desc``: newest first); a handheld's open tasks are
    ``?warehouse_id=W1&status=open``. ``status`` may repeat: open, completed."""
    created_from, created_to = time_range(created_from, created_to)
    found = picking.task_page(
        container.uow,
        page,
        warehouse_id=scoped_warehouse_filter(principal, warehouse_id),
        statuses=one_of(status, TASK_STATUSES, name="status"),
        order_id=order_id,
        created_from=created_from,
        created_to=created_to,
    )
    return Page[PickTaskOut](items=[_task_out(t) for t in found.items], next_cursor=found.next_cursor)


@router.get("/pick-tasks/{task_id}", response_model=PickTaskOut)
def get_pick_task(
    task_id: PathId, container: Container = Depends(get_container), principal: Principal = Depends(picking_roles)
) -> PickTaskOut:
    """A pick task with its steps in walking order."""
    task = picking.get_task(container.uow, task_id)
    enforce_warehouse_scope(principal, task.warehouse_id)
    return _task_out(task)


@router.post(
    "/pick-tasks/{task_id}/confirm",
    response_model=PickTaskOut,
    responses=refusals(
        {
            404: "pick_task_not_found: no pick task with this id.",
            409: "pick_already_confirmed: a step was confirmed before with another picked_qty.",
            422: "invalid_pick: a step not in the task, a step twice, or picked_qty above the step's qty (every"
            " problem named); validation_error: the body breaks the schema.",
        }
    ),
)
def confirm_pick_task(
    task_id: PathId,
    body: ConfirmIn,
    container: Container = Depends(get_container),
    principal: Principal = Depends(picking_roles),
) -> PickTaskOut:
    """Record picked quantities; short picks open exceptions; fully picked orders become ``loaded``."""
    enforce_warehouse_scope(principal, picking.get_task(container.uow, task_id).warehouse_id)
    picks = [PickConfirmation(p.step, p.picked_qty) for p in body.picks]
    task = picking.confirm_picks(container.uow, container.stock, task_id, picks, actor=principal.actor)
    return _task_out(task)
