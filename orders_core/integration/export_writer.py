"""Our canonical records written in a target system's format: the inverse of a mapping profile.

Each field goes back to the profile's column (a CSV/XLSX header, or a dotted key path in JSON), with our
codes turned back into the target's through the alias tables and value maps (first source code listed for
each of ours), times in the profile's zone and format, numbers with its separators, coordinates in GCJ-02
when the profile says the target uses them, quantities in pieces (the first piece word of a unit
conversion). Orders with lines are one row per line in CSV/XLSX (record fields repeated, as ERP exports do)
and a nested list at ``lines_path`` in JSON. What the import reads back through the same profile is what was
written (tests/orders_core/test_integration_export.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from geo.crs import wgs84_to_gcj02
from orders_core.integration.failed_file import write_source_file
from orders_core.integration.profile import FieldSpec, Profile, Strategy
from orders_core.integration.profile_records import COORDINATE_PAIRS, ITEMS

COORDINATE_PLACES = 6  # ~0.1 m


class ExportMapping:
    """A profile turned around: our value -> the target's text, per field."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self._aliases = {kind: _first_source(table) for kind, table in profile.aliases.items()}
        self._values = {spec.name: _first_source(spec.values) for spec in profile.fields}
        self._zone = timezone(timedelta(minutes=profile.utc_offset_minutes))
        self._json = profile.source.format in ("json", "jsonl")
        unit = next((rule.unit for rule in profile.rule(Strategy.UNIT_CONVERSION) if rule.unit), None)
        self.piece_word = unit.piece_units[0] if unit else None
        self.unit_field = unit.unit_field if unit else None

    def header(self) -> list[str]:
        """The target's columns in profile order (each once)."""
        return list(dict.fromkeys(spec.column for spec in self.profile.fields if spec.column is not None))

    def value(self, spec: FieldSpec, value: Any) -> Any:
        """One of our values as the target writes it (None stays None: an empty cell)."""
        if spec.name == self.unit_field and self.piece_word is not None:
            value = self.piece_word  # quantities are exported in pieces
        if value is None:
            return None
        if spec.lookup is not None:
            value = self._aliases.get(spec.lookup, {}).get(str(value), value)
        mapped = self._values.get(spec.name, {})
        if mapped:
            text = str(value).lower() if isinstance(value, bool) else str(value)
            if text in mapped:
                return mapped[text]
        return self._typed(spec, value)

    def _typed(self, spec: FieldSpec, value: Any) -> Any:
        kind = spec.type
        if kind == "datetime" and isinstance(value, datetime):
            return value.astimezone(self._zone).strftime(spec.format or self.profile.datetime_format)
        if kind == "date" and isinstance(value, date | datetime):
            day = value.astimezone(self._zone).date() if isinstance(value, datetime) else value
            return day.strftime(spec.format or self.profile.date_format)
        if kind == "datetime" and isinstance(value, date):
            return value.strftime(spec.format or self.profile.date_format)
        if kind == "boolean":
            return bool(value) if self._json else ("true" if value else "false")
        if kind == "integer":
            return int(value) if self._json else str(int(value))
        if kind == "float":
            number = round(float(value), COORDINATE_PLACES)
            if self._json and self.profile.numbers.decimal == ".":
                return number
            return self._number(Decimal(repr(number)), grouped=False)
        if kind == "decimal":
            return self._number(Decimal(value), grouped=True)
        return str(value)

    def _number(self, value: Decimal, *, grouped: bool) -> str:
        """A decimal written with the profile's separators (thousands grouped for amounts)."""
        numbers = self.profile.numbers
        text = f"{value:,f}" if grouped and numbers.thousands else f"{value:f}"
        return text.replace(",", "\x00").replace(".", numbers.decimal).replace("\x00", numbers.thousands)

    def rows(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        """One canonical record as the target's raw rows (one per line for CSV/XLSX, one nested for JSON)."""
        record = self._coordinates(record)
        top: dict[str, Any] = {}
        for spec in self.profile.record_fields:
            if spec.column is not None:
                _put(top, spec.column, self.value(spec, record.get(spec.name)), nested=self._json)
        lines = [
            {
                spec.column: self.value(spec, item.get(spec.name))
                for spec in self.profile.line_fields
                if spec.column is not None
            }
            for item in record.get(ITEMS) or []
        ]
        if self._json and self.profile.source.lines_path:
            nested_lines = []
            for line in lines:
                nested: dict[str, Any] = {}
                for column, value in line.items():
                    _put(nested, column, value, nested=True)
                nested_lines.append(nested)
            _put(top, ".".join(self.profile.source.lines_path), nested_lines, nested=True)
            return [top]
        if not lines:
            return [top]
        return [{**top, **line} for line in lines]

    def _coordinates(self, record: dict[str, Any]) -> dict[str, Any]:
        if self.profile.coordinates != "gcj02":
            return record
        converted = dict(record)
        for lat_name, lng_name in COORDINATE_PAIRS:
            lat, lng = record.get(lat_name), record.get(lng_name)
            if isinstance(lat, float | int) and isinstance(lng, float | int):
                converted[lat_name], converted[lng_name] = wgs84_to_gcj02(float(lat), float(lng))
        return converted


def _first_source(table: dict[str, str]) -> dict[str, str]:
    """A ``source -> ours`` table inverted, keeping the first source value listed for each of ours."""
    inverse: dict[str, str] = {}
    for source, ours in table.items():
        inverse.setdefault(ours, source)
    return inverse


def _put(row: dict[str, Any], column: str, value: Any, *, nested: bool) -> None:
    """Set a cell, or a dotted key path inside nested objects (JSON)."""
    if not nested or "." not in column:
        row[column] = value
        return
    *parents, last = column.split(".")
    node = row
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def export_rows(profile: Profile, records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every record's raw rows in the target's format, streamed."""
    mapping = ExportMapping(profile)
    for record in records:
        yield from mapping.rows(record)


def write_export(profile: Profile, records: Iterable[dict[str, Any]], path: str | Path) -> int:
    """Write ``records`` to ``path`` in the profile's format, encoding and layout; answers the rows written."""
    header = ExportMapping(profile).header()
    return write_source_file(profile, path, header, export_rows(profile, records))
