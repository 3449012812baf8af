"""Delivery routes: ``POST /v1/dispatch/plan`` (the contract's Transport section)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.auth import require_roles
from api.container import Container
from api.deps import get_container
from api.schemas.dispatch import PlanIn, PlanOut, RouteOut, ScheduledStopOut
from orders_core.transport.planning import DeliveryPlan, plan_deliveries

router = APIRouter(prefix="/v1", tags=["transport"])
dispatch_roles = require_roles("dispatcher")


def _plan_out(result: DeliveryPlan) -> PlanOut:
    plan = result.plan
    return PlanOut(
        start_at=result.start_at,
        routes=[
            RouteOut(
                vehicle_id=route.vehicle_id,
                stops=[
                    ScheduledStopOut(id=s.stop_id, arrival_s=s.arrival_s, start_s=s.start_s, departure_s=s.departure_s)
                    for s in route.stops
                ],
                distance_m=route.distance_m,
                duration_s=route.duration_s,
                load_kg=route.load_kg,
                load_m3=route.load_m3,
                loading_order=list(route.loading_order or [s.stop_id for s in reversed(route.stops)]),
            )
            for route in plan.routes
        ],
        unassigned=list(plan.unassigned),
        distance_m=plan.distance_m,
        matrix_source=result.matrix_source,
        time_limit_s=result.time_limit_s,
        snap_m=result.snap_m,
    )


@router.post("/dispatch/plan", response_model=PlanOut)
def post_plan(body: PlanIn, container: Container = Depends(get_container), _=Depends(dispatch_roles)) -> PlanOut:
    """Capacitated VRP with time windows, service times, shift ends and allowed vehicles, time-limited."""
    result = plan_deliveries(container.uow, body.to_command(), params=container.settings.routing)
    return _plan_out(result)
