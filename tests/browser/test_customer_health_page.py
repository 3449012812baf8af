"""The console's customer view in Chromium: log in, recompute, see the score, the breakdown table and the
plotly chart drawn; axe-core finds no WCAG 2.2 AA violation on the customer page and the list."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.api.factories import ADMIN_TOKEN

from .conftest import LiveServer, assert_accessible, screenshot


def _seed(live_server: LiveServer) -> None:
    admin = live_server.admin
    location = {"lat": 30.2, "lng": 120.2}
    assert admin.put("/v1/warehouses/W1", json={"name": "W1", "location": location}).status_code == 201
    sku = {"name": "Rice", "unit_price": "10.00", "weight_kg": 1, "volume_m3": 0.001}
    assert admin.put("/v1/skus/S1", json=sku).status_code == 201
    customer = {"name": "Hangzhou Mart", "credit_limit": "1000", "location": location}
    assert admin.put("/v1/customers/C1", json=customer).status_code == 201
    assert admin.put("/v1/warehouses/W1/stock/S1", json={"on_hand": 100}).status_code == 200
    order = {"customer_id": "C1", "lines": [{"sku": "S1", "qty": 30, "unit_price": "10.00"}], "delivery": location}
    assert admin.post("/v1/orders", json=order).status_code == 201


def test_customer_page_renders_score_table_and_chart_accessibly(live_server: LiveServer, desk_page: Page) -> None:
    _seed(live_server)
    desk_page.goto(live_server.url("/console/login?next=/console/customers/C1"))
    desk_page.fill("#token", ADMIN_TOKEN)
    desk_page.click("button[type=submit]")
    desk_page.wait_for_url("**/console/customers/C1")
    desk_page.click("text=Recompute health score")
    desk_page.wait_for_selector("#indicators")
    score = live_server.admin.get("/v1/customers/C1/health").json()["score"]
    assert float(desk_page.inner_text("#score")) == score
    assert desk_page.locator("#indicators tbody tr").count() == 7
    desk_page.wait_for_selector("#chart .main-svg")  # plotly drew the chart
    assert desk_page.locator("#chart .bars .point").count() >= 7
    assert_accessible(desk_page, context="customer page")
    screenshot(desk_page, "console-customer-health")
    desk_page.goto(live_server.url("/console/customers"))
    assert desk_page.locator("a[href='/console/customers/C1']").count() == 1
    assert_accessible(desk_page, context="customer health list")
