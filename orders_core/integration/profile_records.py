"""Another system's export read through a mapping profile *as it is*, for reconciliation (not for import).

The import applies the profile's exception strategies (de-duplication, merging lines, clamping, defaults for
bad values, holds) because it must land clean records. A reconciliation must see what the other system
holds, so this reader applies only the profile's *representation*: column names, value maps, alias look-ups,
number and date formats, time zone, GCJ-02 -> WGS-84, cases -> pieces. It de-duplicates nothing (a repeated
order is a ``duplicate_key`` to report) and keeps a value that does not parse as its raw text, which the
reconciliation then reports as ``unparsable`` instead of the reader guessing.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from geo.crs import gcj02_to_wgs84
from orders_core.integration.profile import FieldSpec, Profile, Strategy, UnitConversion
from orders_core.integration.reader import SourceRecord, get_path, open_source
from orders_core.integration.reconcile_rules import Unparsed
from orders_core.integration.values import ValueInvalid, is_missing, parse_field

#: Coordinate pairs converted together between GCJ-02 and WGS-84 when a profile's system uses GCJ-02.
COORDINATE_PAIRS: tuple[tuple[str, str], ...] = (
    ("delivery_lat", "delivery_lng"),
    ("lat", "lng"),
    ("sender_lat", "sender_lng"),
    ("receiver_lat", "receiver_lng"),
)
#: The nested list of a canonical order's lines (``sku``, ``qty`` in pieces, ``unit_price``).
ITEMS = "items"


def read_value(spec: FieldSpec, raw: Any, profile: Profile) -> Any:
    """A source cell as our typed value (aliases applied), None when absent, or :class:`Unparsed`."""
    if is_missing(raw):
        if spec.default is None:
            return None
        raw = spec.default
    try:
        value = parse_field(spec, raw, profile)
    except ValueInvalid as exc:
        return Unparsed(raw, str(exc))
    if spec.lookup is not None and isinstance(value, str):
        value = profile.aliases.get(spec.lookup, {}).get(value, value)
    return value


def _unit_rule(profile: Profile) -> UnitConversion | None:
    for rule in profile.rule(Strategy.UNIT_CONVERSION):
        return rule.unit
    return None


def _line_rows(profile: Profile, record: SourceRecord) -> list[dict[str, Any]]:
    """The rows holding a record's lines: its rows (CSV/XLSX), or the list at ``lines_path`` (JSON)."""
    if not profile.source.lines_path:
        return record.rows
    found = get_path(record.rows[0], ".".join(profile.source.lines_path))
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


def canonical_record(
    profile: Profile, record: SourceRecord, pack_sizes: dict[str, int] | None = None
) -> dict[str, Any]:
    """One source record as a canonical record: record-level fields, and ``items`` for line-level ones.

    ``pack_sizes`` (our SKU -> pieces per case) convert cases; the profile's own ``pack_sizes`` by default.
    """
    first = record.rows[0]
    out: dict[str, Any] = {"_record": record.number}
    for spec in profile.record_fields:
        out[spec.name] = read_value(spec, get_path(first, spec.column) if spec.column else None, profile)
    if profile.coordinates == "gcj02":
        for lat_name, lng_name in COORDINATE_PAIRS:
            lat, lng = out.get(lat_name), out.get(lng_name)
            if isinstance(lat, float) and isinstance(lng, float):
                out[lat_name], out[lng_name] = gcj02_to_wgs84(lat, lng)
    if profile.line_fields:
        unit = _unit_rule(profile)
        items = []
        for row in _line_rows(profile, record):
            item = {
                spec.name: read_value(spec, get_path(row, spec.column) if spec.column else None, profile)
                for spec in profile.line_fields
            }
            if unit is not None:
                item[unit.quantity_field] = _in_pieces(
                    item, unit, profile.pack_sizes if pack_sizes is None else pack_sizes
                )
            items.append(item)
        out[ITEMS] = items
    return out


def _in_pieces(item: dict[str, Any], unit: UnitConversion, pack_sizes: dict[str, int]) -> Any:
    """A line's quantity in pieces: cases times the SKU's pack size."""
    qty, word = item.get(unit.quantity_field), item.get(unit.unit_field)
    if not isinstance(qty, int) or isinstance(qty, Unparsed) or word is None or word in unit.piece_units:
        return qty
    if word in unit.case_units:
        size = pack_sizes.get(str(item.get("sku")))
        if size is None:
            return Unparsed(f"{qty} {word}", f"no pack size for SKU {item.get('sku')!r} to convert cases")
        return qty * size
    return Unparsed(f"{qty} {word}", f"unit {word!r} is neither a case {unit.case_units} nor a piece")


def canonical_records(
    profile: Profile, path: str | Path, *, pack_sizes: dict[str, int] | None = None
) -> Iterator[dict[str, Any]]:
    """Every record of an export, in file order, as canonical records (streamed)."""
    for record in open_source(profile, path).records():
        yield canonical_record(profile, record, pack_sizes)


def order_view(record: dict[str, Any]) -> dict[str, Any]:
    """An order record with the aggregates our side answers: distinct SKUs, units and value of its lines.

    A line whose quantity or price did not parse makes the aggregate it feeds unparsable (kept as text).
    """
    items = record.get(ITEMS)
    if items is None:
        return record
    skus = {str(item.get("sku")) for item in items if item.get("sku") is not None}
    units: Any = 0
    total: Any = Decimal(0)
    for item in items:
        qty, price = item.get("qty"), item.get("unit_price")
        if isinstance(qty, Unparsed) or qty is None:
            units = Unparsed(qty, "a line quantity does not parse")
        elif not isinstance(units, Unparsed):
            units += qty
        if isinstance(qty, Unparsed) or isinstance(price, Unparsed) or qty is None or price is None:
            total = Unparsed(f"{qty} x {price}", "a line quantity or price does not parse")
        elif not isinstance(total, Unparsed):
            total += Decimal(qty) * Decimal(price)
    return {**record, "lines": len(skus), "units": units, "total": total}
