"""A source record -> a mapped record, or the reason it is held, deferred or rejected. Pure: no I/O.

The master data a record refers to is given as a ``MasterIndex`` snapshot (the importer reads it once per
run and adds what the run itself creates). Every strategy of the profile runs here on the whole record
before anything is written, so a record is judged whole: the importer then writes all of it or none.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from shapely.geometry import Point
from shapely.prepared import PreparedGeometry

from geo.crs import gcj02_to_wgs84_many
from geo.distance import haversine_m
from orders_core.integration.profile import FieldSpec, Profile, Strategy
from orders_core.integration.reader import SourceRecord, get_path
from orders_core.integration.values import ValueInvalid, field_parser, parse_field


class Outcome(StrEnum):
    """What became of a record."""

    ACCEPTED = "accepted"
    HELD = "held"
    REJECTED = "rejected"
    DEFERRED = "deferred"
    DUPLICATE = "duplicate"


#: The desk exception kind of a record held for review (orders_core.orders exceptions table).
IMPORT_REVIEW = "import_review"
#: The desk exception kind of a delivery point far from the customer's registered location (the delay
#: taxonomy's ``address_far_from_customer``, orders_core.orders.delays).
ADDRESS_FAR = "address_far_from_customer"
ADDRESS_OUTSIDE_COVERAGE = "address_outside_coverage"


@dataclass
class MasterIndex:
    """The master data a run checks records against (a snapshot; the run adds what it creates)."""

    customers: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    sku_prices: dict[str, Decimal] = field(default_factory=dict)
    warehouses: set[str] = field(default_factory=set)
    pack_sizes: dict[str, int] = field(default_factory=dict)
    #: Every active carrier's coverage; None when some active carrier covers everywhere (or none is known).
    coverage: PreparedGeometry | None = None

    def knows(self, kind: str, code: str) -> bool:
        """Whether master data of ``kind`` (customer, sku, warehouse) named ``code`` exists."""
        if kind == "customer":
            return code in self.customers
        if kind == "sku":
            return code in self.sku_prices
        return code in self.warehouses


@dataclass
class MappedLine:
    """An order line after mapping, aliases, unit conversion and clamping."""

    sku: str
    qty: int
    unit_price: Decimal | None
    unit: str | None = None


@dataclass
class MappedRecord:
    """A record's target values (record level) and, for orders, its lines."""

    values: dict[str, Any]
    lines: list[MappedLine] = field(default_factory=list)


@dataclass
class Verdict:
    """The judgement of one record before writing: outcome, reasons, warnings and the mapped values."""

    record: SourceRecord
    source_key: str
    outcome: Outcome
    mapped: MappedRecord | None = None
    reason: str | None = None
    warnings: list[str] = field(default_factory=list)
    waiting_for: list[str] = field(default_factory=list)
    #: Held records that still form a whole order are stored as an order on hold with this desk exception.
    exception_kind: str | None = None
    exception_details: dict[str, Any] = field(default_factory=dict)
    #: The rows the writer stores if the record lands as an accepted order, built and encoded ahead by
    #: the mapping worker (``importer._Importer.map_ahead``); None: built when written.
    rows: Any = None


class _Problems:
    """What went wrong with a record, by the strategy each problem calls for."""

    def __init__(self) -> None:
        self.rejects: list[str] = []
        self.holds: list[str] = []
        self.defers: list[str] = []
        self.waiting_for: list[str] = []
        self.warnings: list[str] = []

    def act(self, strategy: Strategy, message: str) -> None:
        if strategy is Strategy.HOLD_FOR_REVIEW:
            self.holds.append(message)
        elif strategy is Strategy.DEFER_MISSING_MASTER:
            self.defers.append(message)
        else:
            self.rejects.append(message)


def source_key_of(profile: Profile, record: SourceRecord) -> str:
    """The record's source key: the raw values of the key fields' columns, joined by '|'."""
    row = record.rows[0]
    parts = []
    for name in profile.key:
        spec = profile.field(name)
        raw = get_path(row, spec.column) if spec is not None and spec.column else None
        parts.append("" if raw is None else str(raw).strip())
    return "|".join(parts)


def map_record(profile: Profile, record: SourceRecord, master: MasterIndex) -> Verdict:
    """Judge one record whole: map its fields, apply every strategy of the profile, answer the verdict."""
    return map_records(profile, [record], master)[0]


def map_records(profile: Profile, records: list[SourceRecord], master: MasterIndex) -> list[Verdict]:
    """Judge each record whole (as ``map_record``); the GCJ-02 points of all of them are converted at once
    (numpy over the batch: the per-point iteration was a fifth of the mapping time)."""
    record_specs = [(spec, _parser(profile, spec)) for spec in profile.record_fields]
    line_specs = [(spec, _parser(profile, spec)) for spec in profile.line_fields]
    started = [_begin(profile, record, record_specs, line_specs) for record in records]
    if profile.coordinates == "gcj02":
        _convert_all([state for state in started if isinstance(state, _Started)])
    return [state if isinstance(state, Verdict) else _finish(profile, state, master) for state in started]


@dataclass
class _Started:
    """A record whose fields are parsed, waiting for its coordinates to be converted and its checks."""

    verdict: Verdict
    problems: _Problems
    values: dict[str, Any]
    lines: list[MappedLine]
    points: list[tuple[str, str]]


_Specs = list[tuple[FieldSpec, Callable[[Any], Any]]]
"""Fields with their compiled parsers (looked up once per batch)."""


def _begin(profile: Profile, record: SourceRecord, record_specs: _Specs, line_specs: _Specs) -> Verdict | _Started:
    key = source_key_of(profile, record)
    verdict = Verdict(record=record, source_key=key, outcome=Outcome.ACCEPTED)
    if not key.strip("|"):
        verdict.outcome, verdict.reason = (
            Outcome.REJECTED,
            "the record has no source key (" + ", ".join(profile.key) + ")",
        )
        return verdict
    problems = _Problems()
    first = record.rows[0]
    values = {spec.name: _field_value(profile, spec, parse, first, problems) for spec, parse in record_specs}
    lines: list[MappedLine] = []
    if profile.target == "order":
        lines = _lines(profile, record, line_specs, problems)
    points = _check_coordinates(values, problems)
    return _Started(verdict, problems, values, lines, points)


def _convert_all(started: list[_Started]) -> None:
    """Every checked point of the records GCJ-02 -> WGS-84 in one vectorised call."""
    where = [(state.values, lat_name, lng_name) for state in started for lat_name, lng_name in state.points]
    if not where:
        return
    lats, lngs = gcj02_to_wgs84_many([v[lat] for v, lat, _ in where], [v[lng] for v, _, lng in where])
    for (values, lat_name, lng_name), lat, lng in zip(where, lats.tolist(), lngs.tolist(), strict=True):
        values[lat_name], values[lng_name] = lat, lng


def _finish(profile: Profile, state: _Started, master: MasterIndex) -> Verdict:
    verdict, problems, values, lines = state.verdict, state.problems, state.values, state.lines
    _lookups(profile, values, lines, master, problems)
    mapped = MappedRecord(values=values, lines=lines)
    if not problems.rejects:
        _apply_rules(profile, mapped, master, problems, verdict)
    verdict.warnings = problems.warnings
    verdict.mapped = mapped
    if problems.rejects:
        verdict.outcome, verdict.reason = Outcome.REJECTED, "; ".join(problems.rejects)
    elif problems.holds:
        verdict.outcome, verdict.reason = Outcome.HELD, "; ".join(problems.holds)
        verdict.waiting_for = problems.waiting_for
    elif problems.defers:
        verdict.outcome, verdict.reason = Outcome.DEFERRED, "; ".join(problems.defers)
        verdict.waiting_for = problems.waiting_for
    elif verdict.exception_kind is not None:
        verdict.outcome = Outcome.HELD
        verdict.reason = verdict.exception_details.get("reason")
    if verdict.outcome is Outcome.HELD and verdict.exception_kind is None:
        verdict.exception_kind = IMPORT_REVIEW
        verdict.exception_details = {"reason": verdict.reason}
    return verdict


def order_is_whole(verdict: Verdict, master: MasterIndex) -> bool:
    """Whether a held order record still forms a whole order (known customer and SKUs, quantities), so it
    can be stored as an order on hold with its desk exception rather than only in the held list."""
    mapped = verdict.mapped
    if mapped is None or verdict.waiting_for:
        return False
    values = mapped.values
    if values.get("customer_id") not in master.customers or not mapped.lines:
        return False
    if values.get("delivery_lat") is None and master.customers[values["customer_id"]][0] is None:
        return False
    return all(line.sku in master.sku_prices and isinstance(line.qty, int) and line.qty > 0 for line in mapped.lines)


# ---- fields -----------------------------------------------------------------------------------------


_PARSERS: dict[int, tuple[FieldSpec, Callable[[Any], Any]]] = {}


def _parser(profile: Profile, spec: FieldSpec) -> Callable[[Any], Any]:
    """The compiled parser of a field (kept with the spec it was built for: ids of dead specs are reused)."""
    cached = _PARSERS.get(id(spec))
    if cached is None or cached[0] is not spec:
        if len(_PARSERS) > 10_000:
            _PARSERS.clear()
        cached = _PARSERS[id(spec)] = (spec, field_parser(spec, profile))
    return cached[1]


def _field_value(
    profile: Profile, spec: FieldSpec, parse: Callable[[Any], Any], row: dict[str, Any], problems: _Problems
) -> Any:
    column = spec.column
    raw = None if column is None else row[column] if column in row else get_path(row, column)
    if isinstance(raw, str):
        raw = raw.strip()
    if raw is None or raw == "":
        if spec.on_missing is Strategy.DEFAULT and spec.default is not None:
            if column is not None:
                problems.warnings.append(f"{spec.name}: empty, default {spec.default!r} used")
            return _parse_default(profile, spec, problems)
        if not spec.required:
            return None
        problems.act(spec.on_missing, f"{spec.name}: no value in {column!r}")
        return None
    try:
        return parse(raw)
    except ValueInvalid as exc:
        if spec.on_invalid is Strategy.DEFAULT and spec.default is not None:
            problems.warnings.append(f"{spec.name}: {exc}; default {spec.default!r} used")
            return _parse_default(profile, spec, problems)
        problems.act(spec.on_invalid, f"{spec.name}: {exc}")
        return None


def _parse_default(profile: Profile, spec: FieldSpec, problems: _Problems) -> Any:
    try:
        return parse_field(spec, spec.default, profile)
    except ValueInvalid as exc:
        problems.rejects.append(f"{spec.name}: the profile's default is invalid: {exc}")
        return None


def _lines(profile: Profile, record: SourceRecord, specs: _Specs, problems: _Problems) -> list[MappedLine]:
    if profile.source.lines_path:
        items = get_path(record.rows[0], ".".join(profile.source.lines_path))
        rows = [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
    else:
        rows = record.rows
    if not rows:
        problems.rejects.append("the order has no lines")
        return []
    lines = []
    for row in rows:
        values = {spec.name: _field_value(profile, spec, parse, row, problems) for spec, parse in specs}
        lines.append(
            MappedLine(
                sku=values.get("sku") or "",
                qty=values.get("qty") or 0,
                unit_price=values.get("unit_price"),
                unit=values.get("unit"),
            )
        )
    return lines


def _check_coordinates(values: dict[str, Any], problems: _Problems) -> list[tuple[str, str]]:
    """The record's (lat, lng) field pairs that hold a coordinate (to convert); a half or impossible
    pair rejects the record."""
    points = []
    for lat_name, lng_name in (("delivery_lat", "delivery_lng"), ("lat", "lng")):
        lat, lng = values.get(lat_name), values.get(lng_name)
        if lat is None or lng is None:
            if (lat is None) != (lng is None) and (lat_name in values and lng_name in values):
                problems.rejects.append(f"{lat_name}/{lng_name}: one coordinate without the other")
            continue
        if not (math.isfinite(lat) and -90 <= lat <= 90 and math.isfinite(lng) and -180 <= lng <= 180):
            problems.rejects.append(f"{lat_name}/{lng_name}: ({lat}, {lng}) is not a coordinate")
            continue
        points.append((lat_name, lng_name))
    return points


def _lookups(
    profile: Profile, values: dict[str, Any], lines: list[MappedLine], master: MasterIndex, problems: _Problems
) -> None:
    """``alias_lookup`` then the master-data check; an unknown code takes the field's ``on_unknown``."""
    for spec in profile.fields:
        if spec.lookup is None:
            continue
        aliases = profile.aliases.get(spec.lookup, {})
        if spec.level == "record":
            code = values.get(spec.name)
            if code is None:
                continue
            values[spec.name] = _known(spec, aliases.get(code, code), master, problems)
        else:
            for line in lines:
                if line.sku:
                    line.sku = _known(spec, aliases.get(line.sku, line.sku), master, problems)


def _known(spec: FieldSpec, code: str, master: MasterIndex, problems: _Problems) -> str:
    if not master.knows(str(spec.lookup), code):
        message = f"{spec.name}: unknown {spec.lookup} {code!r}"
        problems.act(spec.on_unknown, message)
        if spec.on_unknown is not Strategy.REJECT:
            waiting = f"{spec.lookup}:{code}"
            if waiting not in problems.waiting_for:
                problems.waiting_for.append(waiting)
    return code


# ---- rules ------------------------------------------------------------------------------------------


def _apply_rules(
    profile: Profile, mapped: MappedRecord, master: MasterIndex, problems: _Problems, verdict: Verdict
) -> None:
    for rule in profile.rules:
        if rule.strategy is Strategy.UNIT_CONVERSION and rule.unit is not None:
            _convert_units(profile, mapped, master, rule.unit.quantity_field, rule.unit, problems)
        elif rule.strategy is Strategy.CLAMP:
            _clamp(mapped, str(rule.field), rule.minimum, rule.maximum, problems)
        elif rule.strategy is Strategy.MERGE_SAME_SKU:
            _merge_same_sku(mapped, problems)
        elif rule.strategy is Strategy.GEOCODE_CHECK:
            _geocode_check(mapped, master, rule.max_distance_m, rule.check_coverage, rule.action, problems, verdict)


def _convert_units(
    profile: Profile, mapped: MappedRecord, master: MasterIndex, quantity: str, unit: Any, problems: _Problems
) -> None:
    """``unit_conversion``: cases -> pieces by the SKU's pack size (profile first, then master data)."""
    holders: list[tuple[dict[str, Any], str]]
    if profile.target == "order":
        holders = [(line.__dict__, line.sku) for line in mapped.lines]
        quantity = "qty"
    else:
        holders = [(mapped.values, str(mapped.values.get("sku") or ""))]
    for holder, sku in holders:
        word = holder.get(unit.unit_field)
        amount = holder.get(quantity)
        if word is None or amount is None:
            continue
        word = str(word).strip()
        if word in unit.piece_units:
            continue
        if word not in unit.case_units:
            problems.act(unit.on_unknown_unit, f"{unit.unit_field}: unknown unit {word!r} for {sku}")
            continue
        size = profile.pack_sizes.get(sku) or master.pack_sizes.get(sku)
        if size is None:
            problems.act(unit.on_unknown_unit, f"{quantity}: {amount} {word} of {sku} but its pack size is unknown")
            continue
        holder[quantity] = amount * size
        if holder.get("unit_price") is not None:  # a price per case becomes a price per piece
            holder["unit_price"] = (holder["unit_price"] / size).quantize(Decimal("0.0001"))
        problems.warnings.append(f"{quantity}: {amount} {word} of {sku} = {amount * size} pieces ({size}/case)")


def _clamp(mapped: MappedRecord, name: str, low: float | None, high: float | None, problems: _Problems) -> None:
    """``clamp``: a value outside the bound becomes the bound, with a warning naming the original."""
    holders = [line.__dict__ for line in mapped.lines] if name in ("qty", "unit_price") else [mapped.values]
    for holder in holders:
        value = holder.get(name)
        if value is None:
            continue
        bound = None
        if low is not None and value < low:
            bound = low
        elif high is not None and value > high:
            bound = high
        if bound is None:
            continue
        clamped = type(value)(bound) if not isinstance(value, Decimal) else Decimal(str(bound))
        problems.warnings.append(f"{name}: {value} clamped to {clamped}")
        holder[name] = clamped


def _merge_same_sku(mapped: MappedRecord, problems: _Problems) -> None:
    """``merge_same_sku``: one line per SKU, quantities added; different prices for one SKU reject."""
    merged: dict[str, MappedLine] = {}
    for line in mapped.lines:
        seen = merged.get(line.sku)
        if seen is None:
            merged[line.sku] = MappedLine(line.sku, line.qty, line.unit_price)
            continue
        if seen.unit_price is not None and line.unit_price is not None and seen.unit_price != line.unit_price:
            problems.rejects.append(f"sku {line.sku}: lines at different prices ({seen.unit_price}, {line.unit_price})")
            return
        seen.qty += line.qty
        seen.unit_price = seen.unit_price if seen.unit_price is not None else line.unit_price
    if len(merged) < len(mapped.lines):
        problems.warnings.append(f"{len(mapped.lines)} lines merged into {len(merged)} (same SKU)")
        mapped.lines = list(merged.values())


def _geocode_check(
    mapped: MappedRecord,
    master: MasterIndex,
    max_distance_m: float | None,
    check_coverage: bool,
    action: Strategy,
    problems: _Problems,
    verdict: Verdict,
) -> None:
    """``geocode_check``: far from the customer's registered location, or outside every carrier's coverage."""
    lat, lng = mapped.values.get("delivery_lat"), mapped.values.get("delivery_lng")
    if lat is None or lng is None:
        return
    customer = master.customers.get(str(mapped.values.get("customer_id")))
    message = None
    kind = ADDRESS_FAR
    details: dict[str, Any] = {"delivery": {"lat": lat, "lng": lng}}
    if max_distance_m is not None and customer is not None and customer[0] is not None and customer[1] is not None:
        distance = haversine_m(lat, lng, customer[0], customer[1])
        if distance > max_distance_m:
            message = (
                f"delivery point is {distance / 1000:.1f} km from the customer's registered location"
                f" (more than {max_distance_m / 1000:.1f} km)"
            )
            details |= {"distance_m": round(distance), "registered": {"lat": customer[0], "lng": customer[1]}}
    coverage = master.coverage if check_coverage else None
    if message is None and coverage is not None and not coverage.contains(Point(lng, lat)):
        message = "delivery point is outside every carrier's coverage"
        kind = ADDRESS_OUTSIDE_COVERAGE
    if message is None:
        return
    if action is Strategy.REJECT:
        problems.rejects.append(message)
        return
    verdict.exception_kind = kind
    verdict.exception_details = details | {"reason": message}
