"""Persistence of webhook deliveries on both backends: relay from the outbox, claims, results, the desk.

Claims are safe with several workers: on PostgreSQL the candidates are locked ``FOR UPDATE SKIP LOCKED``
(two workers never wait for, nor take, each other's rows); on SQLite every transaction already holds the
single writer lock (``BEGIN IMMEDIATE``, see ``infra.db``). A claim pushes ``next_attempt_at`` past a
lease, so the rows of a worker that was killed fall due again on their own (a visibility timeout), and
a result is written only by the worker that still holds the claim.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, Table, and_, bindparam, func, insert, literal_column, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnClause

from orders_core.carriers.tables import CarrierRow
from orders_core.orders.tables import OutboxRow
from orders_core.transport.webhooks.model import EVENT_TYPES, TOPIC, AttemptView, DeliveryView
from orders_core.transport.webhooks.signing import InvalidWebhookSecret, secret_key
from orders_core.transport.webhooks.tables import RetiredWebhookSecretRow, WebhookAttemptRow, WebhookDeliveryRow

DELIVERIES: Table = WebhookDeliveryRow.__table__  # type: ignore[assignment]
ATTEMPTS: Table = WebhookAttemptRow.__table__  # type: ignore[assignment]
OUTBOX: Table = OutboxRow.__table__  # type: ignore[assignment]
# The topic as a literal in the SQL, not a bound parameter, so that the planners can match the partial
# index ix_outbox_carrier_webhook_unpublished (a generic plan never knows a parameter's value).
_TOPIC_LITERAL: ColumnClause[str] = literal_column("'" + TOPIC + "'")
# Rows per IN (...) list: under SQLite's bound-parameter limit whatever the batch.
CHUNK = 900


@dataclass(frozen=True)
class Endpoint:
    """Where and with which keys a carrier's webhooks go now: its URL and its signing keys, newest first."""

    url: str | None
    keys: tuple[bytes, ...]
    problem: str | None = None


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery this worker holds until its lease ends: what to send, where, and the attempt's number."""

    id: int
    message_id: str
    carrier_id: str
    body: str
    attempt_no: int
    #: This attempt's number since the delivery was created or last replayed (indexes the retry schedule).
    round_attempt_no: int
    event_at: datetime
    endpoint: Endpoint


@dataclass(frozen=True)
class SendOutcome:
    """What one send did. ``outcome``: delivered, failed, deferred (breaker open: no attempt used) or
    skipped (the carrier no longer has a webhook URL)."""

    delivery_id: int
    attempt_no: int
    outcome: str
    at: datetime
    duration_ms: float = 0.0
    status_code: int | None = None
    error: str | None = None
    endpoint_url: str = ""
    retry_at: datetime | None = None


def _chunks(ids: Sequence[Any]) -> list[Sequence[Any]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


def new_message_id() -> str:
    """A ``webhook-id``: stored with the delivery, so every retry and replay sends the same one."""
    return "msg_" + secrets.token_hex(12)


def webhook_body(payload: dict[str, Any]) -> str:
    """The JSON body a carrier receives: ``{"type", "timestamp", "data"}`` (compact; stored as sent)."""
    body = {"type": payload["type"], "timestamp": payload["timestamp"], "data": payload.get("data", {})}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def endpoints_of(session: Session, carrier_ids: Collection[str], now: datetime) -> dict[str, Endpoint]:
    """Each carrier's webhook URL and signing keys: its current secret, then the retired ones still in grace."""
    ids = sorted(set(carrier_ids))
    found: dict[str, Endpoint] = {}
    retired: dict[str, list[str]] = {}
    for chunk in _chunks(ids):
        for retired_carrier_id, retired_secret in session.execute(
            select(RetiredWebhookSecretRow.carrier_id, RetiredWebhookSecretRow.secret)
            .where(RetiredWebhookSecretRow.carrier_id.in_(chunk), RetiredWebhookSecretRow.expires_at > now)
            .order_by(RetiredWebhookSecretRow.retired_at.desc(), RetiredWebhookSecretRow.id.desc())
        ):
            retired.setdefault(retired_carrier_id, []).append(retired_secret)
        for carrier_id, url, secret in session.execute(
            select(CarrierRow.id, CarrierRow.webhook_url, CarrierRow.webhook_secret).where(CarrierRow.id.in_(chunk))
        ):
            found[carrier_id] = _endpoint(url, secret, retired.get(carrier_id, []))
    for carrier_id in ids:
        found.setdefault(carrier_id, Endpoint(None, (), f"no carrier {carrier_id!r}"))
    return found


def _endpoint(url: str | None, secret: str | None, retired: list[str]) -> Endpoint:
    if not url:
        return Endpoint(None, (), "carrier has no webhook_url")
    keys: list[bytes] = []
    for value in [secret, *retired]:
        if not value:
            continue
        try:
            key = secret_key(value)
        except InvalidWebhookSecret:
            continue  # an unusable retired secret must not stop the current one from signing
        if key not in keys:
            keys.append(key)
    if not keys:
        return Endpoint(url, (), "carrier has no usable webhook_secret")
    return Endpoint(url, tuple(keys))


def _malformed(payload: dict[str, Any]) -> str | None:
    """Why an outbox payload cannot become a webhook (a bad row must not block the ones behind it)."""
    if payload.get("type") not in EVENT_TYPES:
        return f"malformed event: type {payload.get('type')!r} is not one of {', '.join(EVENT_TYPES)}"
    if not isinstance(payload.get("timestamp"), str) or not isinstance(payload.get("data", {}), dict):
        return "malformed event: needs a 'timestamp' string and a 'data' object"
    if not payload.get("carrier_id"):
        return "malformed event: no carrier_id"
    return None


def relay_outbox(session: Session, *, now: datetime, limit: int) -> tuple[int, list[str]]:
    """Turn up to ``limit`` unpublished ``carrier.webhook`` outbox rows into deliveries and mark them published;
    answers how many rows were relayed and the carriers of those skipped (one entry per skipped delivery).

    Runs in the caller's transaction, so an outbox row is published exactly when its delivery exists.
    A carrier without a webhook URL (or unknown) gets a ``skipped`` delivery that says why: visible at
    the desk, never sent.
    """
    query = (
        select(OutboxRow.id, OutboxRow.aggregate_id, OutboxRow.payload, OutboxRow.created_at)
        .where(OutboxRow.topic == _TOPIC_LITERAL, OutboxRow.published_at.is_(None))
        .order_by(OutboxRow.id)
        .limit(limit)
    )
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    rows = session.execute(query).all()
    if not rows:
        return 0, []
    endpoints = endpoints_of(
        session,
        {str(row.payload.get("carrier_id") or "")[:64] for row in rows if isinstance(row.payload, dict)},
        now,
    )
    deliveries = []
    for row in rows:
        payload = row.payload if isinstance(row.payload, dict) else {}
        carrier_id = str(payload.get("carrier_id") or "")[:64]
        endpoint = endpoints.get(carrier_id) or Endpoint(None, (), "event names no carrier")
        problem = _malformed(payload) or endpoint.problem
        sendable = problem is None and endpoint.url is not None and bool(endpoint.keys)
        deliveries.append(
            {
                "message_id": new_message_id(),
                "outbox_id": row.id,
                "carrier_id": carrier_id,
                "event_type": str(payload.get("type", ""))[:32],
                "waybill_no": row.aggregate_id,
                "endpoint_url": endpoint.url,
                "body": webhook_body(payload) if sendable else json.dumps(row.payload, default=str),
                "status": "pending" if sendable else "skipped",
                "attempts": 0,
                "attempts_before_replay": 0,
                "next_attempt_at": now,
                "claimed_by": None,
                "last_status_code": None,
                "last_error": None if sendable else problem,
                "event_at": row.created_at,
                "created_at": now,
                "updated_at": now,
                "delivered_at": None,
            }
        )
    session.execute(insert(DELIVERIES), deliveries)
    ids = [row.id for row in rows]
    for chunk in _chunks(ids):
        session.execute(update(OUTBOX).where(OUTBOX.c.id.in_(chunk)).values(published_at=now))
    return len(rows), [d["carrier_id"] for d in deliveries if d["status"] == "skipped"]


def claim_due(
    session: Session,
    *,
    now: datetime,
    worker_id: str,
    lease_s: float,
    capacity: dict[str, int] | None,
    default_capacity: int,
    limit: int,
    exclude: Collection[str] = (),
) -> list[ClaimedDelivery]:
    """Claim up to ``limit`` due deliveries, at most ``capacity[carrier]`` (else ``default_capacity``) per
    carrier, oldest due first, skipping the carriers in ``exclude`` (their endpoint's breaker is open).

    The per-carrier cap is applied in the query (a window per carrier), so a backlog for one endpoint can
    never fill a claim and starve the others.
    """
    capacity = capacity or {}
    due = and_(DELIVERIES.c.status == "pending", DELIVERIES.c.next_attempt_at <= now)
    if exclude:
        due = and_(due, DELIVERIES.c.carrier_id.not_in(sorted(exclude)))
    per_carrier = max([default_capacity, *capacity.values()])
    ranked = (
        select(
            DELIVERIES.c.id,
            DELIVERIES.c.carrier_id,
            DELIVERIES.c.next_attempt_at,
            func.row_number()
            .over(partition_by=DELIVERIES.c.carrier_id, order_by=(DELIVERIES.c.next_attempt_at, DELIVERIES.c.id))
            .label("rank"),
        )
        .where(due)
        .subquery()
    )
    candidates = session.execute(
        select(ranked.c.id, ranked.c.carrier_id, ranked.c.rank)
        .where(ranked.c.rank <= per_carrier)
        .order_by(ranked.c.next_attempt_at, ranked.c.id)
    ).all()
    chosen: list[int] = []
    for delivery_id, carrier_id, rank in candidates:
        if rank <= capacity.get(carrier_id, default_capacity):
            chosen.append(delivery_id)
            if len(chosen) >= limit:
                break
    if not chosen:
        return []
    if _is_postgres(session):
        locked: list[int] = []
        for chunk in _chunks(chosen):
            locked.extend(
                session.scalars(
                    select(DELIVERIES.c.id).where(DELIVERIES.c.id.in_(chunk), due).with_for_update(skip_locked=True)
                )
            )
        chosen = locked
    lease_until = now + timedelta(seconds=lease_s)
    claimed: list[Row[Any]] = []
    for chunk in _chunks(chosen):
        claimed.extend(
            session.execute(
                update(DELIVERIES)
                .where(DELIVERIES.c.id.in_(chunk), due)
                .values(next_attempt_at=lease_until, claimed_by=worker_id, updated_at=now)
                .returning(
                    DELIVERIES.c.id,
                    DELIVERIES.c.message_id,
                    DELIVERIES.c.carrier_id,
                    DELIVERIES.c.body,
                    DELIVERIES.c.attempts,
                    DELIVERIES.c.attempts_before_replay,
                    DELIVERIES.c.event_at,
                )
            ).all()
        )
    endpoints = endpoints_of(session, {row.carrier_id for row in claimed}, now)
    claimed.sort(key=lambda row: row.id)
    return [
        ClaimedDelivery(
            id=row.id,
            message_id=row.message_id,
            carrier_id=row.carrier_id,
            body=row.body,
            attempt_no=row.attempts + 1,
            round_attempt_no=row.attempts - row.attempts_before_replay + 1,
            event_at=row.event_at,
            endpoint=endpoints[row.carrier_id],
        )
        for row in claimed
    ]


_DELIVERED = (
    update(DELIVERIES)
    .where(
        DELIVERIES.c.id == bindparam("b_id"),
        DELIVERIES.c.claimed_by == bindparam("b_worker"),
        DELIVERIES.c.status == "pending",
    )
    .values(
        status="delivered",
        attempts=bindparam("b_attempts"),
        claimed_by=None,
        last_status_code=bindparam("b_status_code"),
        last_error=None,
        endpoint_url=bindparam("b_url"),
        delivered_at=bindparam("b_at"),
        updated_at=bindparam("b_at"),
    )
)
_FAILED = (
    update(DELIVERIES)
    .where(
        DELIVERIES.c.id == bindparam("b_id"),
        DELIVERIES.c.claimed_by == bindparam("b_worker"),
        DELIVERIES.c.status == "pending",
    )
    .values(
        status=bindparam("b_status"),
        attempts=bindparam("b_attempts"),
        claimed_by=None,
        next_attempt_at=bindparam("b_next"),
        last_status_code=bindparam("b_status_code"),
        last_error=bindparam("b_error"),
        endpoint_url=bindparam("b_url"),
        updated_at=bindparam("b_at"),
    )
)
_RELEASED = (
    update(DELIVERIES)
    .where(
        DELIVERIES.c.id == bindparam("b_id"),
        DELIVERIES.c.claimed_by == bindparam("b_worker"),
        DELIVERIES.c.status == "pending",
    )
    .values(next_attempt_at=bindparam("b_next"), claimed_by=None, updated_at=bindparam("b_at"))
)
_SKIPPED = (
    update(DELIVERIES)
    .where(
        DELIVERIES.c.id == bindparam("b_id"),
        DELIVERIES.c.claimed_by == bindparam("b_worker"),
        DELIVERIES.c.status == "pending",
    )
    .values(status="skipped", claimed_by=None, last_error=bindparam("b_error"), updated_at=bindparam("b_at"))
)


def record_outcomes(session: Session, outcomes: Sequence[SendOutcome], *, worker_id: str, now: datetime) -> None:
    """Write a batch of send outcomes: one attempt row per real send, and each delivery's new state.

    ``failed`` outcomes carry ``retry_at`` (None: the schedule is spent, the delivery is dead-lettered).
    A delivery whose claim this worker lost (its lease ran out and another worker took it) is left as
    the other worker writes it; its attempt is still logged.
    """
    attempts = [
        {
            "delivery_id": o.delivery_id,
            "attempt_no": o.attempt_no,
            "at": o.at,
            "duration_ms": round(o.duration_ms, 3),
            "outcome": o.outcome if o.outcome == "delivered" or o.retry_at is not None else "dead",
            "status_code": o.status_code,
            "error": o.error,
            "endpoint_url": o.endpoint_url,
            "worker_id": worker_id,
        }
        for o in outcomes
        if o.outcome in ("delivered", "failed")
    ]
    if attempts:
        session.execute(insert(ATTEMPTS), attempts)
    delivered = [
        {
            "b_id": o.delivery_id,
            "b_worker": worker_id,
            "b_attempts": o.attempt_no,
            "b_status_code": o.status_code,
            "b_url": o.endpoint_url,
            "b_at": o.at,
        }
        for o in outcomes
        if o.outcome == "delivered"
    ]
    failed = [
        {
            "b_id": o.delivery_id,
            "b_worker": worker_id,
            "b_status": "pending" if o.retry_at is not None else "dead",
            "b_attempts": o.attempt_no,
            "b_next": o.retry_at or now,
            "b_status_code": o.status_code,
            "b_error": o.error,
            "b_url": o.endpoint_url,
            "b_at": now,
        }
        for o in outcomes
        if o.outcome == "failed"
    ]
    released = [
        {"b_id": o.delivery_id, "b_worker": worker_id, "b_next": o.retry_at or now, "b_at": now}
        for o in outcomes
        if o.outcome == "deferred"
    ]
    skipped = [
        {"b_id": o.delivery_id, "b_worker": worker_id, "b_error": o.error, "b_at": now}
        for o in outcomes
        if o.outcome == "skipped"
    ]
    for statement, rows in ((_DELIVERED, delivered), (_FAILED, failed), (_RELEASED, released), (_SKIPPED, skipped)):
        if rows:
            session.execute(statement, rows)


# --- the desk -------------------------------------------------------------------------------------
def _attempt_view(row: WebhookAttemptRow) -> AttemptView:
    return AttemptView(
        attempt_no=row.attempt_no,
        at=row.at,
        duration_ms=row.duration_ms,
        outcome=row.outcome,
        status_code=row.status_code,
        error=row.error,
        endpoint_url=row.endpoint_url,
        worker_id=row.worker_id,
    )


def _delivery_view(row: WebhookDeliveryRow, attempts: list[AttemptView]) -> DeliveryView:
    return DeliveryView(
        id=row.id,
        webhook_id=row.message_id,
        carrier_id=row.carrier_id,
        event_type=row.event_type,
        waybill_no=row.waybill_no,
        endpoint_url=row.endpoint_url,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        event_at=row.event_at,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        attempt_log=attempts,
    )


def list_deliveries(
    session: Session,
    *,
    status: str | None,
    carrier_id: str | None,
    limit: int,
    after_id: int | None,
    waybill_nos: Collection[str] | None = None,
) -> tuple[list[DeliveryView], int | None]:
    """Deliveries newest first (by id, below ``after_id``) with their attempts; the last id if more follow.
    ``waybill_nos``: only the deliveries about those waybills (an order's, for the console's order page)."""
    query = select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id.desc()).limit(limit + 1)
    if waybill_nos is not None:
        query = query.where(WebhookDeliveryRow.waybill_no.in_(list(waybill_nos)))
    if status is not None:
        query = query.where(WebhookDeliveryRow.status == status)
    if carrier_id is not None:
        query = query.where(WebhookDeliveryRow.carrier_id == carrier_id)
    if after_id is not None:
        query = query.where(WebhookDeliveryRow.id < after_id)
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    attempts: dict[int, list[AttemptView]] = {}
    if rows:
        for attempt in session.scalars(
            select(WebhookAttemptRow)
            .where(WebhookAttemptRow.delivery_id.in_([r.id for r in rows]))
            .order_by(WebhookAttemptRow.delivery_id, WebhookAttemptRow.attempt_no, WebhookAttemptRow.id)
        ):
            attempts.setdefault(attempt.delivery_id, []).append(_attempt_view(attempt))
    views = [_delivery_view(r, attempts.get(r.id, [])) for r in rows]
    return views, (rows[-1].id if more else None)


def delivery(session: Session, delivery_id: int, *, for_update: bool = False) -> WebhookDeliveryRow | None:
    """One delivery row (locked for the transaction when ``for_update``), or None."""
    query = select(WebhookDeliveryRow).where(WebhookDeliveryRow.id == delivery_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def delivery_view(session: Session, delivery_id: int) -> DeliveryView | None:
    """One delivery with its attempts, or None."""
    row = delivery(session, delivery_id)
    if row is None:
        return None
    attempts = session.scalars(
        select(WebhookAttemptRow)
        .where(WebhookAttemptRow.delivery_id == delivery_id)
        .order_by(WebhookAttemptRow.attempt_no, WebhookAttemptRow.id)
    )
    return _delivery_view(row, [_attempt_view(a) for a in attempts])


def replay_dead(
    session: Session, *, now: datetime, delivery_id: int | None = None, carrier_id: str | None = None
) -> int:
    """Dead-lettered deliveries (one, a carrier's, or all) back to pending, due now, with the same
    ``webhook-id``; the retry schedule starts over. Answers how many were replayed."""
    condition = DELIVERIES.c.status == "dead"
    if delivery_id is not None:
        condition = and_(condition, DELIVERIES.c.id == delivery_id)
    if carrier_id is not None:
        condition = and_(condition, DELIVERIES.c.carrier_id == carrier_id)
    result = session.execute(
        update(DELIVERIES)
        .where(condition)
        .values(
            status="pending",
            attempts_before_replay=DELIVERIES.c.attempts,
            next_attempt_at=now,
            claimed_by=None,
            updated_at=now,
        )
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
