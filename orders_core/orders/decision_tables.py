"""SQLAlchemy table of exception decisions: the audit trail of who approved or rejected which exception,
with which documented reason code and note, and when (written in the resolution's own transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from foundation.columns import UtcDateTime
from infra.db import Base


class ExceptionDecisionRow(Base):
    """One decision on an exception: the action, its reason code and note, the deciding token and time."""

    __tablename__ = "exception_decisions"
    __table_args__ = (Index("ix_exception_decisions_order_decided", "order_id", "decided_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    exception_id: Mapped[str] = mapped_column(String(32), ForeignKey("order_exceptions.id"), index=True)
    order_id: Mapped[str] = mapped_column(String(32), ForeignKey("orders.id"))
    action: Mapped[str] = mapped_column(String(16))
    reason_code: Mapped[str] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    actor: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime())
