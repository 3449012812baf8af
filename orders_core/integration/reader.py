"""Stream a source file's records: CSV row by row, XLSX in openpyxl's read-only mode, JSONL line by line.

JSON (one document) is read whole with ``json.load``: ``ijson`` is not in the environment, so a large JSON
export should be given as JSONL. Rows that share the record key and follow each other form one record
when the profile says ``group_rows`` (ERP exports write one row per order line).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from foundation.errors import InvalidInput
from orders_core.integration.profile import Profile

_CHUNK = 1 << 20


class SourceUnreadable(InvalidInput):
    """The file cannot be read as the profile says (wrong encoding, not JSON, missing sheet or columns)."""

    code = "unreadable_source"


@dataclass
class SourceRecord:
    """One record as read: its 1-based number in the file and its raw rows (header -> cell value)."""

    number: int
    rows: list[dict[str, Any]]


@dataclass
class SourceFile:
    """An open source: its header (csv/xlsx), its records as a stream, and how far the stream has got."""

    header: list[str] = field(default_factory=list)
    total: int | None = None  # bytes (csv, jsonl) or records (json, xlsx rows), if known
    done: int = 0
    document: Any = None  # json: the whole document (the failed-records file keeps its envelope)
    _records: Iterator[SourceRecord] | None = None

    def records(self) -> Iterator[SourceRecord]:
        """The records in file order (an iterator: read once)."""
        assert self._records is not None
        return self._records


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file, read in chunks (a run is resumed only on the very same bytes)."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def open_source(profile: Profile, path: str | Path) -> SourceFile:
    """Open ``path`` as the profile's source format; records are read lazily (constant memory)."""
    fmt = profile.source.format
    if fmt == "csv":
        return _open_csv(profile, Path(path))
    if fmt == "xlsx":
        return _open_xlsx(profile, Path(path))
    if fmt == "jsonl":
        return _open_jsonl(profile, Path(path))
    return _open_json(profile, Path(path))


def key_columns(profile: Profile) -> list[str]:
    """The source columns (or key paths) of the record key's fields."""
    columns = []
    for name in profile.key:
        spec = profile.field(name)
        if spec is not None and spec.column is not None:
            columns.append(spec.column)
    return columns


def get_path(row: dict[str, Any], column: str) -> Any:
    """A CSV/XLSX cell by header, or a JSON value by dotted key path ('buyer.code')."""
    if column in row:
        return row[column]
    value: Any = row
    for part in column.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _grouped(profile: Profile, rows: Iterator[dict[str, Any]]) -> Iterator[SourceRecord]:
    """Records from rows: consecutive rows with the same key are one record when ``group_rows``."""
    columns = key_columns(profile)
    number = 0
    current: list[dict[str, Any]] = []
    current_key: tuple[str, ...] | None = None
    for row in rows:
        if not profile.group_rows:
            number += 1
            yield SourceRecord(number, [row])
            continue
        key = tuple(str(get_path(row, column) or "").strip() for column in columns)
        if current and key == current_key:
            current.append(row)
            continue
        if current:
            number += 1
            yield SourceRecord(number, current)
        current, current_key = [row], key
    if current:
        yield SourceRecord(number + 1, current)


def _open_csv(profile: Profile, path: Path) -> SourceFile:
    source = SourceFile(total=path.stat().st_size)

    def rows() -> Iterator[dict[str, Any]]:
        with path.open("rb") as raw:
            text = io.TextIOWrapper(raw, encoding=profile.source.encoding, newline="")
            reader = csv.reader(text, delimiter=profile.source.delimiter)
            try:
                for _ in range(profile.source.header_row - 1):
                    next(reader, None)
                header = next(reader, None)
                if header is None:
                    return
                source.header[:] = [cell.strip() for cell in header]
                _check_columns(profile, source.header)
                for cells in reader:
                    if not any(cell.strip() for cell in cells):
                        continue
                    source.done = raw.tell()
                    yield dict(zip(source.header, cells, strict=False))
            except UnicodeDecodeError as exc:
                raise SourceUnreadable(
                    f"the file is not {profile.source.encoding} (byte {exc.start} of a chunk: {exc.reason})"
                ) from None
            except csv.Error as exc:
                raise SourceUnreadable(f"not a valid CSV file: {exc}") from None
            source.done = source.total or 0

    source._records = _grouped(profile, rows())
    return source


def _open_xlsx(profile: Profile, path: Path) -> SourceFile:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile, KeyError and its own errors for a bad file
        raise SourceUnreadable(f"not an xlsx workbook: {exc}") from None
    sheet_name = profile.source.sheet
    if sheet_name is not None and sheet_name not in workbook.sheetnames:
        workbook.close()
        raise SourceUnreadable(f"the workbook has no sheet {sheet_name!r} (it has {workbook.sheetnames})")
    sheet = workbook[sheet_name] if sheet_name else workbook.worksheets[0]
    source = SourceFile(total=sheet.max_row)

    def rows() -> Iterator[dict[str, Any]]:
        try:
            iterator = sheet.iter_rows(values_only=True)  # type: ignore[union-attr]
            for _ in range(profile.source.header_row - 1):
                next(iterator, None)
            header = next(iterator, None)
            if header is None:
                return
            source.header[:] = ["" if cell is None else str(cell).strip() for cell in header]
            _check_columns(profile, source.header)
            for number, cells in enumerate(iterator, start=profile.source.header_row + 1):
                if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells):
                    continue
                source.done = number
                yield dict(zip(source.header, cells, strict=False))
        finally:
            workbook.close()

    source._records = _grouped(profile, rows())
    return source


def _open_jsonl(profile: Profile, path: Path) -> SourceFile:
    source = SourceFile(total=path.stat().st_size)

    def rows() -> Iterator[dict[str, Any]]:
        with path.open("rb") as raw:
            for number, line in enumerate(raw, start=1):
                source.done += len(line)
                if not line.strip():
                    continue
                yield _json_object(line, profile, f"line {number}")

    source._records = _grouped(profile, rows())
    return source


def _open_json(profile: Profile, path: Path) -> SourceFile:
    try:
        with path.open("rb") as raw:
            document = json.loads(raw.read().decode(profile.source.encoding))
    except UnicodeDecodeError as exc:
        raise SourceUnreadable(f"the file is not {profile.source.encoding}: {exc.reason}") from None
    except json.JSONDecodeError as exc:
        raise SourceUnreadable(f"not valid JSON: {exc}") from None
    records: Any = document
    for part in profile.source.records_path:
        if not isinstance(records, dict) or part not in records:
            raise SourceUnreadable(f"the JSON has no {'.'.join(profile.source.records_path)!r}")
        records = records[part]
    if not isinstance(records, list):
        raise SourceUnreadable("the records are not a JSON list")
    source = SourceFile(total=len(records), document=document)

    def rows() -> Iterator[dict[str, Any]]:
        for index, item in enumerate(records, start=1):
            source.done = index
            yield item if isinstance(item, dict) else {"": item}

    source._records = _grouped(profile, rows())
    return source


def _json_object(line: bytes, profile: Profile, where: str) -> dict[str, Any]:
    try:
        value = json.loads(line.decode(profile.source.encoding))
    except UnicodeDecodeError as exc:
        raise SourceUnreadable(f"{where} is not {profile.source.encoding}: {exc.reason}") from None
    except json.JSONDecodeError as exc:
        raise SourceUnreadable(f"{where} is not valid JSON: {exc}") from None
    return value if isinstance(value, dict) else {"": value}


def _check_columns(profile: Profile, header: list[str]) -> None:
    """A CSV/XLSX without a mapped column is refused before any record (the wrong file or encoding)."""
    missing = [
        spec.column
        for spec in profile.fields
        if spec.column is not None and spec.column not in header and spec.required and spec.default is None
    ]
    if missing:
        raise SourceUnreadable(
            f"the file has no column {', '.join(repr(c) for c in missing)} "
            f"(read as {profile.source.encoding}; its header is {header[:12]})"
        )
