"""``dispatch reconcile`` and ``dispatch export``: dual-run reconciliation and exports through mapping profiles.

``reconcile`` prints the consistency percentage and the mismatches grouped by field and cause (docs/
RECONCILIATION.md); ``--csv`` writes every difference, ``--json`` ends the output with the summary as one
JSON line, ``--store`` records the run for the desk. ``export`` writes our orders, shipments or waybills in
the profile's target format. Exit codes: 0 done, 2 refused (profile, file, period), 1 differences found
with ``--fail-on-difference``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

From = Annotated[str | None, typer.Option("--from", help="Period start, ISO 8601 (UTC unless an offset is given).")]
To = Annotated[str | None, typer.Option("--to", help="Period end (exclusive), ISO 8601.")]


def _uow_factory() -> tuple[Any, Any]:
    """A unit-of-work factory on the configured database (migrated), and the engine to dispose of."""
    from api.observability import configure_logging
    from api.settings import get_settings
    from infra.db import make_engine, make_session_factory
    from infra.migrate import upgrade
    from orders_core.unit_of_work import UnitOfWork

    settings = get_settings()
    configure_logging(settings.log_format, log_json=settings.log_json)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    session_factory = make_session_factory(engine)
    return (lambda: UnitOfWork(session_factory)), engine


def _moment(text: str | None) -> datetime | None:
    """An ISO 8601 time from the command line, UTC when it has no offset; a bad one exits 2."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        typer.echo(f"not an ISO 8601 time: {text!r}", err=True)
        raise typer.Exit(2) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _profile(name: str) -> Any:
    from api.import_cli import resolve_profile_path
    from foundation.errors import DispatchError
    from orders_core.integration.profile_loader import load_profile

    try:
        return load_profile(resolve_profile_path(name))
    except DispatchError as exc:
        typer.echo(f"profile refused:\n{exc.message.replace('; ', chr(10))}", err=True)
        raise typer.Exit(2) from None


def reconcile_command(
    profile: Annotated[str, typer.Argument(help="Order profile file, or a profile name from profiles/.")],
    export: Annotated[Path, typer.Argument(help="The other system's export of the period.")],
    start: From = None,
    end: To = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write every difference here (CSV).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="End with the summary as one JSON line.")] = False,
    tolerance: Annotated[
        list[str] | None, typer.Option(help="Override a tolerance: total=abs:0.05,rel:0.001 or placed_at=s:120.")
    ] = None,
    store: Annotated[bool, typer.Option("--store", help="Record the run (GET /v1/reconciliations).")] = False,
    fail_on_difference: Annotated[bool, typer.Option(help="Exit 1 when any difference is found.")] = False,
) -> None:
    """Compare our orders with another system's export of the same period (docs/RECONCILIATION.md)."""
    from foundation.errors import DispatchError
    from orders_core.integration.order_reconcile import UnknownTolerance, parse_tolerance
    from orders_core.integration.reconcile_report import difference_row, digest, summary, write_csv
    from orders_core.integration.reconciliation import reconcile_export
    from orders_core.integration.reconciliation_runs import RunRequest, record_run

    loaded = _profile(profile)
    if not export.is_file():
        typer.echo(f"no file {export}", err=True)
        raise typer.Exit(2)
    try:
        overrides = dict(parse_tolerance(text) for text in tolerance or [])
    except UnknownTolerance as exc:
        typer.echo(f"tolerance refused: {exc}", err=True)
        raise typer.Exit(2) from None
    new_uow, engine = _uow_factory()
    try:
        outcome = reconcile_export(
            new_uow, loaded, export, start=_moment(start), end=_moment(end), tolerances=overrides
        )
        report = summary(outcome.result)
        if csv_out is not None:
            with csv_out.open("w", encoding="utf-8", newline="") as handle:
                write_csv(outcome.result.differences, handle)
        run_id = None
        if store:
            request = RunRequest(
                loaded.name, export.name, outcome.export_sha256, outcome.period_from, outcome.period_to, "cli"
            )
            run_id = record_run(new_uow, request, outcome.result).id
    except DispatchError as exc:
        typer.echo(f"reconcile refused: {exc.message}", err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    typer.echo(f"period {outcome.period_from.isoformat()} .. {outcome.period_to.isoformat()}  profile {loaded.name}")
    examples = [difference_row(d) for d in outcome.result.differences[:10]]
    typer.echo(digest(report, examples=examples))
    if csv_out is not None:
        typer.echo(f"{len(outcome.result.differences)} difference(s) written to {csv_out}")
    if run_id:
        typer.echo(f"stored as run {run_id}")
    if as_json:
        typer.echo(json.dumps({**report, "run_id": run_id}, ensure_ascii=False, separators=(",", ":")))
    if fail_on_difference and outcome.result.differences:
        raise typer.Exit(1)


def export_command(
    profile: Annotated[str, typer.Argument(help="Target profile file, or a profile name from profiles/.")],
    entity: Annotated[str, typer.Option(help="orders, shipments or waybills (the profile's target).")],
    out: Annotated[Path, typer.Option(help="The file to write (its format is the profile's).")],
    start: From = None,
    end: To = None,
) -> None:
    """Write our orders, shipments or waybills of a period in a target system's format (the inverse of a profile)."""
    from foundation.errors import DispatchError
    from orders_core.integration.exporting import export_entity

    loaded = _profile(profile)
    new_uow, engine = _uow_factory()
    try:
        rows = export_entity(new_uow, loaded, entity, out, start=_moment(start), end=_moment(end))
    except DispatchError as exc:
        typer.echo(f"export refused: {exc.message}", err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    typer.echo(f"{rows} row(s) of {entity} written to {out} ({loaded.source.format}, {loaded.source.encoding})")
