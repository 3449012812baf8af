"""Write records back in their source format (same columns, encoding, delimiter, envelope) so that the
rejected ones can be fixed in the tool they came from and imported again."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from orders_core.integration.profile import Profile
from orders_core.integration.values import format_for_source


def write_source_file(
    profile: Profile, path: str | Path, header: list[str], rows: Iterable[dict[str, Any]], document: Any = None
) -> int:
    """Write ``rows`` (raw source rows) to ``path`` in the profile's source format; answers the row count."""
    fmt = profile.source.format
    target = Path(path)
    if fmt == "csv":
        return _write_csv(profile, target, header, rows)
    if fmt == "xlsx":
        return _write_xlsx(profile, target, header, rows)
    if fmt == "jsonl":
        count = 0
        with target.open("w", encoding=profile.source.encoding, newline="\n") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
                count += 1
        return count
    items = list(rows)
    envelope = _with_records(document, profile.source.records_path, items)
    target.write_text(json.dumps(envelope, ensure_ascii=False, default=str, indent=1), encoding=profile.source.encoding)
    return len(items)


def _write_csv(profile: Profile, path: Path, header: list[str], rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    with path.open("w", encoding=profile.source.encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=profile.source.delimiter)
        for _ in range(profile.source.header_row - 1):
            writer.writerow([])
        writer.writerow(header)
        for row in rows:
            writer.writerow([format_for_source(row.get(column)) for column in header])
            count += 1
    return count


def _write_xlsx(profile: Profile, path: Path, header: list[str], rows: Iterable[dict[str, Any]]) -> int:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(profile.source.sheet or "Sheet1")
    for _ in range(profile.source.header_row - 1):
        sheet.append([])
    sheet.append(header)
    count = 0
    for row in rows:
        sheet.append([row.get(column) for column in header])
        count += 1
    workbook.save(path)
    return count


def _with_records(document: Any, records_path: tuple[str, ...], items: list[Any]) -> Any:
    """The source document's envelope with its record list replaced by ``items``."""
    if not records_path:
        return items
    envelope: dict[str, Any] = dict(document) if isinstance(document, dict) else {}
    node = envelope
    for part in records_path[:-1]:
        child = node.get(part)
        node[part] = dict(child) if isinstance(child, dict) else {}
        node = node[part]
    node[records_path[-1]] = items
    return envelope
