"""SQLAlchemy tables of imports: runs (resumable), per-record report, imported source keys (idempotency),
records waiting (held without an order, deferred until master data arrives) and SKU pack sizes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from foundation.columns import UtcDateTime
from infra.db import Base


class ImportRunRow(Base):
    """One run of a profile over a file: where it got to (``last_record``) and what came of it."""

    __tablename__ = "import_runs"
    __table_args__ = (Index("ix_import_runs_profile_sha", "profile", "file_sha256"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    profile: Mapped[str] = mapped_column(String(100))
    system: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(16))
    file_name: Mapped[str] = mapped_column(String(300))
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_bytes: Mapped[int] = mapped_column(BigInteger)
    #: running | interrupted | finished | failed
    status: Mapped[str] = mapped_column(String(16))
    dry_run: Mapped[bool] = mapped_column(Boolean)
    #: The number of the last record whose outcome is committed: a re-run continues after it.
    last_record: Mapped[int] = mapped_column(Integer)
    accepted: Mapped[int] = mapped_column(Integer)
    held: Mapped[int] = mapped_column(Integer)
    rejected: Mapped[int] = mapped_column(Integer)
    deferred: Mapped[int] = mapped_column(Integer)
    duplicate: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True, unique=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ImportRecordRow(Base):
    """The report line of one record: outcome, why, warnings, what it created, and (unless accepted) the
    raw source rows, so a failed record can be exported in the source format and a held one reviewed."""

    __tablename__ = "import_records"
    __table_args__ = (Index("ix_import_records_run_record", "run_id", "record_no"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32), ForeignKey("import_runs.id"))
    record_no: Mapped[int] = mapped_column(Integer)
    source_key: Mapped[str] = mapped_column(String(200))
    #: accepted | held | rejected | deferred | duplicate
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    warnings: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    entity_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    raw: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)


class ImportSourceKeyRow(Base):
    """A source record already imported (accepted or held as an order): the same key again creates nothing."""

    __tablename__ = "import_source_keys"

    system: Mapped[str] = mapped_column(String(100), primary_key=True)
    entity: Mapped[str] = mapped_column(String(16), primary_key=True)
    source_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    run_id: Mapped[str] = mapped_column(String(32))
    record_no: Mapped[int] = mapped_column(Integer)
    entity_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ImportPendingRow(Base):
    """A record that waits: held for review without an order to hang an exception on, or deferred until
    the customer/SKU/warehouse it names exists (``waiting_for``: ["customer:C1", ...])."""

    __tablename__ = "import_pending"
    __table_args__ = (Index("ix_import_pending_status", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32), ForeignKey("import_runs.id"))
    record_no: Mapped[int] = mapped_column(Integer)
    profile_path: Mapped[str] = mapped_column(String(500))
    system: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str] = mapped_column(String(16))
    source_key: Mapped[str] = mapped_column(String(200))
    #: held | deferred | imported | rejected
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    waiting_for: Mapped[list[str]] = mapped_column(JSON)
    raw: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class SkuPackSizeRow(Base):
    """Pieces per case of a SKU (from an item-master import); the case -> piece conversion reads it."""

    __tablename__ = "sku_pack_sizes"

    sku: Mapped[str] = mapped_column(String(64), ForeignKey("skus.sku"), primary_key=True)
    pieces_per_case: Mapped[int] = mapped_column(Integer)
