"""``dispatch import <profile> <file>``: run an import with a progress bar, then its report and failed records.

The profile is a path or the name of a profile in the top-level ``profiles/`` folder. The run is resumable
(the same profile and file continue after the last committed record) and idempotent (source keys).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

PROFILES_DIR = Path(__file__).resolve().parents[1] / "profiles"
REPORT_COLUMNS = ("record_no", "source_key", "outcome", "reason", "warnings", "entity_id")


def resolve_profile_path(name: str) -> Path:
    """A profile given as a path, or by name from ``profiles/`` (with or without ``.yaml``)."""
    candidate = Path(name)
    if candidate.is_file():
        return candidate
    stem = name.removesuffix(".yaml").removesuffix(".yml")
    if "/" in stem or "\\" in stem or stem.startswith("."):
        return candidate
    return PROFILES_DIR / f"{stem}.yaml"


def write_report_csv(path: Path, rows: Iterator[dict[str, Any]]) -> int:
    """Write report rows as CSV (UTF-8 with BOM so spreadsheets show Chinese text); answers the count."""
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REPORT_COLUMNS)
        for row in rows:
            warnings = row.get("warnings") or []
            writer.writerow(
                [
                    row["record_no"],
                    row["source_key"],
                    row["outcome"],
                    row.get("reason") or "",
                    "; ".join(warnings),
                    row.get("entity_id") or "",
                ]
            )
            count += 1
    return count


def _report_pages(new_uow: Any, run_id: str) -> Iterator[dict[str, Any]]:
    from orders_core.integration.importer import run_report

    after = 0
    while True:
        page = run_report(new_uow, run_id, after_id=after, limit=1000)
        yield from page["records"]
        if page["next_after"] is None:
            return
        after = page["next_after"]


def import_command(
    profile: Annotated[str, typer.Argument(help="Profile file, or a profile name from profiles/.")],
    file: Annotated[Path, typer.Argument(help="The source file (csv, xlsx, json, jsonl as the profile says).")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate every record; write nothing.")] = False,
    report: Annotated[Path | None, typer.Option(help="Write the per-record report here (CSV).")] = None,
    failed: Annotated[Path | None, typer.Option(help="Write rejected records here, in the source format.")] = None,
    limit: Annotated[int | None, typer.Option(help="Stop after N records (the run stays resumable).")] = None,
    batch_size: Annotated[int, typer.Option(help="Records per transaction.")] = 500,
) -> None:
    """Import a source file through a mapping profile (docs/MAPPING_PROFILES.md)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    from api.container import Container
    from api.observability import configure_logging
    from api.settings import get_settings
    from foundation.errors import DispatchError
    from orders_core.integration.failed_file import write_source_file
    from orders_core.integration.importer import ImportOptions, failed_rows, run_import
    from orders_core.integration.profile_loader import load_profile

    console = Console(stderr=True)
    try:
        loaded = load_profile(resolve_profile_path(profile))
    except DispatchError as exc:
        console.print("[red]profile refused[/red]")
        issues = exc.details.get("issues")
        for issue in issues if isinstance(issues, list) else [exc.message]:
            console.print(str(issue), soft_wrap=True, markup=False, highlight=False)
        raise typer.Exit(2) from None
    if not file.is_file():
        console.print(f"[red]no file {file}[/red]")
        raise typer.Exit(2)
    settings = get_settings()
    configure_logging(settings.log_format, log_json=settings.log_json)
    container = Container(settings)
    container.start()
    dry_rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[counts]}"),
            console=console,
        ) as bar:
            task = bar.add_task(f"import {file.name}", total=None, counts="")

            def progress(done: int, total: int | None, counts: dict[str, int]) -> None:
                text = " ".join(f"{name} {value}" for name, value in counts.items() if value)
                bar.update(task, completed=done, total=total, counts=text)

            summary = run_import(
                container.uow,
                loaded,
                file,
                options=ImportOptions(dry_run=dry_run, batch_size=batch_size, stop_after=limit, actor="cli"),
                stock=container.stock,
                progress=progress,
                report_sink=dry_rows.extend if dry_run else None,
            )
    except DispatchError as exc:
        console.print("[red]import refused:[/red]", exc.message, soft_wrap=True)
        container.close()
        raise typer.Exit(2) from None
    try:
        seconds = time.perf_counter() - started
        if report is not None:
            rows = iter(dry_rows) if dry_run else _report_pages(container.uow, str(summary.run_id))
            write_report_csv(report, rows)
        if failed is not None:
            raw: Iterator[dict[str, Any]]
            if dry_run:
                raw = (item for row in dry_rows if row["outcome"] == "rejected" for item in row["raw"] or [])
            else:
                raw = failed_rows(container.uow, str(summary.run_id))
            written = write_source_file(loaded, failed, summary.header, raw, document=summary.document)
            console.print(f"{written} failed row(s) written to {failed}")
    finally:
        container.close()
    answer = {
        "run_id": summary.run_id,
        "status": summary.status + (" (dry run)" if dry_run else ""),
        "resumed_after": summary.resumed_after,
        "records": summary.records,
        "seconds": round(seconds, 2),
        **summary.counts,
    }
    typer.echo(json.dumps(answer, ensure_ascii=False))
