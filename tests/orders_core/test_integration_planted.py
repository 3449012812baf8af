"""Reconciliation against a generated export holding known, planted differences: every planted difference is
found and nothing else, through each shipped order profile (GB18030 CSV with Chinese headers, XLSX, JSON).

The expected list is the planting's own record of what it changed (``Planted``), never the engine's output;
changes inside the tolerances and the format noise (encoding, headers, status words, Beijing time, GCJ-02,
thousands separators, alias codes, padded cells, full-width digits) must give no difference at all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from orders_core.integration.order_reconcile import order_spec
from orders_core.integration.planted_export import generate_orders, plant_differences, write_planted_export
from orders_core.integration.profile_loader import load_profile
from orders_core.integration.profile_records import canonical_records, order_view
from orders_core.integration.reconcile import reconcile

PROFILES = Path(__file__).resolve().parents[2] / "profiles"
START = datetime(2026, 11, 2, tzinfo=UTC)
SUFFIX = {"csv": "csv", "xlsx": "xlsx", "json": "json", "jsonl": "jsonl"}


@pytest.mark.parametrize("profile_name", ["erp_orders_csv", "erp_orders_xlsx", "ecommerce_orders_json"])
@pytest.mark.parametrize("seed", [7, 2026, 31337])
def test_every_planted_difference_is_found_and_no_other(profile_name: str, seed: int, tmp_path: Path) -> None:
    profile = load_profile(PROFILES / f"{profile_name}.yaml")
    ours, theirs, planted = plant_differences(generate_orders(seed, 80, START), seed)
    export = tmp_path / f"export.{SUFFIX[profile.source.format]}"
    write_planted_export(profile, theirs, export, seed)
    spec = order_spec(profile)
    compared = {rule.name for rule in spec.compared}

    result = reconcile(spec, map(order_view, ours), map(order_view, canonical_records(profile, export)))

    found = sorted((d.key[0], d.cause.value, d.field, d.side.value) for d in result.differences)
    # A change to a field this profile does not carry cannot be seen; the record-level ones always can.
    expected = sorted(p.identity for p in planted if not p.field or p.field in compared)
    assert found == expected
    assert len(expected) >= 20
    # Inside-tolerance changes were seen and accepted, not ignored by accident.
    assert result.fields["total"].within_tolerance >= 1
    assert result.fields["placed_at"].within_tolerance >= 1


def test_the_csv_export_is_gb18030_with_chinese_headers_and_gcj02(tmp_path: Path) -> None:
    profile = load_profile(PROFILES / "erp_orders_csv.yaml")
    ours, theirs, _ = plant_differences(generate_orders(1, 40, START), 1)
    export = tmp_path / "export.csv"
    write_planted_export(profile, theirs, export, 1)
    raw = export.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gb18030")
    assert text.splitlines()[0].startswith("订单编号,")
    assert "KH-OLD-0001" in text or "KH-OLD-0002" in text  # our C0001/C0002 under the ERP's codes
    first = next(canonical_records(profile, export))
    original = next(o for o in ours if o["order_no"] == first["order_no"])
    # The file holds GCJ-02 (shifted by hundreds of metres); read back through the profile it is WGS-84 again.
    assert abs(first["delivery_lat"] - original["delivery_lat"]) < 1e-5
    assert f"{original['delivery_lat']:.6f}" not in text.splitlines()[1]
