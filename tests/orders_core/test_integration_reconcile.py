"""The reconciliation engine: pairing by key, duplicates, tolerances, text rules, unparsable values, figures."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orders_core.integration.reconcile import Cause, Side, reconcile
from orders_core.integration.reconcile_report import csv_text, digest, summary
from orders_core.integration.reconcile_rules import FieldKind, FieldRule, ReconcileSpec

SPEC = ReconcileSpec(
    key=("order_no",),
    fields=(
        FieldRule("order_no", casefold=True),
        FieldRule("total", FieldKind.MONEY, abs_tol=Decimal("0.01"), rel_tol=Decimal("0.0001")),
        FieldRule("units", FieldKind.INTEGER),
        FieldRule(
            "placed_at", FieldKind.DATETIME, seconds_tol=60, formats=("%Y/%m/%d %H:%M",), timezone="Asia/Shanghai"
        ),
        FieldRule("customer", casefold=True, fold_width=True),
    ),
)


def _order(no: str, total: str = "100.00", units: int | None = 3, **extra: object) -> dict[str, object]:
    record: dict[str, object] = {
        "order_no": no,
        "total": Decimal(total),
        "units": units,
        "placed_at": datetime(2026, 11, 2, 1, 30, tzinfo=UTC),
        "customer": "CUST-001",
    }
    record.update(extra)
    return record


def test_identical_streams_are_fully_consistent() -> None:
    ours = [_order(f"SO-{i}") for i in range(5)]
    result = reconcile(SPEC, ours, [dict(r) for r in ours])
    assert result.differences == []
    assert result.consistency_pct == 100.0
    assert result.paired_keys == result.union_keys == 5


def test_duplicate_keys_are_reported_and_never_paired_by_position() -> None:
    ours = [_order("SO-1"), _order("SO-2")]
    # Their first SO-2 matches ours, the second does not: pairing by position would hide the difference.
    theirs = [_order("SO-1"), _order("SO-2"), _order("SO-2", total="999.00")]
    result = reconcile(SPEC, ours, theirs)
    assert [(d.key, d.cause, d.side) for d in result.differences] == [(("SO-2",), Cause.DUPLICATE_KEY, Side.THEIRS)]
    assert "2 records: 2, 3" in result.differences[0].note
    assert result.paired_keys == 1 and result.consistent_keys == 1 and result.union_keys == 2
    assert result.consistency_pct == 50.0


def test_duplicates_on_both_sides_give_one_difference_per_side() -> None:
    both = [_order("SO-1"), _order("SO-1")]
    result = reconcile(SPEC, both, list(both))
    assert Counter(d.side for d in result.differences) == {Side.OURS: 1, Side.THEIRS: 1}


def test_records_on_one_side_only() -> None:
    result = reconcile(SPEC, [_order("SO-1"), _order("SO-2")], [_order("SO-2"), _order("SO-3")])
    causes = {d.key: d.cause for d in result.differences}
    assert causes == {("SO-1",): Cause.MISSING_ON_THEIRS, ("SO-3",): Cause.MISSING_ON_OURS}
    assert round(result.consistency_pct, 6) == round(100 / 3, 6)


def test_money_tolerance_is_the_larger_of_absolute_and_relative() -> None:
    ours = [_order("A", "100.00"), _order("B", "100.00"), _order("C", "100000.00"), _order("D", "100000.00")]
    theirs = [
        _order("A", "100.01"),  # absolute 0.01: within
        _order("B", "100.02"),  # 0.02 > max(0.01, 0.0001 * 100.02): beyond
        _order("C", "100010.00"),  # 10 <= 0.0001 * 100010: within by the relative tolerance
        _order("D", "100011.00"),  # 11 > 10.0011: beyond
    ]
    result = reconcile(SPEC, ours, theirs)
    assert {(d.key[0], d.field) for d in result.differences} == {("B", "total"), ("D", "total")}
    b = next(d for d in result.differences if d.key == ("B",))
    assert b.cause is Cause.VALUE_DIFFERS and b.delta == "0.02"
    assert result.fields["total"].within_tolerance == 2


def test_times_compare_across_zones_and_formats_within_seconds() -> None:
    # 2026-11-02 09:30 in Shanghai is 01:30 UTC.
    theirs = [
        _order("A", placed_at="2026/11/02 09:30"),
        _order("B", placed_at="2026/11/02 09:31"),  # 60 s: within
        _order("C", placed_at="2026/11/02 09:32"),  # 120 s: beyond
        _order("D", placed_at="02.11.2026 09:30"),  # a format the field does not state
    ]
    result = reconcile(SPEC, [_order(k) for k in "ABCD"], theirs)
    found = {d.key[0]: d for d in result.differences}
    assert set(found) == {"C", "D"}
    assert found["C"].cause is Cause.VALUE_DIFFERS and found["C"].delta == "120s"
    assert found["D"].cause is Cause.UNPARSABLE and found["D"].side is Side.THEIRS


def test_text_rules_fold_case_width_and_spaces_and_apply_to_keys() -> None:
    theirs = [_order(" so-1 ", customer="ｃｕｓｔ－００１\u3000")]
    result = reconcile(SPEC, [_order("SO-1")], theirs)
    assert result.differences == []
    strict = ReconcileSpec(key=("order_no",), fields=(FieldRule("order_no"), FieldRule("customer", fold_width=False)))
    assert [
        d.cause for d in reconcile(strict, [_order("SO-1")], [_order("SO-1", customer="ＣＵＳＴ-001")]).differences
    ] == [Cause.VALUE_DIFFERS]


def test_a_value_on_one_side_only_differs_and_unreadable_numbers_are_unparsable() -> None:
    theirs = [_order("A", units=None), {**_order("B"), "total": "12,3a"}, {**_order("C"), "units": "2.5"}]
    result = reconcile(SPEC, [_order("A"), _order("B"), _order("C")], theirs)
    found = {(d.key[0], d.field): d for d in result.differences}
    assert found[("A", "units")].cause is Cause.VALUE_DIFFERS and found[("A", "units")].note == "no value on theirs"
    assert found[("B", "total")].cause is Cause.UNPARSABLE
    assert found[("C", "units")].cause is Cause.UNPARSABLE
    assert len(found) == 3


def test_numbers_with_separators_and_currency_symbols_are_read() -> None:
    result = reconcile(SPEC, [_order("A", "1234.50")], [{**_order("A"), "total": "¥1,234.50"}])
    assert result.differences == []


def test_a_record_without_a_key_is_unparsable_and_counts_against_consistency() -> None:
    result = reconcile(SPEC, [_order("A")], [_order("A"), _order("  ")])
    assert [(d.cause, d.side) for d in result.differences] == [(Cause.UNPARSABLE, Side.THEIRS)]
    assert result.union_keys == 2 and result.consistency_pct == 50.0


def test_composite_keys_pair_on_every_part() -> None:
    spec = ReconcileSpec(key=("order_no", "sku"), fields=(FieldRule("qty", FieldKind.INTEGER),))
    ours = [{"order_no": "A", "sku": "S1", "qty": 1}, {"order_no": "A", "sku": "S2", "qty": 2}]
    theirs = [{"order_no": "A", "sku": "S1", "qty": 1}, {"order_no": "A", "sku": "S2", "qty": 3}]
    result = reconcile(spec, ours, theirs)
    assert [(d.key, d.field) for d in result.differences] == [(("A", "S2"), "qty")]


def test_dates_compare_by_day() -> None:
    spec = ReconcileSpec(key=("k",), fields=(FieldRule("d", FieldKind.DATE, formats=("%d/%m/%Y",)),))
    result = reconcile(
        spec,
        [{"k": "1", "d": date(2026, 3, 4)}, {"k": "2", "d": date(2026, 3, 4)}],
        [{"k": "1", "d": "04/03/2026"}, {"k": "2", "d": "03/04/2026"}],
    )
    assert [(d.key, d.delta) for d in result.differences] == [(("2",), "30d")]


def test_summary_groups_by_field_and_cause_and_csv_lists_every_difference() -> None:
    ours = [_order("A"), _order("B"), _order("C", "5.00")]
    theirs = [_order("B"), _order("C", "6.00"), _order("D"), _order("D")]
    result = reconcile(SPEC, ours, theirs)
    report = summary(result)
    assert report["by_cause"] == {
        "missing_on_ours": 0,
        "missing_on_theirs": 1,
        "duplicate_key": 1,
        "value_differs": 1,
        "unparsable": 0,
    }
    assert report["by_field"] == {
        "(record)": {"duplicate_key": 1, "missing_on_theirs": 1},
        "total": {"value_differs": 1},
    }
    assert report["fields"]["total"] == {"compared": 2, "agree": 1, "within_tolerance": 0, "consistency_pct": 50.0}
    assert report["consistency_pct"] == 25.0
    rows = list(csv.DictReader(io.StringIO(csv_text(result))))
    assert [(r["key"], r["cause"], r["field"]) for r in rows] == [
        ("A", "missing_on_theirs", ""),
        ("C", "value_differs", "total"),
        ("D", "duplicate_key", ""),
    ]
    assert "consistency 25.00 %" in digest(report)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from("abcdefgh"), max_size=12),
    st.lists(st.sampled_from("abcdefgh"), max_size=12),
    st.dictionaries(st.sampled_from("abcdefgh"), st.integers(0, 3)),
)
def test_key_accounting_matches_a_brute_force_count(
    ours_keys: list[str], their_keys: list[str], shift: dict[str, int]
) -> None:
    spec = ReconcileSpec(key=("k",), fields=(FieldRule("k"), FieldRule("v", FieldKind.INTEGER, abs_tol=Decimal(1))))
    ours = [{"k": k, "v": 10} for k in ours_keys]
    theirs = [{"k": k, "v": 10 + shift.get(k, 0)} for k in their_keys]
    result = reconcile(spec, ours, theirs)
    mine, other = Counter(ours_keys), Counter(their_keys)
    union = set(mine) | set(other)
    paired = {k for k in union if mine[k] == 1 and other[k] == 1}
    consistent = {k for k in paired if shift.get(k, 0) <= 1}
    duplicates = sum(1 for k in union for side in (mine, other) if side[k] > 1)
    assert result.union_keys == len(union)
    assert result.paired_keys == len(paired)
    assert result.consistent_keys == len(consistent)
    counts = result.by_cause()
    assert counts["duplicate_key"] == duplicates
    assert counts["value_differs"] == len(paired - consistent)
    assert counts["missing_on_ours"] == sum(1 for k in union if mine[k] == 0 and other[k] == 1)
    assert counts["missing_on_theirs"] == sum(1 for k in union if other[k] == 0 and mine[k] == 1)
