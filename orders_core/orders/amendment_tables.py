"""SQLAlchemy table of order amendments (issue 12): who changed an order before picking, what changed,
and under which ``Idempotency-Key`` (unique per order, so a retried request is recognised and replayed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from foundation.columns import UtcDateTime
from infra.db import Base


class OrderAmendmentRow(Base):
    """One applied amendment: the request's hash (for replays) and the change, before and after."""

    __tablename__ = "order_amendments"
    __table_args__ = (UniqueConstraint("order_id", "idempotency_key", name="uq_order_amendments_order_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(32), ForeignKey("orders.id"), index=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(100))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
