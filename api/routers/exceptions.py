"""Order exceptions: the queue of problems that need a person, and their approval or rejection.

Approving lets the order's pipeline continue from where it stopped (for credit exceptions a
``temporary_credit_limit`` may be granted at the same time); rejecting cancels the order and releases
its stock. An exception can be resolved once; a second attempt is 409 ``exception_already_resolved``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query

from api.auth import require_roles
from api.container import Container
from api.deps import get_container
from api.schemas.exceptions import ApproveIn, ExceptionList, ExceptionOut, RejectIn
from api.schemas.master_data import ID_PATTERN, PathId
from api.schemas.orders import exception_out
from api.tokens import Principal
from orders_core.orders.exceptions_flow import resolve_by_approval, resolve_by_rejection
from orders_core.orders.queries import exception_view, exception_views

router = APIRouter(prefix="/v1/exceptions", tags=["exceptions"])
ExceptionId = PathId
readers = require_roles("dispatcher", "warehouse")
resolvers = require_roles("dispatcher")


@router.get("", response_model=ExceptionList)
def list_exceptions(
    status: Annotated[Literal["open", "approved", "rejected", "closed"] | None, Query()] = None,
    kind: Annotated[str | None, Query(max_length=40, pattern=ID_PATTERN)] = None,
    order_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    container: Container = Depends(get_container),
    _: Principal = Depends(readers),
) -> ExceptionList:
    """Exceptions, oldest first, filtered by status, kind and order."""
    views = exception_views(container.uow, status=status, kind=kind, order_id=order_id, limit=limit)
    return ExceptionList(items=[exception_out(v) for v in views])


@router.get("/{exception_id}", response_model=ExceptionOut)
def get_one(
    exception_id: ExceptionId, container: Container = Depends(get_container), _: Principal = Depends(readers)
) -> ExceptionOut:
    """One exception."""
    return exception_out(exception_view(container.uow, exception_id))


@router.post("/{exception_id}/approve", response_model=ExceptionOut)
def approve(
    exception_id: ExceptionId,
    body: Annotated[ApproveIn | None, Body()] = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(resolvers),
) -> ExceptionOut:
    """Approve: the order leaves hold and its pipeline continues."""
    body = body or ApproveIn()
    view = resolve_by_approval(
        container.uow,
        container.stock,
        exception_id,
        actor=principal.actor,
        price_tolerance=container.settings.price_tolerance,
        temporary_credit_limit=body.temporary_credit_limit,
        note=body.note,
        temporary_credit_limit_expires_at=body.temporary_credit_limit_expires_at,
        temporary_credit_ttl_s=container.settings.temporary_credit_ttl_s,
        price=body.price,
    )
    return exception_out(view)


@router.post("/{exception_id}/reject", response_model=ExceptionOut)
def reject(
    exception_id: ExceptionId,
    body: Annotated[RejectIn | None, Body()] = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(resolvers),
) -> ExceptionOut:
    """Reject: the order is cancelled and its stock released."""
    view = resolve_by_rejection(
        container.uow, container.stock, exception_id, actor=principal.actor, note=body.note if body else None
    )
    return exception_out(view)
