"""SQLAlchemy tables of carrier webhooks: deliveries (one per event and carrier), their attempts, and the
retired signing secrets that still sign during a rotation's grace period."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from foundation.columns import UtcDateTime
from infra.db import Base

#: Every status a delivery can be in; ``skipped`` = the carrier had no webhook_url (visible, never sent).
DELIVERY_STATUSES = ("pending", "delivered", "dead", "skipped")


class WebhookDeliveryRow(Base):
    """One event to send to one carrier; ``message_id`` is the ``webhook-id`` of every send of it.

    A pending row is due when ``next_attempt_at`` has passed. A worker claims a row by pushing
    ``next_attempt_at`` past its lease: if the worker dies, the row simply falls due again.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'delivered', 'dead', 'skipped')", name="ck_webhook_deliveries_status_known"
        ),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_carrier_id_status", "carrier_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(40), unique=True)
    outbox_id: Mapped[int | None] = mapped_column(Integer, unique=True, nullable=True)
    carrier_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(32))
    waybill_no: Mapped[str] = mapped_column(String(64), index=True)
    endpoint_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    #: ``attempts`` when the delivery was last replayed: the retry schedule restarts from there.
    attempts_before_replay: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    event_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class WebhookAttemptRow(Base):
    """One HTTP send of a delivery: when, how long, the answer's status code or the transport error."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(Integer, ForeignKey("webhook_deliveries.id"), index=True)
    attempt_no: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    duration_ms: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    endpoint_url: Mapped[str] = mapped_column(String(2000))
    worker_id: Mapped[str] = mapped_column(String(64))


class RetiredWebhookSecretRow(Base):
    """A carrier's previous signing secret and when it was replaced; it keeps signing for the grace period."""

    __tablename__ = "retired_webhook_secrets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    carrier_id: Mapped[str] = mapped_column(String(64), index=True)
    secret: Mapped[str] = mapped_column(String(200))
    retired_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
