"""Order exceptions: the queue of problems that need a person, and their approval or rejection.

Approving lets the order's pipeline continue from where it stopped (for credit exceptions a
``temporary_credit_limit`` may be granted at the same time); rejecting cancels the order and releases
its stock. An exception can be resolved once; a second attempt is 409 ``exception_already_resolved``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Query

from api.auth import enforce_warehouse_scope, require_roles, warehouse_scope
from api.container import Container
from api.deps import get_container
from api.errors import refusals
from api.pagination import CreatedFrom, CreatedTo, MultiValue, one_of, page_request, time_range
from api.schemas.exceptions import (
    ApproveIn,
    BulkItemOut,
    BulkResolveIn,
    BulkResolveOut,
    ExceptionList,
    ExceptionOut,
    RejectIn,
)
from api.schemas.master_data import ID_PATTERN, PathId
from api.schemas.orders import exception_out
from api.tokens import Principal
from infra.pagination import PageRequest
from orders_core.orders.delays import CAUSE_CODES
from orders_core.orders.exceptions_flow import resolve_by_approval, resolve_by_rejection
from orders_core.orders.listing import EXCEPTION_STATUSES, exception_page
from orders_core.orders.queries import exception_view
from orders_core.orders.recovery.bulk import bulk_resolve
from orders_core.orders.recovery.strategies import RecoveryChoice

router = APIRouter(prefix="/v1/exceptions", tags=["exceptions"])
ExceptionId = PathId
readers = require_roles("dispatcher", "warehouse")
resolvers = require_roles("dispatcher")


@router.get("", response_model=ExceptionList)
def list_exceptions(
    status: MultiValue = None,
    kind: MultiValue = None,
    order_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    warehouse_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    created_from: CreatedFrom = None,
    created_to: CreatedTo = None,
    page: PageRequest = Depends(page_request),
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
) -> ExceptionList:
    """Exceptions, oldest first (``order=desc``: newest first), filtered by status and kind (each may
    repeat), order, warehouse (of the order's shipments) and creation time; ``next_cursor`` pages on."""
    created_from, created_to = time_range(created_from, created_to)
    # Exceptions of orders with no shipment yet (held at intake) belong to no warehouse: an unfiltered list
    # shows them to everyone; a token scoped to one warehouse sees them and its own warehouse's exceptions,
    # never those of orders shipped only from other warehouses (naming another warehouse is 403).
    scope = warehouse_scope(principal)
    if warehouse_id is not None:
        enforce_warehouse_scope(principal, warehouse_id)
    found = exception_page(
        container.uow,
        page,
        statuses=one_of(status, EXCEPTION_STATUSES, name="status"),
        kinds=one_of(kind, sorted(CAUSE_CODES), name="kind"),
        order_id=order_id,
        warehouse_id=warehouse_id,
        visible_to_warehouse=scope if warehouse_id is None else None,
        created_from=created_from,
        created_to=created_to,
    )
    return ExceptionList(items=[exception_out(v) for v in found.items], next_cursor=found.next_cursor)


@router.post("/bulk-resolve", response_model=BulkResolveOut)
def bulk_resolve_exceptions(
    body: BulkResolveIn,
    container: Container = Depends(get_container),
    principal: Principal = Depends(resolvers),
) -> BulkResolveOut:
    """Approve or reject several exceptions with one action (and strategy). Per-item, not all-or-nothing:
    each is resolved in its own transaction, in the order given, and answers 200 with one result per id
    (``ok``, the status it alone would have answered, the exception or the error)."""
    results = bulk_resolve(
        container.uow,
        container.stock,
        body.ids,
        body.action,
        actor=principal.actor,
        price_tolerance=container.settings.price_tolerance,
        choice=RecoveryChoice(strategy=body.strategy, remainder=body.remainder),
        note=body.note,
    )
    items = [
        BulkItemOut(
            id=r.id,
            ok=r.ok,
            status=r.http_status,
            exception=None if r.exception is None else exception_out(r.exception),
            error=None if r.ok else {"code": r.error_code or "", "message": r.error_message or ""},
        )
        for r in results
    ]
    resolved = sum(1 for r in results if r.ok)
    return BulkResolveOut(items=items, resolved=resolved, failed=len(results) - resolved)


@router.get("/{exception_id}", response_model=ExceptionOut)
def get_one(
    exception_id: ExceptionId, container: Container = Depends(get_container), _: Principal = Depends(readers)
) -> ExceptionOut:
    """One exception."""
    return exception_out(exception_view(container.uow, exception_id))


@router.post(
    "/{exception_id}/approve",
    response_model=ExceptionOut,
    responses=refusals(
        {
            404: "exception_not_found: no exception with this id.",
            409: "exception_already_resolved: approved or rejected before; order_already_paid: a paid order's"
            " price cannot change; invalid_transition: the order moved on meanwhile.",
            422: "invalid_approval_terms: a term that does not apply to this exception's kind (temporary credit for"
            " credit exceptions, price for price conflicts, strategy for short picks and stock shortages), or"
            " an expiry in the past; temporary_credit_limit_too_low: the limit does not cover the open exposure"
            " plus this order; validation_error: the body breaks the schema.",
        }
    ),
)
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
        choice=RecoveryChoice(strategy=body.strategy, remainder=body.remainder),
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
