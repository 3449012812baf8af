"""SQLAlchemy tables of reconciliation runs: each run's summary, and every difference it found (migration 0023)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from foundation.columns import UtcDateTime
from infra.db import Base


class ReconciliationRunRow(Base):
    """One comparison of our records with another system's export (CLI or desk upload)."""

    __tablename__ = "reconciliation_runs"
    __table_args__ = (Index("ix_reconciliation_runs_created_at_id", "created_at", "id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    profile: Mapped[str] = mapped_column(String(100))
    export_name: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of the uploaded export: the same file twice under one Idempotency-Key answers the first run.
    export_sha256: Mapped[str] = mapped_column(String(64))
    period_from: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    period_to: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    consistency_pct: Mapped[float] = mapped_column(Float)
    differences: Mapped[int] = mapped_column(Integer)
    #: The JSON summary of docs/RECONCILIATION.md (counts, by cause, by field, per-field consistency).
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)


class ReconciliationDifferenceRow(Base):
    """One line of a run's CSV report."""

    __tablename__ = "reconciliation_differences"
    __table_args__ = (Index("ix_reconciliation_differences_run_cause_field", "run_id", "cause", "field"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32), ForeignKey("reconciliation_runs.id"))
    key: Mapped[str] = mapped_column(String(500))
    cause: Mapped[str] = mapped_column(String(32))
    field: Mapped[str] = mapped_column(String(100))
    side: Mapped[str] = mapped_column(String(8))
    ours: Mapped[str] = mapped_column(Text)
    theirs: Mapped[str] = mapped_column(Text)
    delta: Mapped[str] = mapped_column(String(64))
    relative: Mapped[str] = mapped_column(String(32))
    tolerance: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text)
