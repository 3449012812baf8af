"""Decisions on exceptions with a documented reason code: the use case the desk's inbox calls, and the
audit trail it leaves.

``decide_exception`` approves or rejects an open exception (``exceptions_flow``) and records, in the same
transaction, who decided (the token's actor), which reason code from :data:`DECISION_REASONS` and note,
and when: the decision and its record commit together or not at all. ``decisions_of_order`` and
``decisions_of_exceptions`` read the trail back.

Reason codes (one list per action, ``other`` needs a note):

- approve: ``customer_confirmed``, ``within_policy``, ``credit_extended``, ``payment_received``,
  ``partial_accepted``, ``carrier_arranged``, ``redeliver``, ``other``;
- reject: ``customer_cancelled``, ``price_not_accepted``, ``credit_refused``, ``stock_unavailable``,
  ``address_invalid``, ``duplicate_order``, ``suspected_fraud``, ``other``.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from sqlalchemy import select

from foundation.clock import utc_now
from foundation.errors import InvalidInput
from orders_core.master_data.model import DEFAULT_TEMPORARY_CREDIT_TTL_S
from orders_core.orders.approval_terms import PriceChoice
from orders_core.orders.decision_tables import ExceptionDecisionRow
from orders_core.orders.exceptions_flow import approve_exception, reject_exception
from orders_core.orders.model import ExceptionView
from orders_core.orders.recovery.strategies import RecoveryChoice
from orders_core.unit_of_work import UnitOfWorkFactory

if TYPE_CHECKING:
    from datetime import datetime

    from orders_core.orders.pipeline import StockPort

Action = Literal["approve", "reject"]
NOTE_MAX_CHARS = 2000

#: The documented reason codes of each action, with the label the desk sees.
DECISION_REASONS: dict[str, dict[str, str]] = {
    "approve": {
        "customer_confirmed": "Customer confirmed the order as it is",
        "within_policy": "Within policy or tolerance",
        "credit_extended": "Credit extended by finance",
        "payment_received": "Payment received",
        "partial_accepted": "Customer accepts a partial or later delivery",
        "carrier_arranged": "Carrier arranged by the desk",
        "redeliver": "Deliver again",
        "other": "Other (explain in the note)",
    },
    "reject": {
        "customer_cancelled": "Customer cancelled",
        "price_not_accepted": "Price not accepted",
        "credit_refused": "Credit refused",
        "stock_unavailable": "Stock will not be available in time",
        "address_invalid": "Delivery address invalid",
        "duplicate_order": "Duplicate order",
        "suspected_fraud": "Suspected fraud",
        "other": "Other (explain in the note)",
    },
}


class InvalidDecision(InvalidInput):
    """An unknown action or reason code, an ``other`` reason without a note, or an overlong note."""

    code = "invalid_decision"


@dataclass(frozen=True)
class DecisionView:
    """One recorded decision."""

    id: str
    exception_id: str
    order_id: str
    action: str
    reason_code: str
    note: str | None
    actor: str
    decided_at: datetime

    @property
    def reason(self) -> str:
        """The reason code's label (the code itself if it left the documented list since)."""
        return DECISION_REASONS.get(self.action, {}).get(self.reason_code, self.reason_code)


def check_decision(action: str, reason_code: str, note: str | None) -> str | None:
    """Validate a decision's inputs before anything changes; answers the note, stripped (None if blank)."""
    if action not in DECISION_REASONS:
        raise InvalidDecision(f"action must be approve or reject, got {action!r}")
    if reason_code not in DECISION_REASONS[action]:
        raise InvalidDecision(
            f"unknown reason code {reason_code!r} to {action}; expected one of {', '.join(DECISION_REASONS[action])}",
            details={"allowed": list(DECISION_REASONS[action])},
        )
    cleaned = (note or "").strip() or None
    if cleaned is not None and len(cleaned) > NOTE_MAX_CHARS:
        raise InvalidDecision(f"the note is longer than {NOTE_MAX_CHARS} characters")
    if reason_code == "other" and cleaned is None:
        raise InvalidDecision("reason code 'other' needs a note saying why")
    return cleaned


def decide_exception(
    new_uow: UnitOfWorkFactory,
    stock: StockPort,
    exception_id: str,
    *,
    action: str,
    reason_code: str,
    note: str | None,
    actor: str,
    price_tolerance: Decimal,
    temporary_credit_ttl_s: float = DEFAULT_TEMPORARY_CREDIT_TTL_S,
    choice: RecoveryChoice | None = None,
    temporary_credit_limit: Decimal | None = None,
    price: PriceChoice | None = None,
) -> tuple[ExceptionView, DecisionView]:
    """Approve (the order's pipeline continues) or reject (the order is cancelled) an open exception and
    record the decision, in one transaction; the exception's note is the reason label plus the note.

    The approval terms are those of ``approve_exception``: a strategy for shortages and short picks, a
    temporary credit limit for credit holds, the quoted or catalogue price for price conflicts (a term
    that does not apply to the exception's kind is refused, and nothing changes)."""
    cleaned = check_decision(action, reason_code, note)
    label = DECISION_REASONS[action][reason_code]
    resolution_note = f"{label}: {cleaned}" if cleaned else label
    with new_uow() as uow:
        if action == "approve":
            view = approve_exception(
                uow,
                stock,
                exception_id,
                actor=actor,
                price_tolerance=price_tolerance,
                note=resolution_note,
                temporary_credit_ttl_s=temporary_credit_ttl_s,
                choice=choice,
                temporary_credit_limit=temporary_credit_limit,
                price=price,
            )
        else:
            if choice is not None or temporary_credit_limit is not None or price is not None:
                raise InvalidDecision("approval terms (strategy, credit limit, price) apply to approvals only")
            view = reject_exception(uow, stock, exception_id, actor=actor, note=resolution_note)
        row = ExceptionDecisionRow(
            id="dec_" + secrets.token_hex(8),
            exception_id=view.id,
            order_id=view.order_id,
            action=action,
            reason_code=reason_code,
            note=cleaned,
            actor=actor,
            decided_at=utc_now(),
        )
        uow.session.add(row)
        uow.session.flush()
        decision = _view(row)
        uow.commit()
    return view, decision


def _view(row: ExceptionDecisionRow) -> DecisionView:
    return DecisionView(
        id=row.id,
        exception_id=row.exception_id,
        order_id=row.order_id,
        action=row.action,
        reason_code=row.reason_code,
        note=row.note,
        actor=row.actor,
        decided_at=row.decided_at,
    )


def decisions_of_order(new_uow: UnitOfWorkFactory, order_id: str) -> list[DecisionView]:
    """The decisions on an order's exceptions, oldest first."""
    with new_uow() as uow:
        rows = uow.session.scalars(
            select(ExceptionDecisionRow)
            .where(ExceptionDecisionRow.order_id == order_id)
            .order_by(ExceptionDecisionRow.decided_at, ExceptionDecisionRow.id)
        )
        return [_view(row) for row in rows]


def decisions_of_exceptions(
    new_uow: UnitOfWorkFactory, exception_ids: Collection[str]
) -> dict[str, list[DecisionView]]:
    """The decisions on each of ``exception_ids`` (absent ids: none), oldest first."""
    found: dict[str, list[DecisionView]] = {}
    if not exception_ids:
        return found
    with new_uow() as uow:
        rows = uow.session.scalars(
            select(ExceptionDecisionRow)
            .where(ExceptionDecisionRow.exception_id.in_(list(exception_ids)))
            .order_by(ExceptionDecisionRow.decided_at, ExceptionDecisionRow.id)
        )
        for row in rows:
            found.setdefault(row.exception_id, []).append(_view(row))
    return found
