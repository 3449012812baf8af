"""The console's Reconciliation page in Debian's Chromium: a dispatcher uploads an ERP export with planted
differences, lands on the run, sees its consistency and the mismatches grouped by field and cause, filters
by a cause; axe-core (WCAG 2.2 AA) on both pages; screenshots console_reconciliation*.png."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from orders_core.integration.planted_export import plant_differences, write_planted_export
from orders_core.integration.profile_loader import load_profile

from ..api.test_reconciliation_api import PROFILES, _as_their_record
from .conftest import LiveServer, assert_accessible, screenshot

SKUS = {"SKU-0001": Decimal("12.50"), "SKU-0002": Decimal("3.20"), "SKU-0003": Decimal("88.00")}


def _seed(live_server: LiveServer, count: int) -> list[dict[str, Any]]:
    admin = live_server.admin
    assert admin.put(
        "/v1/warehouses/WH-HZ", json={"name": "杭州仓", "location": {"lat": 30.25, "lng": 120.17}}
    ).is_success
    for sku, price in SKUS.items():
        body = {"name": sku, "unit_price": str(price), "weight_kg": 1, "volume_m3": 0.001}
        assert admin.put(f"/v1/skus/{sku}", json=body).is_success
        assert admin.put(f"/v1/warehouses/WH-HZ/stock/{sku}", json={"on_hand": 10_000}).is_success
    assert admin.put("/v1/customers/C0001", json={"name": "客户1", "credit_limit": 10_000_000}).is_success
    orders = []
    for n in range(count):
        skus = list(SKUS)[: 1 + n % 3]
        body = {
            "customer_id": "C0001",
            "lines": [{"sku": sku, "qty": 2 + n % 7, "unit_price": str(SKUS[sku])} for sku in skus],
            "delivery": {"lat": 30.2 + n / 1000, "lng": 120.1 + n / 1000, "address": f"杭州市西湖区文三路{n + 1}号"},
        }
        answer = admin.post("/v1/orders", json=body)
        assert answer.status_code == 201, answer.text
        orders.append(answer.json())
    return orders


def test_a_dispatcher_reconciles_an_export_on_the_console(
    live_server: LiveServer, desk_page: Page, tmp_path: Path
) -> None:
    orders = _seed(live_server, 32)
    _, theirs, planted = plant_differences([_as_their_record(o) for o in orders], 17, duplicate_on_ours=False)
    export = tmp_path / "erp_export.csv"
    write_planted_export(load_profile(PROFILES / "erp_orders_csv.yaml"), theirs, export, 17)
    token = live_server.admin.post("/v1/tokens", json={"role": "dispatcher"}).json()["token"]

    page = desk_page
    page.goto(live_server.url("/console/reconciliations"))
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(live_server.url("/console/reconciliations"))
    assert_accessible(page, context="the reconciliation list")
    page.get_by_label("Profile").select_option("erp_orders_csv")
    page.get_by_label("Export file").set_input_files(str(export))
    page.get_by_role("button", name="Reconcile").click()
    expect(page).to_have_url(re.compile(r".*/console/reconciliations/REC-[0-9A-F]+$"))
    rows = page.locator("tr[data-cause]")
    fields = set(page.locator("tr[data-field]").evaluate_all("rows => rows.map(r => r.dataset.field)"))
    expected = [p for p in planted if not p.field or p.field in fields]
    assert rows.count() == len(expected)
    assert {"(record)", "total", "units", "placed_at", "customer_id"} <= fields
    assert_accessible(page, context="a reconciliation run")
    screenshot(page, "console_reconciliation_run")
    page.get_by_role("link", name=re.compile(r"^duplicate key$")).click()
    expect(page.locator("tr[data-cause]")).to_have_count(1)
    page.get_by_role("navigation", name="Console sections").get_by_role("link", name="Integration").click()
    expect(page.locator("tr[data-run]")).to_have_count(1)
    screenshot(page, "console_reconciliation_list")
