"""Exceptions: problems that need a person. Opening one (usually) puts the order on hold; approving it
lets the pipeline continue where it stopped; rejecting it cancels the order and releases its stock.

``resolve_by_approval`` and ``resolve_by_rejection`` are the use cases (each owns its transaction);
``approve_exception`` and ``reject_exception`` are their bodies, for callers with a transaction of their own.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from foundation.clock import utc_now
from foundation.errors import Conflict, NotFound
from orders_core.master_data.model import DEFAULT_TEMPORARY_CREDIT_TTL_S
from orders_core.orders.approval_terms import (
    CREDIT_KINDS,
    PriceChoice,
    apply_price_choice,
    check_terms,
    grant_temporary_credit,
)
from orders_core.orders.lifecycle import advance_order, load_order
from orders_core.orders.model import PRE_SHIPPING, ExceptionStatus, ExceptionView, OrderStatus
from orders_core.orders.recovery.strategies import STRATEGIES as RECOVERY_STRATEGIES
from orders_core.orders.recovery.strategies import RecoveryChoice, StrategyNotApplicable
from orders_core.orders.repository import OrderRepository, _exception_view
from orders_core.orders.root_causes import root_cause_after_resolution, root_cause_at_opening
from orders_core.orders.tables import ExceptionRow
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory

if TYPE_CHECKING:
    from orders_core.orders.pipeline import StockPort

#: Kinds whose approval carries out a strategy (orders_core.orders.recovery.approval).
RECOVERY_KINDS = frozenset(RECOVERY_STRATEGIES)


class ExceptionNotFound(NotFound):
    """No exception with this id."""

    code = "exception_not_found"


class ExceptionAlreadyResolved(Conflict):
    """The exception was approved or rejected already (or closed with its order)."""

    code = "exception_already_resolved"


def open_exception(
    uow: UnitOfWork,
    order_id: str,
    kind: str,
    message: str,
    details: dict[str, Any],
    *,
    hold: bool = True,
    actor: str = "system",
) -> str:
    """Record an exception on an order and (unless ``hold`` is False) put the order on hold; returns its id."""
    row = load_order(uow, order_id)
    exception_id = "exc_" + secrets.token_hex(8)
    OrderRepository(uow.session).add_exception(
        ExceptionRow(
            id=exception_id,
            order_id=order_id,
            kind=kind,
            root_cause=root_cause_at_opening(kind, details).value,
            status=ExceptionStatus.OPEN.value,
            message=message,
            details=details,
            created_at=utc_now(),
        )
    )
    if hold and OrderStatus(row.status) in PRE_SHIPPING:
        advance_order(uow, order_id, OrderStatus.ON_HOLD, actor=actor, reason_code=kind, reason=message)
    return exception_id


def _open_exception_row(uow: UnitOfWork, exception_id: str) -> ExceptionRow:
    row = OrderRepository(uow.session).get_exception_row(exception_id, for_update=True)
    if row is None:
        raise ExceptionNotFound(f"no exception {exception_id!r}")
    if row.status != ExceptionStatus.OPEN.value:
        raise ExceptionAlreadyResolved(f"exception {exception_id} is already {row.status}")
    return row


def approve_exception(
    uow: UnitOfWork,
    stock: StockPort,
    exception_id: str,
    *,
    actor: str,
    price_tolerance: Decimal,
    temporary_credit_limit: Decimal | None = None,
    note: str | None = None,
    temporary_credit_limit_expires_at: datetime | None = None,
    temporary_credit_ttl_s: float = DEFAULT_TEMPORARY_CREDIT_TTL_S,
    price: PriceChoice | None = None,
    choice: RecoveryChoice | None = None,
) -> ExceptionView:
    """Accept the problem: mark the check as passed, release the hold, and continue the pipeline.

    For credit exceptions a ``temporary_credit_limit`` is granted to the customer as well: it must cover the
    order (422 otherwise) and lapses at ``temporary_credit_limit_expires_at`` (default: ``temporary_credit_ttl_s``
    from now). A price conflict goes ahead at the quoted ``price`` (default) or the catalogue one
    (``orders_core.orders.approval_terms``). Short picks and stock shortages follow the dispatcher's ``choice``
    of strategy (``orders_core.orders.recovery``).
    """
    from orders_core.orders.pipeline import continue_pipeline

    row = _open_exception_row(uow, exception_id)
    if row.kind in RECOVERY_KINDS:
        from orders_core.orders.recovery.approval import approve_with_strategy

        approve_with_strategy(uow, stock, row, choice, actor=actor, price_tolerance=price_tolerance, note=note)
        return _exception_view(row)
    if choice is not None and choice.strategy:
        raise StrategyNotApplicable(f"a {row.kind} exception takes no strategy (got {choice.strategy!r})")
    check_terms(
        row.kind,
        temporary_credit_limit=temporary_credit_limit,
        temporary_credit_limit_expires_at=temporary_credit_limit_expires_at,
        price=price,
    )
    order = load_order(uow, row.order_id)
    row.status = ExceptionStatus.APPROVED.value
    row.resolved_at = utc_now()
    row.resolved_by = actor
    row.note = note
    if row.kind == "price_conflict":
        apply_price_choice(uow, order, row, price or "quoted", actor=actor)
        order.price_ok = True
    elif row.kind in CREDIT_KINDS:
        order.credit_ok = True
        if temporary_credit_limit is not None:
            grant_temporary_credit(
                uow,
                order,
                temporary_credit_limit,
                expires_at=temporary_credit_limit_expires_at,
                ttl_s=temporary_credit_ttl_s,
                actor=actor,
            )
    still_open = OrderRepository(uow.session).exception_rows_of(order.id, status=ExceptionStatus.OPEN.value)
    if order.status == OrderStatus.ON_HOLD.value and not [e for e in still_open if e.id != row.id]:
        back_to = OrderStatus(order.held_from or OrderStatus.CREDIT_REVIEW.value)
        advance_order(
            uow,
            order.id,
            back_to,
            actor=actor,
            reason_code=f"{row.kind}_approved",
            reason=note or f"{row.kind.replace('_', ' ')} approved",
        )
        continue_pipeline(uow, stock, order.id, price_tolerance=price_tolerance, actor=actor)
    uow.session.flush()
    return _exception_view(row)


def reject_exception(
    uow: UnitOfWork, stock: StockPort, exception_id: str, *, actor: str, note: str | None = None
) -> ExceptionView:
    """Refuse the problem: the order is cancelled and everything it holds is released."""
    from orders_core.orders.cancellation import cancel_order

    row = _open_exception_row(uow, exception_id)
    row.root_cause = root_cause_after_resolution(row.kind, row.root_cause, "reject")
    row.status = ExceptionStatus.REJECTED.value
    row.resolved_at = utc_now()
    row.resolved_by = actor
    row.note = note
    uow.session.flush()
    cancel_order(
        uow,
        stock,
        row.order_id,
        actor=actor,
        reason_code=f"{row.kind}_rejected",
        reason=note or f"{row.kind.replace('_', ' ')} rejected",
    )
    return _exception_view(row)


def get_exception(uow: UnitOfWork, exception_id: str) -> ExceptionView:
    """One exception; ExceptionNotFound (404) when absent."""
    row = OrderRepository(uow.session).get_exception_row(exception_id)
    if row is None:
        raise ExceptionNotFound(f"no exception {exception_id!r}")
    return _exception_view(row)


def resolve_by_approval(
    new_uow: UnitOfWorkFactory,
    stock: StockPort,
    exception_id: str,
    *,
    actor: str,
    price_tolerance: Decimal,
    temporary_credit_limit: Decimal | None = None,
    note: str | None = None,
    temporary_credit_limit_expires_at: datetime | None = None,
    temporary_credit_ttl_s: float = DEFAULT_TEMPORARY_CREDIT_TTL_S,
    price: PriceChoice | None = None,
    choice: RecoveryChoice | None = None,
) -> ExceptionView:
    """Approve an open exception in its own transaction (see ``approve_exception``)."""
    with new_uow() as uow:
        view = approve_exception(
            uow,
            stock,
            exception_id,
            actor=actor,
            price_tolerance=price_tolerance,
            temporary_credit_limit=temporary_credit_limit,
            note=note,
            temporary_credit_limit_expires_at=temporary_credit_limit_expires_at,
            temporary_credit_ttl_s=temporary_credit_ttl_s,
            price=price,
            choice=choice,
        )
        uow.commit()
    return view


def resolve_by_rejection(
    new_uow: UnitOfWorkFactory, stock: StockPort, exception_id: str, *, actor: str, note: str | None = None
) -> ExceptionView:
    """Reject an open exception in its own transaction (see ``reject_exception``): the order is cancelled."""
    with new_uow() as uow:
        view = reject_exception(uow, stock, exception_id, actor=actor, note=note)
        uow.commit()
    return view
