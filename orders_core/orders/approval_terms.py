"""The terms a dispatcher may attach to an approval (issue 12).

* A temporary credit limit must cover what the customer will owe once the order goes ahead (its open
  exposure plus this order), or the approval is refused (422, nothing written): a limit that leaves the
  customer over it at once would only move the problem to the next order. It always expires (given, or a
  configured time from now); afterwards the standing limit applies again to new orders.
* A price conflict is approved at the quoted price (the default, as before) or at the catalogue price:
  the conflicting lines take the catalogue price and the order total follows.

Both are recorded on the order's timeline. The functions run inside the approval's transaction and check
everything before they write.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal

from sqlalchemy import update

from foundation.clock import utc_now
from foundation.errors import Conflict, InvalidInput
from foundation.money import MONEY_QUANTUM
from orders_core.master_data.model import DEFAULT_TEMPORARY_CREDIT_TTL_S
from orders_core.master_data.repository import MasterDataRepository
from orders_core.orders.lifecycle import record_order_event
from orders_core.orders.model import PaymentStatus
from orders_core.orders.repository import ORDER_LINES, OrderRepository, write_pending_history
from orders_core.orders.tables import ExceptionRow, OrderRow
from orders_core.unit_of_work import UnitOfWork

CREDIT_KINDS = frozenset({"credit_limit_exceeded", "credit_overdue"})
PRICE_KIND = "price_conflict"
#: At which price a price conflict is approved.
PriceChoice = Literal["quoted", "catalogue"]


def amount(value: Decimal) -> str:
    """A money amount for a sentence: ``200``, ``12.5`` (no trailing zeros, no exponent)."""
    text = format(Decimal(value).quantize(MONEY_QUANTUM), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class InvalidApprovalTerms(InvalidInput):
    """A term that does not fit the exception (a credit limit on a price conflict, an expiry in the past)."""

    code = "invalid_approval_terms"


class TemporaryCreditLimitTooLow(InvalidInput):
    """The temporary limit does not cover the customer's exposure once this order goes ahead."""

    code = "temporary_credit_limit_too_low"


class PaidOrderPriceChange(Conflict):
    """The order is paid: its total can no longer change."""

    code = "order_already_paid"


def check_terms(
    kind: str,
    *,
    temporary_credit_limit: Decimal | None,
    temporary_credit_limit_expires_at: datetime | None,
    price: PriceChoice | None,
) -> None:
    """Refuse (422) terms that do not belong to an exception of ``kind``, before anything is written."""
    if temporary_credit_limit is not None and kind not in CREDIT_KINDS:
        raise InvalidApprovalTerms(
            f"temporary_credit_limit applies to credit exceptions ({', '.join(sorted(CREDIT_KINDS))}), not {kind}"
        )
    if temporary_credit_limit_expires_at is not None and temporary_credit_limit is None:
        raise InvalidApprovalTerms("temporary_credit_limit_expires_at needs a temporary_credit_limit")
    if price is not None and kind != PRICE_KIND:
        raise InvalidApprovalTerms(f"price applies to {PRICE_KIND} exceptions, not {kind}")


def grant_temporary_credit(
    uow: UnitOfWork,
    order: OrderRow,
    limit: Decimal,
    *,
    expires_at: datetime | None,
    ttl_s: float = DEFAULT_TEMPORARY_CREDIT_TTL_S,
    actor: str,
) -> None:
    """Grant ``limit`` to the order's customer until ``expires_at`` (default: ``ttl_s`` from now).

    Refused (422 ``temporary_credit_limit_too_low``) when it does not cover the open exposure plus this
    order, and (422 ``invalid_approval_terms``) for an expiry that is not in the future.
    """
    now = utc_now()
    if expires_at is None:
        expires_at = now + timedelta(seconds=ttl_s)
    elif expires_at.tzinfo is None:
        raise InvalidApprovalTerms("temporary_credit_limit_expires_at needs a time zone (e.g. a trailing Z)")
    elif expires_at <= now:
        raise InvalidApprovalTerms(
            f"temporary_credit_limit_expires_at must be in the future, got {expires_at.isoformat()}"
        )
    master = MasterDataRepository(uow.session)
    master.lock_customer(order.customer_id)  # serialise with intake's credit check of this customer
    exposure = OrderRepository(uow.session).open_exposure(order.customer_id, excluding_order_id=order.id)
    total = Decimal(order.total)
    resulting = (exposure + total).quantize(MONEY_QUANTUM)
    if limit < resulting:
        raise TemporaryCreditLimitTooLow(
            f"temporary_credit_limit {amount(limit)} does not cover the resulting exposure {amount(resulting)} of"
            f" customer {order.customer_id} (open orders {amount(exposure)} + order {order.id} {amount(total)});"
            f" grant at least {amount(resulting)}",
            details={
                "customer_id": order.customer_id,
                "open_exposure": str(exposure),
                "order_total": str(total),
                "resulting_exposure": str(resulting),
                "temporary_credit_limit": str(limit),
            },
        )
    master.set_temporary_credit_limit(order.customer_id, limit, expires_at)
    record_order_event(
        uow,
        order.id,
        actor=actor,
        reason_code="temporary_credit_granted",
        reason=f"temporary credit limit {amount(limit)} for customer {order.customer_id} until"
        f" {expires_at.isoformat()} (resulting exposure {amount(resulting)})",
        payload={
            "customer_id": order.customer_id,
            "temporary_credit_limit": str(limit),
            "expires_at": expires_at.isoformat(),
        },
    )


def apply_price_choice(
    uow: UnitOfWork, order: OrderRow, exception: ExceptionRow, price: PriceChoice, *, actor: str
) -> None:
    """Approve a price conflict at ``price``: ``catalogue`` re-prices the conflicting lines and the total.

    Either way the choice is recorded on the timeline; a paid order's total cannot change (409).
    """
    conflicting = {int(entry["line"]) for entry in (exception.details or {}).get("lines", [])}
    repository = OrderRepository(uow.session)
    lines = repository.priced_lines(order.id)
    if price == "quoted":
        record_order_event(
            uow,
            order.id,
            actor=actor,
            reason_code="price_approved_as_quoted",
            reason=f"quoted prices accepted; total stays {amount(Decimal(order.total))}",
            payload={"price": price, "total": str(Decimal(order.total))},
        )
        return
    changes = [line for line in lines if line.line_no in conflicting and line.unit_price != line.catalogue_price]
    new_total = sum(
        ((line.catalogue_price if line.line_no in conflicting else line.unit_price) * line.qty for line in lines),
        Decimal("0"),
    ).quantize(MONEY_QUANTUM)
    old_total = Decimal(order.total)
    if new_total != old_total and order.payment_status == PaymentStatus.PAID.value:
        raise PaidOrderPriceChange(f"order {order.id} is paid ({old_total}); its total cannot change to {new_total}")
    write_pending_history(uow.session)
    for line in changes:
        uow.session.execute(
            update(ORDER_LINES)
            .where(ORDER_LINES.c.order_id == order.id, ORDER_LINES.c.line_no == line.line_no)
            .values(unit_price=line.catalogue_price)
        )
    order.total = new_total
    moved = "; ".join(
        f"line {c.line_no} {c.sku} {amount(c.unit_price)} -> {amount(c.catalogue_price)}" for c in changes
    )
    record_order_event(
        uow,
        order.id,
        actor=actor,
        reason_code="price_approved_at_catalogue",
        reason=f"approved at the catalogue price: {moved or 'no line changed'};"
        f" total {amount(old_total)} -> {amount(new_total)}",
        payload={"price": price, "total": str(new_total), "previous_total": str(old_total)},
    )
