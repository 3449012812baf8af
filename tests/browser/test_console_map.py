"""The console's live map in Chromium (issue 10, item 2): log in through the form, open the map, see the H3
hexagons of demand and of late deliveries, the carriers and orders drawn as SVG paths, toggle a layer, read
the same in the tables; axe-core finds no WCAG 2.2 AA violation; screenshot ``console_map.png``."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page

from .conftest import LiveServer, assert_accessible, screenshot, serve

WAREHOUSES = {"WH-XIAOSHAN": (30.18, 120.27), "WH-YUHANG": (30.42, 120.30), "WH-BINJIANG": (30.21, 120.21)}


@pytest.fixture
def map_server(sqlite_database_url: str) -> Iterator[LiveServer]:
    """The service with a one-second delivery promise, so that undelivered orders are late a second later."""
    yield from serve(sqlite_database_url, delivery={"lead_time_s": 1})


def _seed(server: LiveServer) -> str:
    """Warehouses, stock, customers, carriers with coverage and fresh positions, 60 orders; a dispatcher's token."""
    admin = server.admin
    for wid, (lat, lng) in WAREHOUSES.items():
        assert (
            admin.put(f"/v1/warehouses/{wid}", json={"name": wid, "location": {"lat": lat, "lng": lng}}).status_code
            == 201
        )
        body = {"name": "Water", "unit_price": 10, "weight_kg": 1, "volume_m3": 0.01}
        admin.put("/v1/skus/SKU-1", json=body)
        assert admin.put(f"/v1/warehouses/{wid}/stock/SKU-1", json={"on_hand": 10_000}).status_code == 200
    assert admin.put("/v1/customers/C1", json={"name": "Store", "credit_limit": 10_000_000}).status_code == 201
    fixes = []
    for n, (lat, lng) in enumerate(WAREHOUSES.values()):
        ring = [[lng - 0.15, lat - 0.12], [lng + 0.15, lat - 0.12], [lng + 0.15, lat + 0.12], [lng - 0.15, lat + 0.12]]
        coverage = {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
        body = {"name": f"Fleet {n}", "vehicle_type": "van", "capacity_kg": 800, "capacity_m3": 6, "coverage": coverage}
        assert admin.put(f"/v1/carriers/CAR-{n}", json=body).status_code == 201
        fixes.append(
            {"carrier_id": f"CAR-{n}", "lat": lat + 0.01, "lng": lng + 0.01, "ts": datetime.now(UTC).isoformat()}
        )
    assert admin.post("/v1/carriers/positions", json={"positions": fixes}).status_code == 200
    rng = random.Random(7)
    for _ in range(60):
        lat, lng = 30.15 + rng.random() * 0.3, 120.1 + rng.random() * 0.25
        body = {
            "customer_id": "C1",
            "lines": [{"sku": "SKU-1", "qty": 1, "unit_price": 10}],
            "delivery": {"lat": lat, "lng": lng, "address": "Somewhere"},
        }
        assert admin.post("/v1/orders", json=body).status_code == 201
    time.sleep(1.2)  # the one-second promises pass: every undelivered order is late
    token = admin.post("/v1/tokens", json={"role": "dispatcher"})
    assert token.status_code == 201, token.text
    return str(token.json()["token"])


def _log_in(page: Page, server: LiveServer, token: str) -> None:
    page.goto(server.url("/console/login?next=/console/map"))
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/console/map")


def test_the_map_draws_hexagons_points_and_tables(map_server: LiveServer, desk_page: Page) -> None:
    token = _seed(map_server)
    _log_in(desk_page, map_server, token)
    desk_page.wait_for_selector("#map[data-loaded='true']", timeout=20_000)
    demand = desk_page.locator("#map svg path.hex-demand")
    late = desk_page.locator("#map svg path.hex-late")
    assert demand.count() > 0 and late.count() > 0
    assert desk_page.locator("#map svg path.carrier").count() == 3
    assert desk_page.locator("#map svg path.order").count() == 60
    # The text alternative: the hottest cells and the carriers.
    hottest = desk_page.locator("#hottest-table tbody tr")
    assert hottest.count() > 0
    assert hottest.first.locator("td").nth(1).inner_text().isdigit()
    carriers = desk_page.locator("#carriers-table tbody tr")
    assert carriers.count() == 3 and "idle" in carriers.first.inner_text()
    assert "60 orders today (60 late)" in desk_page.locator("#map-status").inner_text()
    assert_accessible(desk_page, context="the live map")
    screenshot(desk_page, "console_map")
    # The toggle hides a layer and brings it back.
    desk_page.get_by_label("Demand hexagons").uncheck()
    assert desk_page.locator("#map svg path.hex-demand").count() == 0
    desk_page.get_by_label("Demand hexagons").check()
    assert desk_page.locator("#map svg path.hex-demand").count() == demand.count() > 0


def test_the_map_needs_a_login(map_server: LiveServer, desk_page: Page) -> None:
    desk_page.goto(map_server.url("/console/map"))
    assert "/console/login" in desk_page.url
