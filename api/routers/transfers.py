"""Stock transfers between warehouses, with their own status and timeline.

``POST /v1/transfers`` holds the units at the source; ``POST /v1/transfers/{id}/ship`` takes them off hand
there (in transit); ``POST /v1/transfers/{id}/receive`` puts them on hand at the destination and retries
the held orders waiting for those SKUs; ``POST /v1/transfers/{id}/cancel`` releases a requested transfer.
A step the status does not allow is 409 ``invalid_transfer_transition``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query

from api.auth import enforce_warehouse_scope, require_roles, warehouse_scope
from api.container import Container
from api.deps import get_container
from api.schemas.master_data import ID_PATTERN, PathId
from api.schemas.transfers import (
    TransferEventOut,
    TransferIn,
    TransferLineOut,
    TransferList,
    TransferOut,
    TransferStatus,
    TransferStepIn,
)
from api.tokens import Principal
from orders_core.orders.recovery.shortage import advance_transfer_and_retry
from orders_core.stock.transfers import RequestTransfer, TransferView, get_transfer, list_transfers, request_transfer

router = APIRouter(prefix="/v1/transfers", tags=["transfers"])
TransferId = PathId
movers = require_roles("dispatcher", "warehouse")


def transfer_out(view: TransferView, allocated: list[str] | None = None) -> TransferOut:
    """API form of a transfer."""
    return TransferOut(
        id=view.id,
        from_warehouse_id=view.from_warehouse_id,
        to_warehouse_id=view.to_warehouse_id,
        status=view.status,  # type: ignore[arg-type]
        lines=[TransferLineOut(sku=sku, qty=qty) for sku, qty in view.lines],
        timeline=[TransferEventOut(status=e.status, at=e.at, actor=e.actor, note=e.note) for e in view.timeline],
        order_id=view.order_id,
        exception_id=view.exception_id,
        created_by=view.created_by,
        created_at=view.created_at,
        updated_at=view.updated_at,
        allocated_orders=allocated or [],
    )


@router.post("", status_code=201, response_model=TransferOut)
def create_transfer(
    body: TransferIn, container: Container = Depends(get_container), principal: Principal = Depends(movers)
) -> TransferOut:
    """Request a transfer: 201 with the units held at the source; 409 insufficient_stock when they are not
    available there, 422 invalid_transfer for unknown warehouses or SKUs or the same warehouse twice."""
    enforce_warehouse_scope(principal, body.from_warehouse_id, body.to_warehouse_id)
    command = RequestTransfer(
        from_warehouse_id=body.from_warehouse_id,
        to_warehouse_id=body.to_warehouse_id,
        lines=tuple((line.sku, line.qty) for line in body.lines),
        order_id=body.order_id,
        note=body.note,
    )
    return transfer_out(request_transfer(container.uow, container.stock, command, actor=principal.actor))


@router.get("", response_model=TransferList)
def get_transfers(
    status: Annotated[TransferStatus | None, Query()] = None,
    order_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    container: Container = Depends(get_container),
    principal: Principal = Depends(movers),
) -> TransferList:
    """Transfers, oldest first, filtered by status and order (a scoped warehouse token sees only transfers
    from or to its warehouse)."""
    views = list_transfers(container.uow, status=status, order_id=order_id, limit=limit)
    scope = warehouse_scope(principal)
    if scope is not None:
        views = [v for v in views if scope in (v.from_warehouse_id, v.to_warehouse_id)]
    return TransferList(items=[transfer_out(v) for v in views])


@router.get("/{transfer_id}", response_model=TransferOut)
def get_one(
    transfer_id: TransferId, container: Container = Depends(get_container), principal: Principal = Depends(movers)
) -> TransferOut:
    """One transfer with its timeline."""
    view = get_transfer(container.uow, transfer_id)
    enforce_warehouse_scope(principal, view.from_warehouse_id, view.to_warehouse_id)
    return transfer_out(view)


def _step(
    container: Container, transfer_id: str, to_status: str, principal: Principal, body: TransferStepIn | None
) -> TransferOut:
    current = get_transfer(container.uow, transfer_id)
    enforce_warehouse_scope(principal, current.from_warehouse_id, current.to_warehouse_id)
    view, retried = advance_transfer_and_retry(
        container.uow,
        container.stock,
        transfer_id,
        to_status,
        price_tolerance=container.settings.price_tolerance,
        actor=principal.actor,
        note=body.note if body else None,
    )
    return transfer_out(view, retried.allocated)


@router.post("/{transfer_id}/ship", response_model=TransferOut)
def ship(
    transfer_id: TransferId,
    body: Annotated[TransferStepIn | None, Body()] = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(movers),
) -> TransferOut:
    """requested -> in_transit: the units leave the source (its on hand drops)."""
    return _step(container, transfer_id, "in_transit", principal, body)


@router.post("/{transfer_id}/receive", response_model=TransferOut)
def receive(
    transfer_id: TransferId,
    body: Annotated[TransferStepIn | None, Body()] = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(movers),
) -> TransferOut:
    """in_transit -> received: on hand at the destination; held orders waiting for the SKUs are retried."""
    return _step(container, transfer_id, "received", principal, body)


@router.post("/{transfer_id}/cancel", response_model=TransferOut)
def cancel(
    transfer_id: TransferId,
    body: Annotated[TransferStepIn | None, Body()] = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(movers),
) -> TransferOut:
    """requested -> cancelled: the hold at the source is released (409 once in transit)."""
    return _step(container, transfer_id, "cancelled", principal, body)
