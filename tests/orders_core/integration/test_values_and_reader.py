"""Typed values with stated formats, and the streaming readers (GB18030 CSV with Chinese headers, XLSX,
JSON, JSONL), plus the failed-records writer round trip."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from orders_core.integration.failed_file import write_source_file
from orders_core.integration.profile import NumberFormat
from orders_core.integration.profile_loader import parse_profile
from orders_core.integration.reader import SourceUnreadable, open_source
from orders_core.integration.values import (
    ValueInvalid,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_integer,
)

CSV_PROFILE = """\
profile: p
target: order
source: {format: csv, encoding: gb18030}
key: order_no
group_rows: true
fields:
  order_no: 订单编号
  customer_id: 客户编码
  sku: 商品编码
  qty: 数量
"""


def test_dates_follow_the_stated_format_only() -> None:
    assert parse_date("03/04/2026", "%d/%m/%Y") == date(2026, 4, 3)
    assert parse_date("03/04/2026", "%m/%d/%Y") == date(2026, 3, 4)
    with pytest.raises(ValueInvalid):
        parse_date("2026-04-03", "%d/%m/%Y")


def test_a_time_without_offset_is_read_in_the_profile_zone() -> None:
    moment = parse_datetime("2026-01-02 08:30:00", "%Y-%m-%d %H:%M:%S", 480)
    assert moment == datetime(2026, 1, 2, 0, 30, tzinfo=UTC)


def test_numbers_use_the_stated_separators() -> None:
    assert parse_decimal("1,234.50", NumberFormat(",", ".")) == Decimal("1234.50")
    assert parse_decimal("1.234,50", NumberFormat(".", ",")) == Decimal("1234.50")
    assert parse_decimal("1 234,5", NumberFormat(" ", ",")) == Decimal("1234.5")
    with pytest.raises(ValueInvalid):
        parse_decimal("1.234,50", NumberFormat(",", "."))
    with pytest.raises(ValueInvalid):
        parse_integer("2.5", NumberFormat())
    with pytest.raises(ValueInvalid):
        parse_decimal("12,34", NumberFormat(",", "."))
    assert parse_integer("2.0", NumberFormat()) == 2


def test_gb18030_csv_with_chinese_headers_groups_consecutive_rows(tmp_path: Path) -> None:
    profile = parse_profile(CSV_PROFILE)
    path = tmp_path / "orders.csv"
    text = "订单编号,客户编码,商品编码,数量\nSO1,客户甲,SKU-1,2\nSO1,客户甲,SKU-2,3\nSO2,客户乙,SKU-1,1\n"
    path.write_bytes(text.encode("gb18030"))
    source = open_source(profile, path)
    records = list(source.records())
    assert [r.number for r in records] == [1, 2]
    assert [len(r.rows) for r in records] == [2, 1]
    assert records[0].rows[0]["客户编码"] == "客户甲"
    assert source.header == ["订单编号", "客户编码", "商品编码", "数量"]


def test_a_gb18030_file_read_as_utf8_is_refused_with_the_reason(tmp_path: Path) -> None:
    profile = parse_profile(CSV_PROFILE.replace("gb18030", "utf-8"))
    path = tmp_path / "orders.csv"
    path.write_bytes("订单编号,客户编码,商品编码,数量\nSO1,客户甲,SKU-1,2\n".encode("gb18030"))
    with pytest.raises(SourceUnreadable, match="utf-8"):
        list(open_source(profile, path).records())


def test_failed_rows_round_trip_in_the_source_encoding(tmp_path: Path) -> None:
    profile = parse_profile(CSV_PROFILE)
    rows = [{"订单编号": "SO9", "客户编码": "客户丙", "商品编码": "SKU-3", "数量": "7"}]
    header = ["订单编号", "客户编码", "商品编码", "数量"]
    out = tmp_path / "failed.csv"
    assert write_source_file(profile, out, header, rows) == 1
    assert out.read_bytes().decode("gb18030").startswith("订单编号,客户编码")
    (record,) = list(open_source(profile, out).records())
    assert record.rows == rows


def test_xlsx_is_read_by_sheet_name(tmp_path: Path) -> None:
    profile = parse_profile(
        CSV_PROFILE.replace("source: {format: csv, encoding: gb18030}", "source: {format: xlsx, sheet: 订单}")
    )
    header = ["订单编号", "客户编码", "商品编码", "数量"]
    rows = [{"订单编号": "SO1", "客户编码": "C1", "商品编码": "S1", "数量": 4}]
    out = tmp_path / "o.xlsx"
    write_source_file(profile, out, header, rows)
    (record,) = list(open_source(profile, out).records())
    assert record.rows == rows


def test_json_records_path_and_jsonl(tmp_path: Path) -> None:
    text = CSV_PROFILE.replace(
        "source: {format: csv, encoding: gb18030}", "source: {format: json, records_path: data.orders}"
    )
    profile = parse_profile(text.replace("group_rows: true\n", ""))
    doc = {"code": 0, "data": {"orders": [{"订单编号": "A"}, {"订单编号": "B"}]}}
    path = tmp_path / "o.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    source = open_source(profile, path)
    assert [r.rows[0]["订单编号"] for r in source.records()] == ["A", "B"]
    out = tmp_path / "failed.json"
    write_source_file(profile, out, [], [{"订单编号": "B"}], document=source.document)
    assert json.loads(out.read_text(encoding="utf-8")) == {"code": 0, "data": {"orders": [{"订单编号": "B"}]}}
    lines_profile = parse_profile(
        text.replace("group_rows: true\n", "").replace("format: json, records_path: data.orders", "format: jsonl")
    )
    jsonl = tmp_path / "o.jsonl"
    jsonl.write_text('{"订单编号": "A"}\n\n{"订单编号": "B"}\n', encoding="utf-8")
    assert [r.number for r in open_source(lines_profile, jsonl).records()] == [1, 2]


def test_the_fast_iso_paths_agree_with_strptime() -> None:
    for text in ("2026-02-28 23:59:59", "2024-02-29 00:00:00", "2026-13-01 00:00:00", "2026-02-30 10:00:00"):
        try:
            expected = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            with pytest.raises(ValueInvalid):
                parse_datetime(text, "%Y-%m-%d %H:%M:%S", 0)
            continue
        assert parse_datetime(text, "%Y-%m-%d %H:%M:%S", 0) == expected
    assert parse_date("2026-02-28", "%Y-%m-%d") == date(2026, 2, 28)
    with pytest.raises(ValueInvalid):
        parse_date("2026-02-30", "%Y-%m-%d")
