"""Dual-run reconciliation on the console: the runs (newest first) with their consistency, an upload form
(export file + profile), and one run's mismatches grouped by field and cause with the differences listed."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.console.forms import blank_to_none, day_range
from api.console.layout import console_headers, register_page, render_page
from api.console.session import console_roles
from api.container import Container
from api.deps import get_container
from api.import_cli import PROFILES_DIR
from api.pagination import CURSOR_PATTERN, one_of
from api.tokens import Principal
from api.uploads import save_upload
from infra.pagination import PageRequest
from orders_core.integration.reconcile import Cause
from orders_core.integration.reconciliation import profile_by_name, reconcile_export
from orders_core.integration.reconciliation_runs import RunRequest, difference_page, get_run, record_run, run_page

router = APIRouter()
desk = console_roles("dispatcher")
RUNS_SHOWN = 50
DIFFERENCES_SHOWN = 100
register_page("integration", "Reconciliation", "/console/reconciliations", roles=("dispatcher",), order=20)


def _order_profiles() -> list[str]:
    """The profiles a reconciliation can use (order profiles in profiles/)."""
    names = []
    for path in sorted(PROFILES_DIR.glob("*.yaml")):
        try:
            if profile_by_name(PROFILES_DIR, path.stem).target == "order":
                names.append(path.stem)
        except Exception:  # a broken profile file is reported by the upload, not by the list
            continue
    return names


@router.get("/reconciliations", response_class=HTMLResponse)
def runs(
    request: Request, container: Container = Depends(get_container), principal: Principal = Depends(desk)
) -> Response:
    """Reconciliation runs, newest first, and the form that starts one."""
    found = run_page(container.uow, PageRequest(limit=RUNS_SHOWN, descending=True)).items
    return render_page(
        request,
        "reconciliations.html",
        title="Reconciliation",
        principal=principal,
        section="integration",
        context={"runs": found, "profiles": _order_profiles(), "causes": [c.value for c in Cause]},
    )


@router.post("/reconciliations")
def start_run(
    file: Annotated[UploadFile, File()],
    profile: Annotated[str, Form(max_length=100)],
    day_from: Annotated[str | None, Form(alias="from", max_length=10)] = None,
    day_to: Annotated[str | None, Form(alias="to", max_length=10)] = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(desk),
) -> Response:
    """Reconcile the uploaded export through the chosen profile, store the run, and show it."""
    loaded = profile_by_name(PROFILES_DIR, profile)
    start, end = day_range(blank_to_none(day_from), blank_to_none(day_to))
    name = Path(file.filename or "export").name
    with tempfile.TemporaryDirectory(prefix="reconcile-") as folder:
        path = Path(folder) / f"export.{loaded.source.format}"
        save_upload(file, path)
        outcome = reconcile_export(container.uow, loaded, path, start=start, end=end)
    request = RunRequest(
        loaded.name, name, outcome.export_sha256, outcome.period_from, outcome.period_to, principal.actor
    )
    run = record_run(container.uow, request, outcome.result)
    return RedirectResponse(f"/console/reconciliations/{run.id}", status_code=303, headers=console_headers())


@router.get("/reconciliations/{run_id}", response_class=HTMLResponse)
def run_detail(
    request: Request,
    run_id: Annotated[str, PathParam(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9\-]+$")],
    cause: Annotated[str | None, Query(max_length=40)] = None,
    field: Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00]*$")] = None,
    cursor: Annotated[str | None, Query(max_length=2000, pattern=CURSOR_PATTERN)] = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(desk),
) -> Response:
    """One run: consistency, mismatches by cause and by field (with per-field consistency), the differences."""
    run = get_run(container.uow, run_id)
    wanted_cause = blank_to_none(cause)
    causes = one_of([wanted_cause] if wanted_cause else None, [c.value for c in Cause], name="cause")
    wanted_field = blank_to_none(field)
    found = difference_page(
        container.uow,
        run.id,
        PageRequest(limit=DIFFERENCES_SHOWN, cursor=blank_to_none(cursor)),
        causes=causes,
        field=wanted_field,
    )
    kept = {k: v for k, v in {"cause": wanted_cause, "field": wanted_field}.items() if v}
    next_url = (
        f"/console/reconciliations/{run.id}?{urlencode({**kept, 'cursor': found.next_cursor})}"
        if found.next_cursor
        else None
    )
    return render_page(
        request,
        "reconciliation_detail.html",
        title=f"Reconciliation {run.id}",
        principal=principal,
        section="integration",
        context={
            "run": run,
            "summary": run.summary,
            "differences": found.items,
            "filters": kept,
            "next_url": next_url,
        },
    )
