"""The customer's tracking page in Debian's Chromium on a phone-sized screen: an order in transit and
late shows every node with its delay reason, the delivery window, the position's age and the map (the
service's own Leaflet under the page's CSP); another order's link shows nothing of it; the English switch
and the elder mode work and are kept in the links; axe-core finds no WCAG 2.2 AA violation in either mode;
the page works without JavaScript; and its Largest Contentful Paint on Lighthouse's Slow 4G profile
(150 ms RTT, 1.6 Mbps down, 4x CPU slowdown) is within 2.5 s. Screenshots land in var/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from orders_core.orders.delays import describe
from orders_core.orders.promise import DeliveryTargets

from .conftest import PHONE, LiveServer, assert_accessible, screenshot, serve

MAIN_LINE = ["placed", "credit_review", "stock_locked", "allocated", "picking", "loaded", "in_transit", "delivered"]
W1 = {"lat": 31.2300, "lng": 121.4700}
#: Every step planned to take no time and the promise a minute after placement: the order runs late.
LATE_PLAN = DeliveryTargets(
    lead_time_s=60.0, **{name: 0.0 for name in DeliveryTargets.__dataclass_fields__ if name != "lead_time_s"}
)
#: Lighthouse's Slow 4G profile as the issue names it, and its CPU slowdown.
SLOW_4G = {"offline": False, "latency": 150, "downloadThroughput": 1.6e6 / 8, "uploadThroughput": 750e3 / 8}
CPU_SLOWDOWN = 4
LCP_BUDGET_MS = 2500


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def ok(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code in (200, 201), answer.text
    return dict(answer.json())


@pytest.fixture
def late_server(sqlite_database_url: str) -> Iterator[LiveServer]:
    """The service with a plan every order overruns, seeded with master data and one carrier near W1."""
    for server in serve(sqlite_database_url, delivery=LATE_PLAN):
        admin = server.admin
        ok(admin.put("/v1/warehouses/W1", json={"name": "华东仓", "location": W1}))
        for sku, name, price in (
            ("TEA-01", "乌龙茶 500g", 10),
            ("CUP-02", "纸杯 50只", 3),
            ("SECRET-9", "秘密商品", 7),
        ):
            body = {"name": name, "unit_price": price, "weight_kg": 1, "volume_m3": 0.01}
            ok(admin.put(f"/v1/skus/{sku}", json=body))
            ok(admin.put(f"/v1/warehouses/W1/stock/{sku}", json={"on_hand": 100}))
        for customer in ("C1", "C2"):
            ok(admin.put(f"/v1/customers/{customer}", json={"name": f"Shop {customer}", "credit_limit": 1_000_000}))
        carrier = {"name": "迅达货运", "vehicle_type": "van", "capacity_kg": 500, "capacity_m3": 5, "coverage": None}
        ok(admin.put("/v1/carriers/K1", json=carrier))
        yield server


def place(server: LiveServer, customer: str, lines: list[tuple[str, int, float]], address: str) -> dict[str, Any]:
    body = {
        "customer_id": customer,
        "lines": [{"sku": sku, "qty": qty, "unit_price": price} for sku, qty, price in lines],
        "delivery": {"lat": 31.2200, "lng": 121.4800, "address": address},
    }
    return ok(server.admin.post("/v1/orders", json=body))


class Trip:
    """K1 carrying the order's shipment: assigned, and its callbacks."""

    def __init__(self, server: LiveServer, order: dict[str, Any]) -> None:
        self.admin = server.admin
        shipment_id = order["shipments"][0]["id"]
        self.waybill_no = ok(
            self.admin.post(f"/v1/shipments/{shipment_id}/assign", json={"carrier_id": "K1", "reason": "test"})
        )["waybill_no"]
        token = ok(self.admin.post("/v1/tokens", json={"role": "carrier", "subject": "K1"}))["token"]
        self.headers = {"Authorization": f"Bearer {token}"}
        self.n = 0

    def report(self, **body: Any) -> None:
        self.n += 1
        event = {"event_id": f"{self.waybill_no}-{self.n}", "waybill_no": self.waybill_no, **body}
        ok(self.admin.post("/v1/carriers/K1/events", json=event, headers=self.headers))


def in_transit_and_late(server: LiveServer) -> dict[str, Any]:
    order = place(server, "C1", [("TEA-01", 3, 10), ("CUP-02", 20, 3)], "上海市黄浦区南京东路1号")
    trip = Trip(server, order)
    trip.report(type="picked_up", at=ago(5))
    # Seen 4 minutes ago some 7 km out: the page says so, and circles where the van may be by now.
    trip.report(type="position", at=ago(4), location={"lat": 31.2700, "lng": 121.5200})
    return order


def strict(page: Page) -> list[str]:
    """Collect console errors and fail on any dialog (no alerts on the page)."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    def refuse(dialog: Any) -> None:
        errors.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", refuse)
    return errors


def test_an_order_in_transit_and_late_on_a_phone(late_server: LiveServer, phone_page: Page) -> None:
    order = in_transit_and_late(late_server)
    url = late_server.url(order["tracking_url"])
    data = ok(late_server.admin.get(order["tracking_url"] + ".json"))
    assert data["status"] == "in_transit"
    late = [n for n in data["progress"] if n["late"] or n["forecast_late"]]
    assert late and all(n["delay_reason"] for n in late)
    errors = strict(phone_page)
    phone_page.goto(url)
    phone_page.wait_for_selector("#track-map.leaflet-container")
    assert phone_page.locator("html").get_attribute("lang") == "zh-CN"
    nodes = phone_page.locator("ol.nodes > li")
    assert [nodes.nth(i).get_attribute("data-status") for i in range(nodes.count())] == MAIN_LINE
    for node in late:
        item = phone_page.locator(f'ol.nodes > li[data-status="{node["status"]}"]')
        assert item.locator(".reason").is_visible()
        assert describe(node["delay_reason_code"], "zh") in item.inner_text()
    assert phone_page.locator(".position-age").inner_text() == "位置更新于 4 分钟前"
    window = phone_page.locator(".eta-window")
    assert window.is_visible() and window.inner_text().startswith("预计 ") and window.inner_text().endswith("送达")
    # The map: Leaflet ran under the page's CSP, drew the vehicle, the drop-off, the line and the circle.
    assert phone_page.locator("#track-map path").count() >= 4
    assert phone_page.locator("#track-map .map-fallback").count() == 0
    assert errors == []
    screenshot(phone_page, "tracking_zh_phone")
    assert_accessible(phone_page, context="tracking page (in transit, Chinese, phone)")


def test_another_orders_link_shows_nothing_of_this_one(late_server: LiveServer, phone_page: Page) -> None:
    mine = in_transit_and_late(late_server)
    theirs = place(late_server, "C2", [("SECRET-9", 1, 7)], "杭州市西湖区秘密路9号")
    phone_page.goto(late_server.url(theirs["tracking_url"]))
    shown = phone_page.content().replace(theirs["tracking_url"], "")  # its own random token may spell "C1"
    assert theirs["id"] in shown and "秘密商品" in shown and "杭州市西湖区秘密路9号" in shown
    for foreign in (mine["id"], "TEA-01", "CUP-02", "乌龙茶", "南京东路", mine["tracking_url"], "C1"):
        assert foreign not in shown
    phone_page.goto(late_server.url(mine["tracking_url"]))
    shown = phone_page.content().replace(mine["tracking_url"], "")
    for foreign in (theirs["id"], "SECRET-9", "秘密商品", "秘密路", theirs["tracking_url"], "C2"):
        assert foreign not in shown


def test_english_switch_and_elder_mode(late_server: LiveServer, phone_page: Page) -> None:
    order = in_transit_and_late(late_server)
    errors = strict(phone_page)
    phone_page.goto(late_server.url(order["tracking_url"]))
    phone_page.get_by_role("link", name="English").click()
    phone_page.wait_for_selector("#track-map.leaflet-container")
    assert phone_page.locator("html").get_attribute("lang") == "en"
    assert phone_page.get_by_role("heading", name="Progress").is_visible()
    assert phone_page.get_by_text("Position updated").first.is_visible()
    assert "订单进度" not in phone_page.content()
    phone_page.get_by_role("link", name="Larger text").click()
    phone_page.wait_for_selector("#track-map.leaflet-container")
    assert phone_page.locator("body").get_attribute("class") == "elder"
    assert "elder=1" in phone_page.url and "lang=en" in phone_page.url
    font_px = phone_page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert font_px >= 20
    # Every target (links, the map's zoom buttons) at least 44 x 44 CSS pixels.
    targets = phone_page.locator("a, button")
    for i in range(targets.count()):
        box = targets.nth(i).bounding_box()
        assert box is not None and box["width"] >= 44 and box["height"] >= 44, targets.nth(i).inner_text()
    assert_accessible(phone_page, context="tracking page (elder mode, English)")
    # Back to Chinese: the mode is remembered in the link, no cookie.
    phone_page.get_by_role("link", name="中文").click()
    assert phone_page.locator("body").get_attribute("class") == "elder"
    assert phone_page.context.cookies() == []
    phone_page.wait_for_selector("#track-map.leaflet-container")
    screenshot(phone_page, "tracking_elder_phone")
    assert_accessible(phone_page, context="tracking page (elder mode, Chinese)")
    assert errors == []


def test_a_delivered_order_shows_its_proof(late_server: LiveServer, phone_page: Page) -> None:
    order = place(late_server, "C1", [("TEA-01", 2, 10)], "上海市黄浦区南京东路1号")
    trip = Trip(late_server, order)
    trip.report(type="picked_up", at=ago(0.3))
    proof = {"signer": "王小明", "photo_ref": "POD-20261130-0042"}
    trip.report(type="delivered", at=ago(0.1), location={"lat": 31.2200, "lng": 121.4800}, proof=proof)
    phone_page.goto(late_server.url(order["tracking_url"]))
    assert phone_page.locator("ol.nodes > li.done").count() == len(MAIN_LINE)
    assert phone_page.get_by_role("heading", name="签收凭证").is_visible()
    for shown in ("王小明", "POD-20261130-0042"):
        assert phone_page.get_by_text(shown).is_visible()
    assert phone_page.locator("script").count() == 0 and phone_page.locator("#track-map").count() == 0
    screenshot(phone_page, "tracking_delivered_zh_phone")
    assert_accessible(phone_page, context="tracking page (delivered)")


def test_the_page_works_without_javascript(late_server: LiveServer, browser: Browser) -> None:
    order = in_transit_and_late(late_server)
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN", java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.goto(late_server.url(order["tracking_url"]))
        assert page.locator("ol.nodes > li").count() == len(MAIN_LINE)
        assert page.get_by_text("位置更新于").first.is_visible()
        assert page.locator(".eta-window").is_visible()
        assert page.locator("#track-map .map-fallback").is_visible()  # the map's text stands in for it
    finally:
        context.close()


def test_largest_contentful_paint_on_slow_4g_is_within_2_5_s(late_server: LiveServer, browser: Browser) -> None:
    order = in_transit_and_late(late_server)
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN")
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        cdp.send("Network.emulateNetworkConditions", SLOW_4G)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
        # Each LCP candidate as it is reported (its element may be gone by the end: the map's fallback text).
        page.add_init_script(
            """new PerformanceObserver(list => { for (const e of list.getEntries()) {
                (window.__lcp = window.__lcp || []).push(
                    {ms: e.startTime, tag: e.element ? e.element.tagName : null, size: e.size});
            }}).observe({type: 'largest-contentful-paint', buffered: true});"""
        )
        page.goto(late_server.url(order["tracking_url"]), wait_until="load")
        page.wait_for_selector("#track-map.leaflet-container")
        page.wait_for_timeout(500)
        entry = page.evaluate("window.__lcp[window.__lcp.length - 1]")
        loaded_ms = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        lcp = f"LCP {entry['ms']:.0f} ms (element {entry['tag']})"
        print(f"tracking page on Slow 4G + 4x CPU: {lcp}, load {loaded_ms:.0f} ms")
        assert loaded_ms > 1000  # the throttling holds: Leaflet alone takes most of a second at 1.6 Mbps
        assert entry["tag"] in ("P", "H1", "H2", "LI", "DD", "TD", "DIV", "SPAN")  # the largest paint is text
        assert entry["ms"] <= LCP_BUDGET_MS
    finally:
        context.close()
