"""Load a mapping profile file and validate it into a ``Profile``; every problem names the file and line.

All problems of a file are collected and raised together as ``ProfileInvalid`` so that a person fixes a
profile in one pass. The schema is documented in docs/MAPPING_PROFILES.md.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import yaml

from orders_core.integration.profile import (
    CRS_NAMES,
    ENCODINGS,
    FIELD_ACTIONS,
    LOOKUP_KINDS,
    ORDER_MODES,
    ORDER_STATUSES,
    REQUIRED_FIELDS,
    RULE_ACTIONS,
    RULE_STRATEGIES,
    SOURCE_FORMATS,
    TARGET_ENTITIES,
    TARGET_FIELDS,
    UNKNOWN_CODE_ACTIONS,
    FieldSpec,
    NumberFormat,
    Profile,
    ProfileInvalid,
    ProfileIssue,
    Rule,
    SourceSpec,
    Strategy,
    UnitConversion,
)
from orders_core.integration.profile_yaml import DuplicateKey, LocatedDict, LocatedList, load_located

TOP_KEYS = {
    "profile",
    "system",
    "target",
    "mode",
    "source",
    "key",
    "group_rows",
    "formats",
    "coordinates",
    "fields",
    "aliases",
    "pack_sizes",
    "rules",
}
SOURCE_KEYS = {"format", "encoding", "delimiter", "sheet", "header_row", "records_path", "lines_path"}
FORMAT_KEYS = {"date", "datetime", "utc_offset", "thousands", "decimal"}
FIELD_KEYS = {"column", "required", "default", "format", "values", "on_missing", "on_invalid", "on_unknown"}
RULE_KEYS = {
    "strategy",
    "field",
    "min",
    "max",
    "max_distance_m",
    "coverage",
    "action",
    "unit_field",
    "case",
    "piece",
    "on_unknown_unit",
}
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
_STRFTIME_DIRECTIVE = re.compile(r"%[a-zA-Z]")


class _Issues:
    """Collects problems of one file."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.items: list[ProfileIssue] = []

    def add(self, line: int, message: str) -> None:
        self.items.append(ProfileIssue(self.file, line, message))


def load_profile(path: str | Path) -> Profile:
    """Read and validate a profile file (raises ``ProfileInvalid`` naming the file and line of each problem)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileInvalid([ProfileIssue(str(file), 0, f"cannot read the profile: {exc}")]) from exc
    return parse_profile(text, file=str(file), base_dir=file.parent)


def parse_profile(text: str, *, file: str = "<profile>", base_dir: Path | None = None) -> Profile:
    """Validate profile YAML text; ``base_dir`` resolves an alias file named in it."""
    issues = _Issues(file)
    try:
        data = load_located(text)
    except DuplicateKey as exc:
        raise ProfileInvalid([ProfileIssue(file, exc.line, str(exc))]) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise ProfileInvalid([ProfileIssue(file, line, f"not valid YAML: {exc.problem or exc}")]) from exc
    except yaml.YAMLError as exc:
        raise ProfileInvalid([ProfileIssue(file, 0, f"not valid YAML: {exc}")]) from exc
    if not isinstance(data, LocatedDict):
        raise ProfileInvalid([ProfileIssue(file, 1, "a profile is a mapping of keys (profile, target, source...)")])
    profile = _validate(data, issues, base_dir)
    if issues.items or profile is None:
        raise ProfileInvalid(issues.items)
    return profile


def _validate(data: LocatedDict, issues: _Issues, base_dir: Path | None) -> Profile | None:
    _unknown_keys(data, TOP_KEYS, issues, "profile")
    name = _string(data, "profile", issues, required=True) or "?"
    system = _string(data, "system", issues) or name
    target = _choice(data, "target", TARGET_ENTITIES, issues, required=True) or "order"
    mode = _choice(data, "mode", ORDER_MODES, issues) or "pipeline"
    if "mode" in data and target != "order":
        issues.add(data.line_of("mode"), "mode applies to order profiles only")
    source = _source(data, issues)
    formats = _formats(data, issues)
    coordinates = _choice(data, "coordinates", CRS_NAMES, issues) or "wgs84"
    fields = _fields(data, target, issues)
    names = {spec.name for spec in fields}
    key = _key(data, names, issues)
    group_rows = _boolean(data, "group_rows", issues, default=False)
    if group_rows and source.format in ("json", "jsonl") and source.lines_path:
        issues.add(data.line_of("group_rows"), "group_rows and source.lines_path are two ways of grouping: use one")
    aliases = _aliases(data, issues, base_dir)
    pack_sizes = _pack_sizes(data, issues)
    rules = _rules(data, target, names, issues)
    for required in REQUIRED_FIELDS[target]:
        spec = next((spec for spec in fields if spec.name == required), None)
        if spec is None:
            issues.add(data.line_of("fields"), f"the {target} profile must map the field {required!r}")
    if issues.items:
        return None
    date_format, datetime_format, offset, numbers = formats
    return Profile(
        name=name,
        path=issues.file,
        source=source,
        target=target,  # type: ignore[arg-type]
        mode=mode,  # type: ignore[arg-type]
        key=key,
        group_rows=group_rows,
        fields=tuple(fields),
        date_format=date_format,
        datetime_format=datetime_format,
        utc_offset_minutes=offset,
        numbers=numbers,
        coordinates=coordinates,
        aliases=aliases,
        pack_sizes=pack_sizes,
        rules=tuple(rules),
        system=system,
    )


# ---- sections ---------------------------------------------------------------------------------------


def _source(data: LocatedDict, issues: _Issues) -> SourceSpec:
    section = data.get("source")
    if not isinstance(section, LocatedDict):
        issues.add(data.line_of("source"), "source must be a mapping with at least 'format'")
        return SourceSpec(format="csv")
    _unknown_keys(section, SOURCE_KEYS, issues, "source")
    fmt = _choice(section, "format", SOURCE_FORMATS, issues, required=True) or "csv"
    encoding = (_string(section, "encoding", issues) or "utf-8").lower().replace("_", "-")
    if encoding == "utf8":
        encoding = "utf-8"
    if encoding not in ENCODINGS:
        issues.add(section.line_of("encoding"), f"encoding {encoding!r} is not one of {', '.join(ENCODINGS)}")
    if fmt == "xlsx" and "encoding" in section:
        issues.add(section.line_of("encoding"), "xlsx files carry their own encoding: remove 'encoding'")
    delimiter = _string(section, "delimiter", issues) or ","
    if len(delimiter) != 1:
        issues.add(section.line_of("delimiter"), "delimiter must be one character")
    header_row = _integer(section, "header_row", issues, default=1, minimum=1)
    records_path = _path(section, "records_path", issues)
    lines_path = _path(section, "lines_path", issues)
    for key in ("records_path", "lines_path"):
        if key in section and fmt not in ("json", "jsonl"):
            issues.add(section.line_of(key), f"{key} applies to json and jsonl sources only")
    if "records_path" in section and fmt == "jsonl":
        issues.add(section.line_of("records_path"), "jsonl has one record per line: remove records_path")
    for key in ("sheet",):
        if key in section and fmt != "xlsx":
            issues.add(section.line_of(key), "sheet applies to xlsx sources only")
    return SourceSpec(
        format=fmt,  # type: ignore[arg-type]
        encoding=encoding,
        delimiter=delimiter,
        sheet=_string(section, "sheet", issues),
        header_row=header_row,
        records_path=records_path,
        lines_path=lines_path,
    )


def _formats(data: LocatedDict, issues: _Issues) -> tuple[str, str, int, NumberFormat]:
    section = data.get("formats")
    if section is None:
        return "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S%z", 0, NumberFormat()
    if not isinstance(section, LocatedDict):
        issues.add(data.line_of("formats"), "formats must be a mapping")
        return "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S%z", 0, NumberFormat()
    _unknown_keys(section, FORMAT_KEYS, issues, "formats")
    date_format = _date_format(section, "date", issues) or "%Y-%m-%d"
    datetime_format = _date_format(section, "datetime", issues) or "%Y-%m-%dT%H:%M:%S%z"
    offset = 0
    raw_offset = section.get("utc_offset")
    if raw_offset is not None:
        match = _OFFSET.match(str(raw_offset))
        if match is None:
            issues.add(section.line_of("utc_offset"), "utc_offset is written like '+08:00'")
        else:
            sign = -1 if match.group(1) == "-" else 1
            offset = sign * (int(match.group(2)) * 60 + int(match.group(3)))
    thousands = _string(section, "thousands", issues, strip=False)
    decimal = _string(section, "decimal", issues) or "."
    if thousands is None:
        thousands = ""
    if decimal not in (".", ","):
        issues.add(section.line_of("decimal"), "decimal separator is '.' or ','")
    if thousands not in ("", ",", ".", " ", "'", "\u00a0"):
        issues.add(section.line_of("thousands"), "thousands separator is one of ',', '.', ' ', \"'\" or ''")
    if thousands and thousands == decimal:
        issues.add(section.line_of("thousands"), "thousands and decimal separators must differ")
    return date_format, datetime_format, offset, NumberFormat(thousands=thousands, decimal=decimal)


def _date_format(section: LocatedDict, key: str, issues: _Issues) -> str | None:
    value = _string(section, key, issues, strip=False)
    if value is None:
        return None
    if not _STRFTIME_DIRECTIVE.search(value):
        issues.add(section.line_of(key), f"{key} format {value!r} has no strptime directive such as %Y or %d")
        return None
    return value


def _fields(data: LocatedDict, target: str, issues: _Issues) -> list[FieldSpec]:
    section = data.get("fields")
    if not isinstance(section, LocatedDict) or not section:
        issues.add(data.line_of("fields"), "fields must be a mapping of target field -> source column")
        return []
    catalogue = TARGET_FIELDS.get(target, {})
    specs: list[FieldSpec] = []
    for name, raw in section.items():
        line = section.line_of(name)
        target_field = catalogue.get(name)
        if target_field is None:
            issues.add(line, f"{name!r} is not a field of the {target} entity; known: {', '.join(sorted(catalogue))}")
            continue
        options: dict[str, Any]
        if isinstance(raw, str):
            options = {"column": raw}
            where: LocatedDict | None = None
        elif isinstance(raw, LocatedDict):
            options = dict(raw)
            where = raw
            _unknown_keys(raw, FIELD_KEYS, issues, f"field {name}")
        else:
            issues.add(line, f"field {name!r} is a column name or a mapping with 'column'")
            continue

        def at(key: str, where: LocatedDict | None = where, line: int = line) -> int:
            return where.line_of(key) if where is not None else line

        column = options.get("column")
        if column is not None and not isinstance(column, (str, int)):
            issues.add(at("column"), f"field {name!r}: column must be a header name or key path")
            column = None
        has_default = "default" in options
        if column is None and not has_default:
            issues.add(line, f"field {name!r} needs a column or a default")
        values = options.get("values") or {}
        if not isinstance(values, dict):
            issues.add(at("values"), f"field {name!r}: values must map source values to ours")
            values = {}
        values = {str(k): str(v) for k, v in values.items()}
        if name == "status" and target == "order":
            for source_value, ours in values.items():
                if ours not in ORDER_STATUSES:
                    issues.add(at("values"), f"status {source_value!r} maps to {ours!r}, not an order status")
        fmt = options.get("format")
        if fmt is not None:
            if target_field.type not in ("date", "datetime"):
                issues.add(at("format"), f"field {name!r}: format applies to date and datetime fields only")
            elif not isinstance(fmt, str) or not _STRFTIME_DIRECTIVE.search(fmt):
                issues.add(at("format"), f"field {name!r}: format {fmt!r} has no strptime directive")
        on_missing = _action(options, "on_missing", FIELD_ACTIONS, at, issues, name)
        on_invalid = _action(options, "on_invalid", FIELD_ACTIONS, at, issues, name)
        on_unknown = _action(options, "on_unknown", UNKNOWN_CODE_ACTIONS, at, issues, name)
        if "on_unknown" in options and target_field.lookup is None:
            issues.add(at("on_unknown"), f"field {name!r} names no master data: on_unknown does not apply")
        if Strategy.DEFAULT in (on_missing, on_invalid) and not has_default:
            issues.add(line, f"field {name!r} uses the 'default' strategy but gives no default")
        required = options.get("required", True)
        if not isinstance(required, bool):
            issues.add(at("required"), f"field {name!r}: required is true or false")
            required = True
        specs.append(
            FieldSpec(
                name=name,
                line=line,
                column=None if column is None else str(column),
                type=target_field.type,
                level=target_field.level,
                required=required,
                default=options.get("default"),
                format=fmt if isinstance(fmt, str) else None,
                values=values,
                lookup=target_field.lookup,
                on_missing=on_missing or (Strategy.DEFAULT if has_default else Strategy.REJECT),
                on_invalid=on_invalid or Strategy.REJECT,
                on_unknown=on_unknown or Strategy.REJECT,
            )
        )
    return specs


def _action(
    options: dict[str, Any],
    key: str,
    allowed: tuple[Strategy, ...],
    at: Any,
    issues: _Issues,
    name: str,
) -> Strategy | None:
    raw = options.get(key)
    if raw is None:
        return None
    names = [strategy.value for strategy in allowed]
    if raw not in names:
        issues.add(at(key), f"field {name!r}: {key} is one of {', '.join(names)}, not {raw!r}")
        return None
    return Strategy(raw)


def _key(data: LocatedDict, names: set[str], issues: _Issues) -> tuple[str, ...]:
    raw = data.get("key")
    if raw is None:
        issues.add(data.line, "key (the target fields forming the record's source key) is required")
        return ()
    items = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, list) else None
    if not items:
        issues.add(data.line_of("key"), "key is a field name or a list of field names")
        return ()
    for item in items:
        if item not in names:
            issues.add(data.line_of("key"), f"key field {item!r} is not mapped under fields")
    return tuple(str(item) for item in items)


def _aliases(data: LocatedDict, issues: _Issues, base_dir: Path | None) -> dict[str, dict[str, str]]:
    section = data.get("aliases")
    aliases: dict[str, dict[str, str]] = {kind: {} for kind in LOOKUP_KINDS}
    if section is None:
        return aliases
    if not isinstance(section, LocatedDict):
        issues.add(data.line_of("aliases"), "aliases maps customer/sku/warehouse to {source code: our code}")
        return aliases
    for kind, table in section.items():
        line = section.line_of(kind)
        if kind == "file":
            _alias_file(str(table), line, aliases, issues, base_dir)
            continue
        if kind not in LOOKUP_KINDS:
            issues.add(line, f"alias table {kind!r} is not one of {', '.join(LOOKUP_KINDS)} or 'file'")
            continue
        if not isinstance(table, dict):
            issues.add(line, f"aliases.{kind} maps source codes to ours")
            continue
        aliases[kind].update({str(k): str(v) for k, v in table.items()})
    return aliases


def _alias_file(
    name: str, line: int, aliases: dict[str, dict[str, str]], issues: _Issues, base_dir: Path | None
) -> None:
    """Read an alias CSV (UTF-8, header ``kind,source_code,our_code``) named relative to the profile."""
    path = (base_dir or Path(".")) / name
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or not {"kind", "source_code", "our_code"} <= set(reader.fieldnames):
                issues.add(line, f"alias file {name!r} needs the header kind,source_code,our_code")
                return
            for number, row in enumerate(reader, start=2):
                kind = row["kind"].strip()
                if kind not in LOOKUP_KINDS:
                    issues.add(line, f"alias file {name!r} row {number}: kind {kind!r} is not a lookup kind")
                    continue
                aliases[kind][row["source_code"].strip()] = row["our_code"].strip()
    except OSError as exc:
        issues.add(line, f"alias file {name!r} cannot be read: {exc.strerror}")


def _pack_sizes(data: LocatedDict, issues: _Issues) -> dict[str, int]:
    section = data.get("pack_sizes")
    if section is None:
        return {}
    if not isinstance(section, LocatedDict):
        issues.add(data.line_of("pack_sizes"), "pack_sizes maps our SKU codes to pieces per case")
        return {}
    sizes: dict[str, int] = {}
    for sku, size in section.items():
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            issues.add(section.line_of(sku), f"pack size of {sku!r} must be a whole number of pieces >= 1")
            continue
        sizes[str(sku)] = size
    return sizes


def _rules(data: LocatedDict, target: str, names: set[str], issues: _Issues) -> list[Rule]:
    section = data.get("rules")
    if section is None:
        return []
    if not isinstance(section, LocatedList):
        issues.add(data.line_of("rules"), "rules is a list of {strategy: ..., ...}")
        return []
    rules: list[Rule] = []
    allowed = [strategy.value for strategy in RULE_STRATEGIES]
    for raw, line in zip(section, section.item_lines, strict=True):
        if not isinstance(raw, LocatedDict):
            issues.add(line, "a rule is a mapping with 'strategy'")
            continue
        _unknown_keys(raw, RULE_KEYS, issues, "rule")
        name = raw.get("strategy")
        if name not in allowed:
            issues.add(raw.line_of("strategy"), f"rule strategy is one of {', '.join(allowed)}, not {name!r}")
            continue
        strategy = Strategy(name)
        rule = _rule(strategy, raw, target, names, issues)
        if rule is not None:
            rules.append(rule)
    return rules


def _rule(strategy: Strategy, raw: LocatedDict, target: str, names: set[str], issues: _Issues) -> Rule | None:
    line = raw.line
    action_name = raw.get("action", Strategy.REJECT.value)
    if action_name not in [a.value for a in RULE_ACTIONS]:
        issues.add(raw.line_of("action"), f"rule action is reject or hold_for_review, not {action_name!r}")
        return None
    action = Strategy(action_name)
    order_only = (Strategy.MERGE_SAME_SKU, Strategy.SPLIT_BY_WAREHOUSE, Strategy.GEOCODE_CHECK)
    if strategy in order_only and target != "order":
        issues.add(line, f"{strategy.value} applies to order profiles only")
        return None
    if strategy is Strategy.CLAMP:
        field = raw.get("field")
        if field not in names:
            issues.add(raw.line_of("field"), f"clamp needs 'field', a mapped numeric field; {field!r} is not")
            return None
        minimum, maximum = raw.get("min"), raw.get("max")
        for key, value in (("min", minimum), ("max", maximum)):
            if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool)):
                issues.add(raw.line_of(key), f"clamp {key} must be a number")
                return None
        if minimum is None and maximum is None:
            issues.add(line, "clamp needs min, max or both")
            return None
        if minimum is not None and maximum is not None and minimum > maximum:
            issues.add(raw.line_of("min"), "clamp min is above max")
            return None
        return Rule(strategy, line, field=str(field), minimum=minimum, maximum=maximum)
    if strategy is Strategy.GEOCODE_CHECK:
        distance = raw.get("max_distance_m")
        if distance is not None and (not isinstance(distance, (int, float)) or distance <= 0):
            issues.add(raw.line_of("max_distance_m"), "max_distance_m must be a positive number of metres")
            return None
        if not {"delivery_lat", "delivery_lng"} <= names:
            issues.add(line, "geocode_check needs delivery_lat and delivery_lng mapped")
            return None
        coverage = raw.get("coverage", True)
        if not isinstance(coverage, bool):
            issues.add(raw.line_of("coverage"), "coverage is true or false")
            return None
        return Rule(
            strategy,
            line,
            max_distance_m=None if distance is None else float(distance),
            check_coverage=coverage,
            action=Strategy.HOLD_FOR_REVIEW if "action" not in raw else action,
        )
    if strategy is Strategy.UNIT_CONVERSION:
        field = raw.get("field", "qty" if target == "order" else "on_hand")
        unit_field = raw.get("unit_field", "unit")
        if field not in names:
            issues.add(raw.line_of("field"), f"unit_conversion field {field!r} is not mapped")
            return None
        if unit_field not in names:
            issues.add(raw.line_of("unit_field"), f"unit_conversion unit_field {unit_field!r} is not mapped")
            return None
        case, piece = raw.get("case"), raw.get("piece")
        if not isinstance(case, list) or not case:
            issues.add(raw.line_of("case"), "unit_conversion needs 'case': the source's words for a case")
            return None
        if not isinstance(piece, list) or not piece:
            issues.add(raw.line_of("piece"), "unit_conversion needs 'piece': the source's words for a piece")
            return None
        on_unknown_unit = raw.get("on_unknown_unit", Strategy.REJECT.value)
        if on_unknown_unit not in (Strategy.REJECT.value, Strategy.HOLD_FOR_REVIEW.value):
            issues.add(raw.line_of("on_unknown_unit"), "on_unknown_unit is reject or hold_for_review")
            return None
        unit = UnitConversion(
            quantity_field=str(field),
            unit_field=str(unit_field),
            case_units=tuple(str(word) for word in case),
            piece_units=tuple(str(word) for word in piece),
            on_unknown_unit=Strategy(on_unknown_unit),
        )
        return Rule(strategy, line, field=str(field), unit=unit)
    return Rule(strategy, line, action=action)


# ---- scalar helpers ---------------------------------------------------------------------------------


def _unknown_keys(section: LocatedDict, allowed: set[str], issues: _Issues, where: str) -> None:
    for key in section:
        if key not in allowed:
            issues.add(section.line_of(key), f"unknown key {key!r} in {where}; known: {', '.join(sorted(allowed))}")


def _string(
    section: LocatedDict, key: str, issues: _Issues, *, required: bool = False, strip: bool = True
) -> str | None:
    value = section.get(key)
    if value is None:
        if required:
            issues.add(section.line, f"{key!r} is required")
        return None
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        issues.add(section.line_of(key), f"{key!r} must be text")
        return None
    text = str(value)
    return text.strip() if strip else text


def _choice(
    section: LocatedDict, key: str, options: tuple[str, ...], issues: _Issues, *, required: bool = False
) -> str | None:
    value = _string(section, key, issues, required=required)
    if value is None:
        return None
    if value not in options:
        issues.add(section.line_of(key), f"{key} is one of {', '.join(options)}, not {value!r}")
        return None
    return value


def _boolean(section: LocatedDict, key: str, issues: _Issues, *, default: bool) -> bool:
    value = section.get(key, default)
    if not isinstance(value, bool):
        issues.add(section.line_of(key), f"{key} is true or false")
        return default
    return value


def _integer(section: LocatedDict, key: str, issues: _Issues, *, default: int, minimum: int) -> int:
    value = section.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        issues.add(section.line_of(key), f"{key} must be a whole number >= {minimum}")
        return default
    return value


def _path(section: LocatedDict, key: str, issues: _Issues) -> tuple[str, ...]:
    value = section.get(key)
    if value is None:
        return ()
    if not isinstance(value, str) or not value.strip():
        issues.add(section.line_of(key), f"{key} is a dotted key path such as 'data.orders'")
        return ()
    return tuple(part for part in value.split(".") if part)
