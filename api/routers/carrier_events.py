"""Carrier callbacks: ``POST /v1/carriers/{id}/events`` (see ``orders_core.transport.carrier_events``).

A carrier token acts for its own carrier only (the path must name it: 403 otherwise); a waybill of another
carrier is 404. Dispatchers (and the admin) may report on a carrier's behalf, e.g. from a phone call.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.auth import require_roles
from api.container import Container
from api.deps import get_container
from api.schemas.carrier_events import CarrierEventIn, CarrierEventOut
from api.schemas.master_data import PathId
from api.tokens import Principal
from orders_core.transport.carrier_events import report_carrier_event

router = APIRouter(prefix="/v1/carriers", tags=["carriers"])
reporters = require_roles("dispatcher", "carrier")


@router.post("/{carrier_id}/events", response_model=CarrierEventOut)
def post_carrier_event(
    carrier_id: PathId,
    body: CarrierEventIn,
    container: Container = Depends(get_container),
    principal: Principal = Depends(reporters),
) -> CarrierEventOut:
    """Apply a carrier's report on one of its waybills; a repeated ``event_id`` answers as the first time."""
    result = report_carrier_event(
        container.uow,
        container.stock,
        container.carriers,
        carrier_id,
        body.to_event(),
        actor=principal.actor,
        policy=container.settings.carrier_events,
    )
    return CarrierEventOut.of(result)
