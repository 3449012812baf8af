"""Stored reconciliation runs: record one (summary and every difference, in one transaction), list and read them.

The desk's view of dual running: each upload or CLI run with ``--store`` becomes a run whose summary gives
the consistency figures and whose differences can be listed by cause and field.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select

from foundation.clock import utc_now
from foundation.errors import Conflict, NotFound
from infra.pagination import Page, PageRequest, keyset_page
from orders_core.integration.reconcile import Difference, Reconciliation
from orders_core.integration.reconcile_report import difference_row, summary
from orders_core.integration.reconcile_tables import ReconciliationDifferenceRow, ReconciliationRunRow
from orders_core.unit_of_work import UnitOfWorkFactory

INSERT_BATCH = 1000


class ReconciliationNotFound(NotFound):
    """No reconciliation run has this id."""

    code = "reconciliation_not_found"


class ReconciliationKeyReused(Conflict):
    """An Idempotency-Key already used for another export or profile."""

    code = "idempotency_key_reused"


@dataclass(frozen=True)
class RunRecord:
    """A stored run as the desk reads it."""

    id: str
    profile: str
    export_name: str
    export_sha256: str
    period_from: datetime | None
    period_to: datetime | None
    consistency_pct: float
    differences: int
    summary: dict[str, Any]
    created_by: str
    created_at: datetime


@dataclass(frozen=True)
class RunRequest:
    """What a run was asked for: the profile, the export (name and digest), the period, who, and the key."""

    profile: str
    export_name: str
    export_sha256: str
    period_from: datetime | None
    period_to: datetime | None
    created_by: str
    idempotency_key: str | None = None


def _record(row: ReconciliationRunRow) -> RunRecord:
    return RunRecord(
        id=row.id,
        profile=row.profile,
        export_name=row.export_name,
        export_sha256=row.export_sha256,
        period_from=row.period_from,
        period_to=row.period_to,
        consistency_pct=row.consistency_pct,
        differences=row.differences,
        summary=row.summary,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def replay_run(new_uow: UnitOfWorkFactory, request: RunRequest) -> RunRecord | None:
    """The run an Idempotency-Key already made for the same profile and export, if any.

    The same key with another export or profile is ReconciliationKeyReused (409): nothing is stored.
    """
    if request.idempotency_key is None:
        return None
    with new_uow() as uow:
        row = uow.session.scalar(
            select(ReconciliationRunRow).where(ReconciliationRunRow.idempotency_key == request.idempotency_key)
        )
        if row is None:
            return None
        if (row.profile, row.export_sha256) != (request.profile, request.export_sha256):
            raise ReconciliationKeyReused(
                "this Idempotency-Key was used for another export or profile",
                details={"run_id": row.id},
            )
        return _record(row)


def record_run(new_uow: UnitOfWorkFactory, request: RunRequest, result: Reconciliation) -> RunRecord:
    """Store a run: its summary and every difference, in one transaction (a run is never half stored)."""
    report = summary(result)
    row = ReconciliationRunRow(
        id="REC-" + secrets.token_hex(8).upper(),
        profile=request.profile,
        export_name=request.export_name[:255],
        export_sha256=request.export_sha256,
        period_from=request.period_from,
        period_to=request.period_to,
        consistency_pct=report["consistency_pct"],
        differences=len(result.differences),
        summary=report,
        created_by=request.created_by[:100],
        created_at=utc_now(),
        idempotency_key=request.idempotency_key,
    )
    with new_uow() as uow:
        uow.session.add(row)
        uow.session.flush()
        _insert_differences(uow.session, row.id, result.differences)
        stored = _record(row)
        uow.commit()
    return stored


def _insert_differences(session: Any, run_id: str, differences: Iterable[Difference]) -> None:
    batch: list[dict[str, str]] = []
    for difference in differences:
        flat = difference_row(difference)
        flat["key"] = flat["key"][:500]
        batch.append({"run_id": run_id, **flat})
        if len(batch) >= INSERT_BATCH:
            session.execute(insert(ReconciliationDifferenceRow), batch)
            batch = []
    if batch:
        session.execute(insert(ReconciliationDifferenceRow), batch)


def run_page(new_uow: UnitOfWorkFactory, request: PageRequest) -> Page[RunRecord]:
    """Runs by creation time (the desk's list)."""
    with new_uow() as uow:
        rows, next_cursor = keyset_page(
            uow.session,
            select(ReconciliationRunRow),
            (ReconciliationRunRow.created_at, ReconciliationRunRow.id),
            request,
        )
        return Page([_record(row) for row in rows], next_cursor)


def get_run(new_uow: UnitOfWorkFactory, run_id: str) -> RunRecord:
    """One run, or ReconciliationNotFound."""
    with new_uow() as uow:
        row = uow.session.get(ReconciliationRunRow, run_id)
        if row is None:
            raise ReconciliationNotFound(f"no reconciliation run {run_id!r}", details={"run_id": run_id})
        return _record(row)


def difference_page(
    new_uow: UnitOfWorkFactory,
    run_id: str,
    request: PageRequest,
    *,
    causes: list[str] | None = None,
    field: str | None = None,
) -> Page[dict[str, str]]:
    """A run's differences in report order, optionally of some causes and one field (``(record)``: none)."""
    get_run(new_uow, run_id)
    query = select(ReconciliationDifferenceRow).where(ReconciliationDifferenceRow.run_id == run_id)
    if causes:
        query = query.where(ReconciliationDifferenceRow.cause.in_(causes))
    if field is not None:
        query = query.where(ReconciliationDifferenceRow.field == ("" if field == "(record)" else field))
    with new_uow() as uow:
        rows, next_cursor = keyset_page(uow.session, query, (ReconciliationDifferenceRow.id,), request)
        items = [
            {
                "key": row.key,
                "cause": row.cause,
                "field": row.field,
                "side": row.side,
                "ours": row.ours,
                "theirs": row.theirs,
                "delta": row.delta,
                "relative": row.relative,
                "tolerance": row.tolerance,
                "note": row.note,
            }
            for row in rows
        ]
        return Page(items, next_cursor)


def difference_counts(new_uow: UnitOfWorkFactory, run_id: str) -> dict[tuple[str, str], int]:
    """How many differences of a run per (field, cause), counted in the database (checks the stored summary)."""
    query = (
        select(ReconciliationDifferenceRow.field, ReconciliationDifferenceRow.cause, func.count())
        .where(ReconciliationDifferenceRow.run_id == run_id)
        .group_by(ReconciliationDifferenceRow.field, ReconciliationDifferenceRow.cause)
    )
    with new_uow() as uow:
        return {(field or "(record)", cause): int(n) for field, cause, n in uow.session.execute(query)}
