"""The dispatch console in Debian's Chromium: log in through the form, open the exception inbox, approve
an exception with a reason code and see the order move on; axe-core (WCAG 2.2 AA) on every page; the
screenshots of the closing notes (var/screenshots/console_*.png)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from geo.distance import destination_point

from .conftest import LiveServer, assert_accessible, screenshot

DEPOT = {"lat": 31.2304, "lng": 121.4737}
LAYOUT = {
    "kind": "rectangular",
    "aisles": 4,
    "aisle_spacing_m": 3.0,
    "aisle_length_m": 20.0,
    "blocks": 1,
    "slots_per_side": 10,
    "depot_x_m": 0.0,
}
SLOTS = {"S1": "A01-L-003", "S2": "A03-R-008"}


def _ok(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code < 300, answer.text
    body: dict[str, Any] = answer.json()
    return body


def _order(admin: httpx.Client, sku: str, qty: int, price: float, bearing: float, address: str) -> dict[str, Any]:
    lat, lng = destination_point(DEPOT["lat"], DEPOT["lng"], bearing, 2500)
    body = {
        "customer_id": "C1",
        "lines": [{"sku": sku, "qty": qty, "unit_price": price}],
        "delivery": {"lat": lat, "lng": lng, "address": address},
    }
    return _ok(admin.post("/v1/orders", json=body))


def _seed(admin: httpx.Client) -> dict[str, Any]:
    """A warehouse with a layout, two carriers, three routed and picked orders, and one on hold for a price."""
    _ok(admin.put("/v1/warehouses/W1", json={"name": "Minhang DC", "location": DEPOT, "layout": LAYOUT}))
    for sku, name in (("S1", "Soy sauce 500ml"), ("S2", "Rice 5kg")):
        _ok(admin.put(f"/v1/skus/{sku}", json={"name": name, "unit_price": 10, "weight_kg": 2, "volume_m3": 0.01}))
        _ok(admin.put(f"/v1/warehouses/W1/stock/{sku}", json={"on_hand": 500}))
        _ok(admin.put(f"/v1/warehouses/W1/slots/{sku}", json={"slot": SLOTS[sku]}))
    _ok(admin.put("/v1/customers/C1", json={"name": "Huadong Mart", "credit_limit": 100000}))
    for carrier in ("van-a", "van-b"):
        body = {"name": carrier, "vehicle_type": "van", "capacity_kg": 500, "capacity_m3": 5, "coverage": None}
        _ok(admin.put(f"/v1/carriers/{carrier}", json=body))
    for k, (bearing, carrier) in enumerate(((0, "van-a"), (90, "van-a"), (200, "van-b"))):
        order = _order(admin, "S1" if k % 2 else "S2", k + 1, 10, bearing, f"{k + 1} Century Ave")
        shipment = order["shipments"][0]["id"]
        _ok(admin.post(f"/v1/shipments/{shipment}/assign", json={"carrier_id": carrier, "reason": "seed"}))
    routes = _ok(admin.post("/v1/warehouses/W1/routes", json={"time_limit_s": 0.3}))
    cart = {"cart": {"max_items": 50, "max_weight_kg": 200, "max_volume_m3": 2}, "time_limit_s": 0.2}
    route_id = routes["routes"][0]["route_id"]
    _ok(admin.post(f"/v1/warehouses/W1/routes/{route_id}/pick-wave", json=cart))
    held = _order(admin, "S1", 4, 8, 45, "9 Lujiazui Ring Rd")  # quoted below the catalogue price
    assert held["status"] == "on_hold"
    return held


@pytest.fixture
def held_order(live_server: LiveServer) -> dict[str, Any]:
    return _seed(live_server.admin)


def _dispatcher_token(live_server: LiveServer) -> str:
    return str(_ok(live_server.admin.post("/v1/tokens", json={"role": "dispatcher"}))["token"])


def test_dispatcher_logs_in_approves_an_exception_and_sees_the_order_move_on(
    live_server: LiveServer, desk_page: Page, held_order: dict[str, Any]
) -> None:
    page = desk_page
    page.goto(live_server.url("/console/orders"))
    expect(page).to_have_url(live_server.url("/console/login?next=%2Fconsole%2Forders"))
    assert_accessible(page, context="the login page")
    page.get_by_label("API token").fill(_dispatcher_token(live_server))
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(live_server.url("/console/orders"))
    expect(page.locator(f'tr[data-order="{held_order["id"]}"]')).to_be_visible()
    assert page.locator("tr[data-order]").count() == 4
    assert_accessible(page, context="the order list")
    screenshot(page, "console_orders")

    page.get_by_role("navigation", name="Console sections").get_by_role("link", name="Exceptions").click()
    expect(page).to_have_url(live_server.url("/console/exceptions"))
    card = page.locator(f'article[data-kind="price_conflict"]:has(a[href="/console/orders/{held_order["id"]}"])')
    expect(card).to_be_visible()
    expect(card.locator("[data-wait]")).to_contain_text("target")
    assert_accessible(page, context="the exception inbox")
    screenshot(page, "console_exception_inbox")

    card.get_by_label("Approve (the order goes on)").check()
    card.get_by_label("Reason code").select_option("customer_confirmed")
    card.get_by_label("Note").fill("Store confirmed the promotional price by phone")
    card.get_by_role("button", name="Submit decision").click()
    expect(page.get_by_role("status")).to_contain_text("recorded")
    expect(page.locator(f'article:has(a[href="/console/orders/{held_order["id"]}"])')).to_have_count(0)

    page.goto(live_server.url(f"/console/orders/{held_order['id']}"))
    expect(page.locator("#order-status")).to_have_text("allocated")
    trail = page.locator("#audit-trail")
    expect(trail).to_contain_text("dispatcher:")
    expect(trail).to_contain_text("customer_confirmed")
    assert_accessible(page, context="the order page")
    screenshot(page, "console_order_detail")
    assert live_server.admin.get(f"/v1/orders/{held_order['id']}").json()["status"] == "allocated"

    page.get_by_role("navigation", name="Console sections").get_by_role("link", name="Warehouses").click()
    page.get_by_role("link", name="Minhang DC").click()
    expect(page.locator("[data-route]").first).to_be_visible()
    expect(page.locator("[data-task]").first).to_be_visible()
    assert_accessible(page, context="the warehouse page")
    screenshot(page, "console_warehouse")

    page.goto(live_server.url("/console/exceptions"))
    decided = page.locator("details[data-exception]").first
    decided.locator("summary").click()
    expect(decided).to_contain_text("customer_confirmed")
    assert_accessible(page, context="the inbox with a decision")


def test_a_carrier_token_cannot_log_in(live_server: LiveServer, desk_page: Page) -> None:
    _ok(
        live_server.admin.put(
            "/v1/carriers/K9", json={"name": "K9", "vehicle_type": "van", "capacity_kg": 1, "capacity_m3": 1}
        )
    )
    token = _ok(live_server.admin.post("/v1/tokens", json={"role": "carrier", "subject": "K9"}))["token"]
    desk_page.goto(live_server.url("/console/login"))
    desk_page.get_by_label("API token").fill(token)
    desk_page.get_by_role("button", name="Log in").click()
    expect(desk_page.get_by_role("alert")).to_contain_text("carrier token cannot use the dispatch console")
    assert not [c for c in desk_page.context.cookies() if c["name"] == "dispatch_console"]
    assert_accessible(desk_page, context="the refused login")
