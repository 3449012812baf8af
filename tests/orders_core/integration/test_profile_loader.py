"""Profile validation: every problem names the file and the line it sits on; the shipped profiles load."""

from __future__ import annotations

from pathlib import Path

import pytest

from orders_core.integration.profile import ProfileInvalid, Strategy
from orders_core.integration.profile_loader import load_profile, parse_profile

PROFILES = Path(__file__).resolve().parents[3] / "profiles"

GOOD = """\
profile: t
target: order
source:
  format: csv
  encoding: gb18030
key: order_no
formats:
  datetime: "%Y-%m-%d %H:%M"
  utc_offset: "+08:00"
  thousands: ","
fields:
  order_no: 订单编号
  customer_id: 客户编码
  sku: 商品编码
  qty: {column: 数量, on_invalid: hold_for_review}
rules:
  - strategy: clamp
    field: qty
    min: 1
    max: 10
"""


def _issues(text: str, file: str = "bad.yaml") -> list[str]:
    with pytest.raises(ProfileInvalid) as caught:
        parse_profile(text, file=file)
    return [str(issue) for issue in caught.value.issues]


def test_a_valid_profile_loads_into_typed_fields() -> None:
    profile = parse_profile(GOOD)
    assert profile.source.encoding == "gb18030"
    assert profile.utc_offset_minutes == 480
    assert profile.numbers.thousands == ","
    qty = profile.field("qty")
    assert qty is not None and qty.type == "integer" and qty.level == "line"
    assert qty.on_invalid is Strategy.HOLD_FOR_REVIEW
    assert profile.field("customer_id") is not None
    assert profile.rule(Strategy.CLAMP)[0].maximum == 10


def test_an_unknown_field_is_reported_at_its_line() -> None:
    text = GOOD.replace("  sku: 商品编码\n", "  sku: 商品编码\n  colour: 颜色\n")
    issues = _issues(text)
    assert any(issue.startswith("bad.yaml:15:") and "'colour'" in issue for issue in issues), issues


def test_an_unknown_strategy_is_reported_at_its_line() -> None:
    text = GOOD.replace("  - strategy: clamp", "  - strategy: guess_the_date")
    issues = _issues(text)
    assert len(issues) == 1 and issues[0].startswith("bad.yaml:17:") and "guess_the_date" in issues[0]


def test_a_bad_field_action_is_reported_at_its_key_line() -> None:
    text = GOOD.replace("on_invalid: hold_for_review", "on_invalid: shrug")
    (issue,) = _issues(text)
    assert issue.startswith("bad.yaml:15:") and "shrug" in issue


def test_several_problems_are_reported_together_each_with_its_line() -> None:
    text = GOOD.replace("encoding: gb18030", "encoding: latin-9").replace('utc_offset: "+08:00"', "utc_offset: 8")
    issues = _issues(text)
    assert any(issue.startswith("bad.yaml:5:") and "encoding" in issue for issue in issues)
    assert any(issue.startswith("bad.yaml:9:") and "utc_offset" in issue for issue in issues)


def test_a_date_format_without_directives_is_refused() -> None:
    (issue,) = _issues(GOOD.replace('"%Y-%m-%d %H:%M"', "DD/MM/YYYY"))
    assert issue.startswith("bad.yaml:8:") and "strptime" in issue


def test_a_missing_required_field_names_the_fields_line() -> None:
    (issue,) = _issues(GOOD.replace("  sku: 商品编码\n", ""))
    assert issue.startswith("bad.yaml:11:") and "'sku'" in issue


def test_a_duplicate_key_is_an_error_not_silently_the_last() -> None:
    (issue,) = _issues(GOOD.replace("  sku: 商品编码\n", "  sku: 商品编码\n  sku: 货号\n"))
    assert issue.startswith("bad.yaml:15:") and "twice" in issue


def test_broken_yaml_names_the_line() -> None:
    (issue,) = _issues(GOOD.replace("  qty: {column: 数量, on_invalid: hold_for_review}", "  qty: {column: 数量"))
    assert issue.startswith("bad.yaml:") and "not valid YAML" in issue
    assert int(issue.split(":")[1]) >= 15


def test_load_profile_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(GOOD.replace("target: order", "target: invoice"), encoding="utf-8")
    with pytest.raises(ProfileInvalid) as caught:
        load_profile(path)
    (issue,) = [str(i) for i in caught.value.issues]
    assert issue.startswith(f"{path}:2:") and "invoice" in issue


@pytest.mark.parametrize("name", sorted(p.name for p in PROFILES.glob("*.yaml")))
def test_every_shipped_profile_loads(name: str) -> None:
    profile = load_profile(PROFILES / name)
    assert profile.key and profile.fields


def test_the_shipped_profiles_map_at_least_23_distinct_fields() -> None:
    wanted = ["erp_orders_csv", "erp_orders_xlsx", "ecommerce_orders_json", "wms_stock_csv"]
    fields = {
        (profile.target, spec.name)
        for profile in (load_profile(PROFILES / f"{name}.yaml") for name in wanted)
        for spec in profile.fields
    }
    assert len(fields) >= 23, sorted(fields)


def test_the_alias_file_is_read_relative_to_the_profile() -> None:
    profile = load_profile(PROFILES / "erp_orders_csv.yaml")
    assert profile.aliases["customer"]["KH-OLD-0001"] == "C0001"
    assert profile.aliases["warehouse"]["上海仓"] == "WH-SH"
