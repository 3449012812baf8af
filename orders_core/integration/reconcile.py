"""Dual-run reconciliation: our records against another system's export of the same period, field by field.

Pure Python: two streams of canonical records (``dict`` field -> value) in, a list of differences and the
counts that make the consistency figures out. Records are paired by key (one or more fields); a key seen
more than once on either side is a ``duplicate_key`` difference and is never paired by position, since any
pairing of duplicates would be a guess. The definitions (consistency, per-field consistency, causes) are in
docs/RECONCILIATION.md.

Both sides are indexed by key (one entry per distinct key: its first record, how many times and at which
positions it came), so memory grows with the number of records of the period, not with their history.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from orders_core.integration.reconcile_rules import FieldRule, ReconcileSpec, UnparsableValue

Key = tuple[str, ...]
Record = Mapping[str, Any]


class Cause(StrEnum):
    """Why a key or a field is inconsistent."""

    MISSING_ON_OURS = "missing_on_ours"  # only the other system has the record
    MISSING_ON_THEIRS = "missing_on_theirs"  # only we have it
    DUPLICATE_KEY = "duplicate_key"  # the key occurs more than once on a side
    VALUE_DIFFERS = "value_differs"  # both have it; this field differs beyond its tolerance
    UNPARSABLE = "unparsable"  # a value (or the key) cannot be read as its field's kind


class Side(StrEnum):
    """Whose record a difference is about."""

    OURS = "ours"
    THEIRS = "theirs"
    BOTH = "both"


@dataclass(frozen=True)
class Difference:
    """One line of the report. ``field`` is empty for a record-level cause (missing, duplicate key)."""

    key: Key
    cause: Cause
    field: str = ""
    side: Side = Side.BOTH
    ours: str = ""
    theirs: str = ""
    delta: str = ""
    relative: str = ""
    tolerance: str = ""
    note: str = ""


@dataclass
class FieldTally:
    """Per compared field: pairs compared, pairs that agree, and how many of those agreed only by tolerance."""

    compared: int = 0
    agree: int = 0
    within_tolerance: int = 0

    @property
    def consistency_pct(self) -> float:
        """Share of paired records whose value of this field agrees, in percent (100 with nothing compared)."""
        return 100.0 * self.agree / self.compared if self.compared else 100.0


@dataclass
class Reconciliation:
    """The outcome: every difference and the counts behind the consistency figures."""

    key_fields: Key
    ours_records: int = 0
    theirs_records: int = 0
    union_keys: int = 0
    paired_keys: int = 0
    consistent_keys: int = 0
    differences: list[Difference] = field(default_factory=list)
    fields: dict[str, FieldTally] = field(default_factory=dict)

    @property
    def consistency_pct(self) -> float:
        """Paired keys with no difference over the union of keys of both sides, in percent."""
        return 100.0 * self.consistent_keys / self.union_keys if self.union_keys else 100.0

    def by_cause(self) -> dict[str, int]:
        """How many differences of each cause (every cause listed, zeros included)."""
        counts = Counter(difference.cause for difference in self.differences)
        return {cause.value: counts.get(cause, 0) for cause in Cause}

    def by_field(self) -> dict[str, dict[str, int]]:
        """Differences per field, then per cause; record-level causes under ``"(record)"``."""
        grouped: dict[str, Counter[str]] = defaultdict(Counter)
        for difference in self.differences:
            grouped[difference.field or "(record)"][difference.cause.value] += 1
        return {name: dict(sorted(counts.items())) for name, counts in sorted(grouped.items())}


@dataclass
class _Seen:
    """A key's first record on one side and the positions (1-based) of every record with that key."""

    record: Record
    positions: list[int]
    shown: Key  # the key as the first record wrote it (trimmed), for the report


def _index(
    records: Iterable[Record], spec: ReconcileSpec, side: Side, result: Reconciliation
) -> tuple[dict[Key, _Seen], int]:
    """Index one side by key; a record whose key cannot be read becomes an ``unparsable`` difference."""
    index: dict[Key, _Seen] = {}
    count = 0
    for count, record in enumerate(records, start=1):
        try:
            key = _key_of(record, spec)
        except UnparsableValue as exc:
            raw = tuple("" if record.get(name) is None else str(record.get(name)) for name in spec.key)
            result.differences.append(
                Difference(raw, Cause.UNPARSABLE, ",".join(spec.key), side, note=f"record {count}: {exc}")
            )
            result.union_keys += 1  # an unreadable key is its own inconsistent entry
            continue
        seen = index.get(key)
        if seen is None:
            shown = tuple(str(record.get(name)).strip() for name in spec.key)
            index[key] = _Seen(record, [count], shown)
        else:
            seen.positions.append(count)
    return index, count


def _key_of(record: Record, spec: ReconcileSpec) -> Key:
    parts = []
    for name in spec.key:
        rule = spec.key_rule(name)
        value = rule.read(record.get(name))
        if value is None:
            raise UnparsableValue(f"key field {name!r} is empty")
        parts.append(str(value))
    return tuple(parts)


def reconcile(spec: ReconcileSpec, ours: Iterable[Record], theirs: Iterable[Record]) -> Reconciliation:
    """Compare our records with theirs under ``spec``: every difference, grouped counts and consistency."""
    result = Reconciliation(key_fields=spec.key)
    result.fields = {rule.name: FieldTally() for rule in spec.compared}
    our_index, result.ours_records = _index(ours, spec, Side.OURS, result)
    their_index, result.theirs_records = _index(theirs, spec, Side.THEIRS, result)
    keys = sorted(our_index.keys() | their_index.keys())
    result.union_keys += len(keys)
    for normalised in keys:
        mine, other = our_index.get(normalised), their_index.get(normalised)
        key = (mine or other).shown  # type: ignore[union-attr]  # one side at least has the key
        duplicates = [
            (side, seen) for side, seen in ((Side.OURS, mine), (Side.THEIRS, other)) if seen and len(seen.positions) > 1
        ]
        if duplicates:
            for side, seen in duplicates:
                positions = ", ".join(str(p) for p in seen.positions)
                result.differences.append(
                    Difference(key, Cause.DUPLICATE_KEY, side=side, note=f"{len(seen.positions)} records: {positions}")
                )
            continue
        if mine is None:
            result.differences.append(Difference(key, Cause.MISSING_ON_OURS, side=Side.THEIRS))
            continue
        if other is None:
            result.differences.append(Difference(key, Cause.MISSING_ON_THEIRS, side=Side.OURS))
            continue
        result.paired_keys += 1
        found = [d for rule in spec.compared if (d := _compare(key, rule, mine.record, other.record, result))]
        result.differences.extend(found)
        if not found:
            result.consistent_keys += 1
    result.differences.sort(key=lambda d: (d.key, list(Cause).index(d.cause), d.field, d.side))
    return result


def _compare(key: Key, rule: FieldRule, mine: Record, other: Record, result: Reconciliation) -> Difference | None:
    """One field of one pair: None when it agrees (within tolerance), else the difference."""
    tally = result.fields[rule.name]
    tally.compared += 1
    raw_ours, raw_theirs = mine.get(rule.name), other.get(rule.name)
    shown_ours = "" if raw_ours is None else str(raw_ours)
    shown_theirs = "" if raw_theirs is None else str(raw_theirs)
    failures: list[tuple[Side, str]] = []
    read: dict[Side, Any] = {}
    for side, raw in ((Side.OURS, raw_ours), (Side.THEIRS, raw_theirs)):
        try:
            read[side] = rule.read(raw)
        except UnparsableValue as exc:
            failures.append((side, str(exc)))
    if failures:
        side = failures[0][0] if len(failures) == 1 else Side.BOTH
        note = "; ".join(f"{s.value}: {message}" for s, message in failures)
        return Difference(key, Cause.UNPARSABLE, rule.name, side, shown_ours, shown_theirs, note=note)
    value_ours, value_theirs = read[Side.OURS], read[Side.THEIRS]
    if rule.agree(value_ours, value_theirs):
        tally.agree += 1
        if value_ours != value_theirs:
            tally.within_tolerance += 1
        return None
    delta, relative = rule.gap(value_ours, value_theirs)
    note = ""
    if value_ours is None or value_theirs is None:
        note = f"no value on {'ours' if value_ours is None else 'theirs'}"
    return Difference(
        key,
        Cause.VALUE_DIFFERS,
        rule.name,
        Side.BOTH,
        shown_ours,
        shown_theirs,
        delta,
        relative,
        rule.tolerance_text(),
        note,
    )
