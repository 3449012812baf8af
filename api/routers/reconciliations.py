"""Dual-run reconciliation on the desk: upload another system's export with a profile name, read the runs.

``POST /v1/reconciliations`` (multipart: ``file``, ``profile``, optional ``from``/``to``) compares the export
with our orders of the period, stores the summary and every difference, and answers the run (201; the same
``Idempotency-Key`` with the same file and profile answers the first run, 200). Lists page like every list.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, File, Form, Header, Query, Response, UploadFile
from fastapi import Path as PathParam
from pydantic import AwareDatetime

from api.auth import require_roles
from api.container import Container
from api.deps import get_container
from api.errors import refusals
from api.import_cli import PROFILES_DIR
from api.pagination import MultiValue, one_of, page_request
from api.schemas.master_data import NON_BLANK_TEXT_PATTERN
from api.schemas.reconciliations import DifferenceListOut, DifferenceOut, RunListOut, RunOut, run_out
from api.tokens import Principal
from api.uploads import save_upload
from infra.pagination import PageRequest
from orders_core.integration.reconcile import Cause
from orders_core.integration.reconcile_report import CSV_COLUMNS
from orders_core.integration.reconciliation import profile_by_name, reconcile_export
from orders_core.integration.reconciliation_runs import (
    RunRequest,
    difference_page,
    get_run,
    record_run,
    replay_run,
    run_page,
)

router = APIRouter(prefix="/v1/reconciliations", tags=["reconciliations"])
desk = require_roles("dispatcher")
log = structlog.get_logger("api.reconciliations")
RunId = Annotated[str, PathParam(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9\-]+$")]


@router.post(
    "",
    status_code=201,
    response_model=RunOut,
    response_model_by_alias=True,
    responses={
        200: {"model": RunOut, "description": "A retry with the same Idempotency-Key, file and profile."},
        **refusals(
            {
                409: "idempotency_key_reused: the key was used for another export or profile.",
                422: "unknown_profile; invalid_profile; export_unreadable (encoding, format, columns);"
                " reconciliation_refused (not an order profile, bad period); validation_error.",
            }
        ),
    },
)
def create_reconciliation(
    response: Response,
    file: Annotated[UploadFile, File(description="The other system's export (the profile's format).")],
    profile: Annotated[str, Form(max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")],
    start: Annotated[AwareDatetime | None, Form(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Form(alias="to")] = None,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", max_length=200, pattern=NON_BLANK_TEXT_PATTERN)
    ] = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(desk),
) -> RunOut:
    """Reconcile an uploaded export with our orders of the period; store and answer the run."""
    loaded = profile_by_name(PROFILES_DIR, profile)
    name = Path(file.filename or "export").name
    with tempfile.TemporaryDirectory(prefix="reconcile-") as folder:
        path = Path(folder) / f"export.{loaded.source.format}"
        sha256 = save_upload(file, path)
        request = RunRequest(loaded.name, name, sha256, None, None, principal.actor, idempotency_key)
        replayed = replay_run(container.uow, request)
        if replayed is not None:
            response.status_code = 200
            return run_out(replayed)
        outcome = reconcile_export(container.uow, loaded, path, start=start, end=end)
    request = RunRequest(
        loaded.name,
        name,
        outcome.export_sha256,
        outcome.period_from,
        outcome.period_to,
        principal.actor,
        idempotency_key,
    )
    run = record_run(container.uow, request, outcome.result)
    log.info("reconciliation_run", run_id=run.id, profile=loaded.name, consistency_pct=run.consistency_pct)
    return run_out(run)


@router.get("", response_model=RunListOut, response_model_by_alias=True)
def list_reconciliations(
    page: PageRequest = Depends(page_request),
    container: Container = Depends(get_container),
    _: Principal = Depends(desk),
) -> RunListOut:
    """Reconciliation runs, oldest first (``order=desc``: newest first)."""
    found = run_page(container.uow, page)
    return RunListOut(items=[run_out(run) for run in found.items], next_cursor=found.next_cursor)


@router.get(
    "/{run_id}",
    response_model=RunOut,
    response_model_by_alias=True,
    responses=refusals({404: "reconciliation_not_found"}),
)
def get_reconciliation(
    run_id: RunId, container: Container = Depends(get_container), _: Principal = Depends(desk)
) -> RunOut:
    """One run with its summary: consistency, mismatches by cause and by field, per-field consistency."""
    return run_out(get_run(container.uow, run_id))


@router.get(
    "/{run_id}/differences",
    response_model=DifferenceListOut,
    responses=refusals({404: "reconciliation_not_found", 422: "invalid_filter: an unknown cause."}),
)
def list_differences(
    run_id: RunId,
    cause: MultiValue = None,
    field: Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00]*$")] = None,
    page: PageRequest = Depends(page_request),
    container: Container = Depends(get_container),
    _: Principal = Depends(desk),
) -> DifferenceListOut:
    """A run's differences in report order, by cause (may repeat) and field (``(record)``: record causes)."""
    causes = one_of(cause, [c.value for c in Cause], name="cause")
    found = difference_page(container.uow, run_id, page, causes=causes, field=field)
    return DifferenceListOut(items=[DifferenceOut(**d) for d in found.items], next_cursor=found.next_cursor)


@router.get(
    "/{run_id}/differences.csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "The CSV report."},
        **refusals({404: "reconciliation_not_found"}),
    },
)
def differences_csv(
    run_id: RunId, container: Container = Depends(get_container), _: Principal = Depends(desk)
) -> Response:
    """Every difference of a run as the CLI's CSV report."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    cursor = None
    while True:
        found = difference_page(container.uow, run_id, PageRequest(limit=200, cursor=cursor))
        writer.writerows(found.items)
        if found.next_cursor is None:
            break
        cursor = found.next_cursor
    return Response(
        content=buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{run_id}.csv"'},
    )
