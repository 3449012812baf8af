"""The webhook desk: carrier webhook deliveries with their attempts, and replays of dead-lettered ones.

Dispatchers (and admin) only: a delivery's body is a carrier's e-waybill. A replay sends the same
``webhook-id`` again, so a carrier that already has the event recognises it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query

from api.auth import require_roles
from api.container import Container
from api.deps import get_container
from api.schemas.master_data import ID_PATTERN
from api.schemas.webhooks import DeliveryOut, DeliveryPageOut, ReplayedOut, delivery_out
from api.tokens import Principal
from orders_core.transport.webhooks.service import (
    delivery_page,
    get_delivery,
    replay_dead_deliveries,
    replay_delivery,
)

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
desk = require_roles("dispatcher")
#: Delivery ids are the table's INTEGER key: above 2**31 - 1 PostgreSQL refuses the comparison (a 500 before).
DeliveryId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/deliveries", response_model=DeliveryPageOut)
def list_deliveries(
    status: Annotated[Literal["pending", "delivered", "dead", "skipped"] | None, Query()] = None,
    carrier_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=20, pattern=r"^[0-9]+$")] = None,
    container: Container = Depends(get_container),
    _: Principal = Depends(desk),
) -> DeliveryPageOut:
    """Deliveries newest first with their attempts; ``next_cursor`` fetches the next page."""
    page = delivery_page(container.uow, status=status, carrier_id=carrier_id, limit=limit, cursor=cursor)
    return DeliveryPageOut(items=[delivery_out(v) for v in page.items], next_cursor=page.next_cursor)


@router.get("/deliveries/{delivery_id}", response_model=DeliveryOut)
def get_one(
    delivery_id: DeliveryId, container: Container = Depends(get_container), _: Principal = Depends(desk)
) -> DeliveryOut:
    """One delivery with its attempts."""
    return delivery_out(get_delivery(container.uow, delivery_id))


@router.post("/deliveries/replay", response_model=ReplayedOut)
def replay_all(
    carrier_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    container: Container = Depends(get_container),
    _: Principal = Depends(desk),
) -> ReplayedOut:
    """Every dead-lettered delivery (optionally one carrier's) back to pending, due now."""
    return ReplayedOut(replayed=replay_dead_deliveries(container.uow, carrier_id=carrier_id))


@router.post("/deliveries/{delivery_id}/replay", response_model=DeliveryOut)
def replay_one(
    delivery_id: DeliveryId, container: Container = Depends(get_container), _: Principal = Depends(desk)
) -> DeliveryOut:
    """One dead-lettered delivery back to pending (409 when it is not dead-lettered)."""
    return delivery_out(replay_delivery(container.uow, delivery_id))
