"""Picking: optimal pick routes, SKU slots, waves of pick tasks and their confirmation."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.auth import require_roles
from api.container import Container
from api.deps import get_container
from api.schemas.picking import (
    ConfirmIn,
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
from orders_core.picking import service as picking
from orders_core.picking.model import CreateWave, PickConfirmation, PickTask

router = APIRouter(prefix="/v1", tags=["picking"])
picking_roles = require_roles("warehouse", "dispatcher")


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


@router.post("/warehouses/{warehouse_id}/pick-route", response_model=PickRouteOut)
def plan_pick_route(
    warehouse_id: str,
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


@router.put("/warehouses/{warehouse_id}/slots/{sku}", response_model=SkuSlotOut)
def put_sku_slot(
    warehouse_id: str,
    sku: str,
    body: SkuSlotIn,
    container: Container = Depends(get_container),
    _=Depends(picking_roles),
) -> SkuSlotOut:
    """Say where a SKU is picked (the slot must exist in the warehouse's layout)."""
    picking.assign_sku_slot(container.uow, warehouse_id, sku, body.slot)
    return SkuSlotOut(warehouse_id=warehouse_id, sku=sku, slot=body.slot)


@router.get("/warehouses/{warehouse_id}/slots/{sku}", response_model=SkuSlotOut)
def get_sku_slot(
    warehouse_id: str, sku: str, container: Container = Depends(get_container), _=Depends(picking_roles)
) -> SkuSlotOut:
    """Where a SKU is picked."""
    return SkuSlotOut(warehouse_id=warehouse_id, sku=sku, slot=picking.sku_slot(container.uow, warehouse_id, sku))


@router.post("/warehouses/{warehouse_id}/waves", response_model=WaveOut)
def post_wave(
    warehouse_id: str,
    body: WaveIn,
    container: Container = Depends(get_container),
    principal: Principal = Depends(picking_roles),
) -> WaveOut:
    """Batch allocated orders into cart-sized pick tasks; those orders move to ``picking``."""
    command = CreateWave(
        warehouse_id=warehouse_id,
        max_items=body.cart.max_items,
        max_weight_kg=body.cart.max_weight_kg,
        max_volume_m3=body.cart.max_volume_m3,
        actor=principal.actor,
        time_limit_s=body.time_limit_s,
    )
    result = picking.create_wave(container.uow, command, params=container.settings.picking)
    tasks = [_task_out(t) for t in result.tasks]
    return WaveOut(tasks=tasks, orders=result.orders, distance_m=round(sum(t.distance_m for t in tasks), 6))


@router.get("/pick-tasks/{task_id}", response_model=PickTaskOut)
def get_pick_task(task_id: str, container: Container = Depends(get_container), _=Depends(picking_roles)) -> PickTaskOut:
    """A pick task with its steps in walking order."""
    return _task_out(picking.get_task(container.uow, task_id))


@router.post("/pick-tasks/{task_id}/confirm", response_model=PickTaskOut)
def confirm_pick_task(
    task_id: str,
    body: ConfirmIn,
    container: Container = Depends(get_container),
    principal: Principal = Depends(picking_roles),
) -> PickTaskOut:
    """Record picked quantities; short picks open exceptions; fully picked orders become ``loaded``."""
    picks = [PickConfirmation(p.step, p.picked_qty) for p in body.picks]
    task = picking.confirm_picks(container.uow, container.stock, task_id, picks, actor=principal.actor)
    return _task_out(task)
