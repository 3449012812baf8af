"""Moving an order through its lifecycle: every move is validated, timestamped, and announced.

``advance_order`` is the only way a status changes: it checks the transition table, appends a timeline
entry (status, time, actor, reason code, human reason, expected next time) and writes an outbox event
in the caller's transaction. Observers (metrics) are the unit of work's ``transition_listeners``, wired by
the composition root (``api.container``); they run after commit, so a rolled-back move is never counted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from foundation.clock import rfc3339, utc_now
from foundation.errors import NotFound
from orders_core.orders.model import OrderStatus, TimelineEntry, check_transition
from orders_core.orders.repository import OrderRepository
from orders_core.orders.tables import OrderRow
from orders_core.unit_of_work import UnitOfWork

ORDER_EVENTS_TOPIC = "order.status_changed"
ORDER_NOTES_TOPIC = "order.event"


class OrderNotFound(NotFound):
    """No order with this id."""

    code = "order_not_found"


_LOCKED_ORDERS = "orders_core.locked_orders"


def load_order(uow: UnitOfWork, order_id: str, *, for_update: bool = True) -> OrderRow:
    """The order row, locked for this transaction; OrderNotFound (404) when absent.

    The lock is taken once per unit of work; later calls answer the same row without SQL.
    """
    locked: dict[str, OrderRow] = uow.session.info.setdefault(_LOCKED_ORDERS, {})
    cached = locked.get(order_id)
    if cached is not None:
        return cached
    row = OrderRepository(uow.session).get_row(order_id, for_update=for_update)
    if row is None:
        raise OrderNotFound(f"no order {order_id!r}")
    if for_update:
        locked[order_id] = row
    return row


def mark_locked(uow: UnitOfWork, row: OrderRow) -> None:
    """Record that this unit of work owns the order's row (it just added it; it may not be flushed yet)."""
    uow.session.info.setdefault(_LOCKED_ORDERS, {})[row.id] = row


def advance_order(
    uow: UnitOfWork,
    order_id: str,
    to_status: OrderStatus,
    *,
    actor: str,
    reason_code: str | None = None,
    reason: str | None = None,
    expected_next_at: datetime | None = None,
    at: datetime | None = None,
) -> None:
    """Move an order to ``to_status`` (409 invalid_transition if not allowed), recording why and who.

    ``at`` dates the move when it happened elsewhere first (a carrier's pickup); default: now.
    """
    row = load_order(uow, order_id)
    current = OrderStatus(row.status)
    held_from = OrderStatus(row.held_from) if row.held_from else None
    check_transition(current, to_status, held_from)
    now = at or utc_now()
    row.held_from = current.value if to_status is OrderStatus.ON_HOLD else None
    row.status = to_status.value
    row.updated_at = utc_now() if at else now
    repository = OrderRepository(uow.session)
    entry = TimelineEntry(
        status=to_status.value,
        at=now,
        actor=actor,
        reason_code=reason_code,
        reason=reason,
        expected_next_at=expected_next_at,
    )
    repository.add_timeline(order_id, entry)
    repository.add_outbox(
        ORDER_EVENTS_TOPIC,
        order_id,
        {
            "order_id": order_id,
            "customer_id": row.customer_id,
            "from": current.value,
            "to": to_status.value,
            "at": rfc3339(now),
            "actor": actor,
            "reason_code": reason_code,
            "reason": reason,
        },
    )
    notify_after_commit(uow, current.value, to_status.value)


def notify_after_commit(uow: UnitOfWork, from_status: str, to_status: str) -> None:
    """Tell the unit of work's transition listeners about a move once (and only if) it commits."""
    for listener in list(uow.transition_listeners):
        uow.after_commit(lambda listener=listener: listener(from_status, to_status))  # type: ignore[misc]


def record_order_event(
    uow: UnitOfWork,
    order_id: str,
    *,
    actor: str,
    reason_code: str,
    reason: str | None = None,
    payload: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> None:
    """Append a timeline entry without a status change (payments, notes), with its outbox event
    (``at``: when it happened, default now)."""
    row = load_order(uow, order_id)
    now = at or utc_now()
    row.updated_at = utc_now() if at else now
    repository = OrderRepository(uow.session)
    repository.add_timeline(
        order_id, TimelineEntry(status=row.status, at=now, actor=actor, reason_code=reason_code, reason=reason)
    )
    repository.add_outbox(
        ORDER_NOTES_TOPIC,
        order_id,
        {
            "order_id": order_id,
            "status": row.status,
            "at": rfc3339(now),
            "actor": actor,
            "reason_code": reason_code,
            "reason": reason,
            **(payload or {}),
        },
    )
