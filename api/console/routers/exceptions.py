"""The exception inbox: open exceptions, longest waiting first, each against its target wait; approve or
reject with a documented reason code and a note; the audit trail of who decided what and when."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.auth import Forbidden, warehouse_scope
from api.console.formatting import waiting
from api.console.forms import blank_to_none, money_field, optional_id, price_choice
from api.console.layout import console_headers, register_page, render_page
from api.console.session import console_roles, safe_next
from api.container import Container
from api.deps import get_container
from api.pagination import CURSOR_PATTERN, one_of
from api.schemas.master_data import PathId
from api.tokens import Principal
from foundation.clock import utc_now
from infra.pagination import PageRequest
from orders_core.orders.approval_terms import CREDIT_KINDS
from orders_core.orders.decisions import DECISION_REASONS, decide_exception, decisions_of_exceptions
from orders_core.orders.delays import CAUSE_CODES
from orders_core.orders.listing import exception_page
from orders_core.orders.queries import exception_view, order_view
from orders_core.orders.recovery.strategies import STRATEGIES, RecoveryChoice

router = APIRouter()
readers = console_roles("dispatcher", "warehouse")
deciders = console_roles("dispatcher")
PAGE_SIZE = 50
RECENT_DECISIONS = 20
register_page("exceptions", "Exception inbox", "/console/exceptions", roles=("dispatcher", "warehouse"), order=10)


@router.get("/exceptions", response_class=HTMLResponse)
def inbox(
    request: Request,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    order: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=2000, pattern=CURSOR_PATTERN)] = None,
    decided: Annotated[str | None, Query(max_length=64)] = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
) -> Response:
    """Open exceptions oldest first (a warehouse token: its warehouse's and those of orders not yet
    shipped from anywhere), each with how long it has waited against its kind's target, and the latest
    decisions with who made them."""
    wanted_kind = blank_to_none(kind)
    kinds = one_of([wanted_kind] if wanted_kind else None, sorted(CAUSE_CODES), name="kind")
    order_id = optional_id(order, name="order")
    scope = warehouse_scope(principal)
    found = exception_page(
        container.uow,
        PageRequest(limit=PAGE_SIZE, cursor=blank_to_none(cursor)),
        statuses=["open"],
        kinds=kinds,
        order_id=order_id,
        visible_to_warehouse=scope,
    )
    now = utc_now()
    console = container.settings.console
    items = [(x, waiting(x.created_at, now, console.exception_target_s(x.kind))) for x in found.items]
    recent = exception_page(
        container.uow,
        PageRequest(limit=RECENT_DECISIONS, descending=True),
        statuses=["approved", "rejected"],
        order_id=order_id,
        visible_to_warehouse=scope,
    ).items
    trail = decisions_of_exceptions(container.uow, [x.id for x in recent])
    filters = {"kind": kinds[0] if kinds else None, "order": order_id}
    kept = {k: v for k, v in filters.items() if v}
    return render_page(
        request,
        "exceptions.html",
        title="Exception inbox",
        principal=principal,
        section="exceptions",
        context={
            "items": items,
            "recent": [(x, trail.get(x.id, [])) for x in recent],
            "filters": filters,
            "kinds": sorted(CAUSE_CODES),
            "reasons": DECISION_REASONS,
            "strategies": {kind: [s.value for s in options] for kind, options in STRATEGIES.items()},
            "credit_kinds": CREDIT_KINDS,
            "can_decide": principal.role in ("admin", "dispatcher"),
            "decided": blank_to_none(decided),
            "next_url": ("/console/exceptions?" + urlencode({**kept, "cursor": found.next_cursor}))
            if found.next_cursor
            else None,
            "targets": console,
        },
    )


def _visible(principal: Principal, container: Container, order_id: str) -> None:
    scope = warehouse_scope(principal)
    if scope is None:
        return
    shipped_from = {s.warehouse_id for s in order_view(container.uow, order_id).shipments}
    if shipped_from and scope not in shipped_from:
        raise Forbidden(f"this token is scoped to warehouse {scope!r}; order {order_id!r} ships nothing from it")


@router.get("/exceptions/{exception_id}", response_class=HTMLResponse)
def exception_detail(
    request: Request,
    exception_id: PathId,
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
) -> Response:
    """One exception with its details and its audit trail (and the decision form while it is open)."""
    found = exception_view(container.uow, exception_id)
    _visible(principal, container, found.order_id)
    target_s = container.settings.console.exception_target_s(found.kind)
    return render_page(
        request,
        "exception_detail.html",
        title=f"Exception {found.id}",
        principal=principal,
        section="exceptions",
        context={
            "x": found,
            "wait": waiting(found.created_at, found.resolved_at or utc_now(), target_s),
            "decisions": decisions_of_exceptions(container.uow, [found.id]).get(found.id, []),
            "reasons": DECISION_REASONS,
            "strategies": {kind: [s.value for s in options] for kind, options in STRATEGIES.items()},
            "credit_kinds": CREDIT_KINDS,
            "can_decide": principal.role in ("admin", "dispatcher"),
        },
    )


@router.post("/exceptions/{exception_id}/decide")
def decide(
    exception_id: PathId,
    action: Annotated[str, Form(max_length=16)],
    reason_code: Annotated[str, Form(max_length=40)],
    note: Annotated[str, Form(max_length=2000)] = "",
    strategy: Annotated[str, Form(max_length=40)] = "",
    credit_limit: Annotated[str, Form(max_length=30)] = "",
    price: Annotated[str, Form(max_length=16)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
    container: Container = Depends(get_container),
    principal: Principal = Depends(deciders),
) -> Response:
    """Approve or reject with a reason code and note (the same use cases as ``/v1/exceptions/{id}/approve``
    and ``/reject``, with their terms: strategy, temporary credit limit, price), recording the decision;
    then back to the inbox (or ``next``)."""
    approving = action == "approve"
    chosen_strategy = blank_to_none(strategy) if approving else None
    resolved, _ = decide_exception(
        container.uow,
        container.stock,
        exception_id,
        action=action,
        reason_code=reason_code,
        note=note,
        actor=principal.actor,
        price_tolerance=container.settings.price_tolerance,
        temporary_credit_ttl_s=container.settings.temporary_credit_ttl_s,
        choice=RecoveryChoice(strategy=chosen_strategy) if chosen_strategy else None,
        temporary_credit_limit=money_field(credit_limit, name="temporary credit limit") if approving else None,
        price=price_choice(price) if approving else None,
    )
    target = safe_next(next) if blank_to_none(next) else "/console/exceptions?" + urlencode({"decided": resolved.id})
    return RedirectResponse(target, status_code=303, headers=console_headers())
