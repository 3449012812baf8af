"""Imports through mapping profiles (docs/MAPPING_PROFILES.md): upload a file with a profile name, read the
run's per-record report.

``POST /v1/imports`` (admin, dispatcher; multipart ``file`` + ``profile``, optional ``dry_run``; header
``Idempotency-Key``) runs the same use case as ``dispatch import``: 201 with the run and the first page of
its report (200 for a dry run, which stores nothing, and for a replay of the same key with the same file).
A profile name that is not in ``profiles/`` is 404 ``profile_not_found``; a profile that does not validate is
422 ``invalid_profile`` (each problem with its file and line); a file the profile cannot read (wrong
encoding, missing columns, not JSON) is 422 ``unreadable_source``; the same key with another file is 409.
``GET /v1/imports/{id}`` answers the run with its records, ``?limit=&cursor=`` paginated.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, File, Form, Header, Query, Response, UploadFile
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool

from api.auth import Principal, require_roles
from api.container import Container
from api.deps import get_container
from api.import_cli import resolve_profile_path
from api.metrics import count_import
from api.schemas.master_data import NON_BLANK_TEXT_PATTERN
from api.uploads import save_upload
from foundation.errors import NotFound
from infra.pagination import MAX_PAGE_SIZE
from orders_core.integration.importer import ImportOptions, run_import, run_report
from orders_core.integration.profile_loader import load_profile

log = structlog.get_logger("api.imports")
router = APIRouter(prefix="/v1/imports", tags=["imports"])
importers = require_roles("dispatcher")
_PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9_]{0,99}$")
_DRY_RUN_RECORDS = 1000


class ProfileNotFound(NotFound):
    """No profile of that name in profiles/."""

    code = "profile_not_found"


def _page(report: dict[str, Any]) -> dict[str, Any]:
    records = report.pop("records")
    cursor = report.pop("next_after")
    return {**report, "records": {"items": records, "next_cursor": None if cursor is None else str(cursor)}}


@router.post("", status_code=201)
async def upload_import(
    response: Response,
    file: Annotated[UploadFile, File(description="The source file (csv, xlsx, json, jsonl as the profile says).")],
    profile: Annotated[str, Form(max_length=100, description="A profile name from profiles/.")],
    dry_run: Annotated[bool, Form()] = False,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", max_length=200, pattern=NON_BLANK_TEXT_PATTERN)
    ] = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(importers),
) -> dict[str, Any]:
    """Import an uploaded file through a named profile; answers the run and the first page of its report."""
    if not _PROFILE_NAME.match(profile):
        raise ProfileNotFound(f"no profile {profile!r}: profile names are lower-case letters, digits and _")
    path = resolve_profile_path(profile)
    if not path.is_file():
        raise ProfileNotFound(f"no profile {profile!r} in profiles/")
    loaded = load_profile(path)
    with tempfile.TemporaryDirectory(prefix="upload-") as scratch:
        target = Path(scratch) / "source"
        await run_in_threadpool(save_upload, file, target)
        rows: list[dict[str, Any]] = []
        summary = await run_in_threadpool(
            run_import,
            container.uow,
            loaded,
            target,
            options=ImportOptions(
                dry_run=dry_run, idempotency_key=None if dry_run else idempotency_key, actor=f"api:{principal.role}"
            ),
            stock=container.stock,
            report_sink=(lambda batch: rows.extend(batch[: _DRY_RUN_RECORDS - len(rows)])) if dry_run else None,
            file_name=file.filename or "upload",
        )
    count_import(profile + (" (dry run)" if dry_run else ""), summary.counts)
    log.info("import_uploaded", profile=profile, run_id=summary.run_id, dry_run=dry_run, **summary.counts)
    if dry_run or summary.run_id is None:
        response.status_code = 200
        items = [{key: value for key, value in row.items() if key != "raw"} for row in rows]
        return {
            "id": None,
            "dry_run": True,
            "status": summary.status,
            "counts": summary.counts,
            "records": {"items": items, "next_cursor": None},
        }
    if summary.replayed:
        response.status_code = 200
    report = await run_in_threadpool(run_report, container.uow, summary.run_id, limit=100)
    return _page(report)


@router.get("/{run_id}")
def get_import(
    run_id: Annotated[str, PathParam(max_length=32)],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Records per page.")] = 100,
    cursor: Annotated[str | None, Query(max_length=20, pattern=r"^[0-9]+$")] = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(importers),
) -> dict[str, Any]:
    """The run (status, counts, offset) with one page of its per-record report."""
    return _page(run_report(container.uow, run_id, after_id=int(cursor or 0), limit=limit))
