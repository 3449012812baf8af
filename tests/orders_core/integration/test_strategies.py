"""Each named exception strategy, on the mapping of one record (pure: a master-data snapshot, no database).

The strategies that need the database to show their effect (hold_for_review's desk exception,
dedupe_source_key across runs, defer_missing_master's retry, split_by_warehouse's allocation) are also
tested end to end in test_import.py.
"""

from __future__ import annotations

from decimal import Decimal

from shapely.geometry import box
from shapely.prepared import prep

from geo.crs import gcj02_to_wgs84, wgs84_to_gcj02
from orders_core.integration.mapping import (
    ADDRESS_FAR,
    ADDRESS_OUTSIDE_COVERAGE,
    IMPORT_REVIEW,
    MasterIndex,
    Outcome,
    map_record,
)
from orders_core.integration.profile import Profile
from orders_core.integration.profile_loader import parse_profile
from orders_core.integration.reader import SourceRecord

BASE = """\
profile: t
target: order
mode: history
source: {format: csv}
key: order_no
group_rows: true
formats: {datetime: "%Y-%m-%d %H:%M", utc_offset: "+08:00", thousands: ","}
fields:
  order_no: 单号
  customer_id: {column: 客户, on_unknown: CUSTOMER_UNKNOWN}
  placed_at: 时间
  delivery_lat: 纬度
  delivery_lng: 经度
  promised_by: {column: 承诺, required: false, on_invalid: hold_for_review}
  sku: {column: 商品, on_unknown: reject}
  qty: {column: 数量, on_invalid: QTY_INVALID}
  unit: {column: 单位, default: 件}
  unit_price: {column: 单价, required: false}
aliases:
  customer: {老客户1: C1}
  sku: {旧货号: S1}
pack_sizes: {S1: 24}
rules:
RULES"""


def _profile(rules: str = "  - {strategy: dedupe_source_key}\n", **swaps: str) -> Profile:
    text = BASE.replace("RULES", rules)
    swaps = {"CUSTOMER_UNKNOWN": "reject", "QTY_INVALID": "reject"} | swaps
    for old, new in swaps.items():
        text = text.replace(old, new)
    return parse_profile(text)


def _master() -> MasterIndex:
    return MasterIndex(
        customers={"C1": (31.23, 121.47), "C2": (None, None)},
        sku_prices={"S1": Decimal("2.00"), "S2": Decimal("10.00")},
        warehouses={"W1"},
    )


def _row(**values: str) -> dict[str, str]:
    row = {"单号": "SO1", "客户": "C1", "时间": "2026-03-01 09:00", "纬度": "31.23", "经度": "121.47"}
    row |= {"承诺": "", "商品": "S1", "数量": "1", "单位": "件", "单价": "2.00"}
    return row | values


def _record(*rows: dict[str, str]) -> SourceRecord:
    return SourceRecord(1, list(rows))


def test_reject_names_the_field_and_the_reason() -> None:
    verdict = map_record(_profile(), _record(_row(客户="C404")), _master())
    assert verdict.outcome is Outcome.REJECTED
    assert verdict.reason == "customer_id: unknown customer 'C404'"


def test_default_fills_an_empty_field_with_a_warning() -> None:
    verdict = map_record(_profile(), _record(_row(单位="")), _master())
    assert verdict.outcome is Outcome.ACCEPTED
    assert verdict.mapped is not None and verdict.mapped.lines[0].unit == "件"
    assert any("default '件' used" in w for w in verdict.warnings)


def test_alias_lookup_maps_source_codes_to_ours() -> None:
    verdict = map_record(_profile(), _record(_row(客户="老客户1", 商品="旧货号")), _master())
    assert verdict.outcome is Outcome.ACCEPTED and verdict.mapped is not None
    assert verdict.mapped.values["customer_id"] == "C1"
    assert verdict.mapped.lines[0].sku == "S1"


UNITS = "  - {strategy: unit_conversion, field: qty, unit_field: unit, case: [箱], piece: [件]}\n"


def test_unit_conversion_turns_cases_into_pieces_and_the_case_price_into_a_piece_price() -> None:
    verdict = map_record(_profile(UNITS), _record(_row(数量="2", 单位="箱", 单价="48.00")), _master())
    assert verdict.outcome is Outcome.ACCEPTED and verdict.mapped is not None
    line = verdict.mapped.lines[0]
    assert (line.qty, line.unit_price) == (48, Decimal("2.0000"))


def test_unit_conversion_rejects_an_unknown_unit_and_a_missing_pack_size() -> None:
    unknown = map_record(_profile(UNITS), _record(_row(单位="托")), _master())
    assert unknown.outcome is Outcome.REJECTED and "unknown unit '托'" in str(unknown.reason)
    no_pack = map_record(_profile(UNITS), _record(_row(商品="S2", 单位="箱")), _master())
    assert no_pack.outcome is Outcome.REJECTED and "pack size is unknown" in str(no_pack.reason)


def test_hold_for_review_keeps_a_whole_order_for_a_person() -> None:
    verdict = map_record(_profile(), _record(_row(承诺="next tuesday")), _master())
    assert verdict.outcome is Outcome.HELD
    assert verdict.exception_kind == IMPORT_REVIEW
    assert "promised_by" in str(verdict.reason)


def test_reject_wins_over_hold_and_hold_over_defer() -> None:
    profile = _profile(CUSTOMER_UNKNOWN="defer_missing_master", QTY_INVALID="hold_for_review")
    both = map_record(profile, _record(_row(客户="C9", 数量="x")), _master())
    assert both.outcome is Outcome.HELD
    worst = map_record(profile, _record(_row(客户="C9", 数量="x", 商品="S404")), _master())
    assert worst.outcome is Outcome.REJECTED


def test_duplicate_source_keys_are_marked_by_the_importer_not_the_mapping() -> None:
    # dedupe_source_key needs the imported keys (the database): see test_import.py; the key is computed here
    verdict = map_record(_profile(), _record(_row(单号=" SO77 ")), _master())
    assert verdict.source_key == "SO77"


MERGE = UNITS + "  - {strategy: merge_same_sku}\n"


def test_merge_same_sku_adds_quantities_after_unit_conversion() -> None:
    record = _record(_row(数量="2", 单位="箱", 单价="48.00"), _row(数量="12"), _row(商品="S2", 单价="10"))
    verdict = map_record(_profile(MERGE), record, _master())
    assert verdict.outcome is Outcome.ACCEPTED and verdict.mapped is not None
    assert [(line.sku, line.qty) for line in verdict.mapped.lines] == [("S1", 60), ("S2", 1)]
    unmerged = map_record(_profile(UNITS), record, _master())
    assert unmerged.mapped is not None and len(unmerged.mapped.lines) == 3


def test_merge_same_sku_refuses_one_sku_at_two_prices() -> None:
    record = _record(_row(单价="2.00"), _row(单价="2.50"))
    verdict = map_record(_profile(MERGE), record, _master())
    assert verdict.outcome is Outcome.REJECTED and "different prices" in str(verdict.reason)


CLAMP = "  - {strategy: clamp, field: qty, min: 1, max: 100}\n"


def test_clamp_sets_the_bound_and_warns_with_the_original_value() -> None:
    verdict = map_record(_profile(CLAMP), _record(_row(数量="9,000")), _master())
    assert verdict.outcome is Outcome.ACCEPTED and verdict.mapped is not None
    assert verdict.mapped.lines[0].qty == 100
    assert "qty: 9000 clamped to 100" in verdict.warnings


GEO = "  - {strategy: geocode_check, max_distance_m: 20000, coverage: true}\n"


def test_geocode_check_holds_a_delivery_far_from_the_registered_location() -> None:
    verdict = map_record(_profile(GEO), _record(_row(纬度="39.90", 经度="116.40")), _master())
    assert verdict.outcome is Outcome.HELD and verdict.exception_kind == ADDRESS_FAR
    assert verdict.exception_details["distance_m"] > 1_000_000
    near = map_record(_profile(GEO), _record(_row(纬度="31.25", 经度="121.48")), _master())
    assert near.outcome is Outcome.ACCEPTED


def test_geocode_check_holds_a_delivery_outside_every_coverage_and_may_reject_instead() -> None:
    master = _master()
    master.coverage = prep(box(121.0, 30.5, 122.0, 31.5))  # lng-lat: Shanghai only
    customer_far_away = _row(客户="C2", 纬度="32.06", 经度="118.79")  # Nanjing; C2 has no registered location
    held = map_record(_profile(GEO), _record(customer_far_away), master)
    assert held.outcome is Outcome.HELD and held.exception_kind == ADDRESS_OUTSIDE_COVERAGE
    reject = GEO.replace("coverage: true", "coverage: true, action: reject")
    assert map_record(_profile(reject), _record(customer_far_away), master).outcome is Outcome.REJECTED


def test_defer_missing_master_waits_for_the_named_customer() -> None:
    profile = _profile(CUSTOMER_UNKNOWN="defer_missing_master")
    verdict = map_record(profile, _record(_row(客户="C9")), _master())
    assert verdict.outcome is Outcome.DEFERRED and verdict.waiting_for == ["customer:C9"]


def test_gcj02_coordinates_are_converted_to_wgs84() -> None:
    text = BASE.replace("RULES", "").replace("fields:", "coordinates: gcj02\nfields:")
    for old, new in {"CUSTOMER_UNKNOWN": "reject", "QTY_INVALID": "reject"}.items():
        text = text.replace(old, new)
    gcj = wgs84_to_gcj02(31.2300, 121.4700)
    verdict = map_record(parse_profile(text), _record(_row(纬度=str(gcj[0]), 经度=str(gcj[1]))), _master())
    assert verdict.mapped is not None
    lat, lng = verdict.mapped.values["delivery_lat"], verdict.mapped.values["delivery_lng"]
    assert abs(lat - 31.23) < 1e-6 and abs(lng - 121.47) < 1e-6
    assert (lat, lng) == gcj02_to_wgs84(*gcj)
