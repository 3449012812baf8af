"""The tracking page's issue-10 parts over HTTP on both backends: an ETA window that widens with
uncertainty and the position's age, the map of an order in transit (GCJ-02 points, the service's own
Leaflet, long-cached; no script on a page without a map), line by line what was ordered, reserved,
loaded and delivered with the reason of each shortfall, proof of delivery, the elder mode, and the whole
page's weight."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.static_files import STATIC_DIR
from geo.crs import wgs84_to_gcj02
from orders_core.orders.delays import DelayCode, describe

from .factories import ADMIN, make_token
from .test_tracking_api import DROP, W1, ago, place, setup

LAYOUT = {
    "kind": "rectangular",
    "aisles": 4,
    "aisle_spacing_m": 3.0,
    "aisle_length_m": 20.0,
    "blocks": 1,
    "slots_per_side": 10,
    "depot_x_m": 0.0,
}
CART = {"cart": {"max_items": 100, "max_weight_kg": 1000, "max_volume_m3": 10}}
#: The issue's budget for the whole page (HTML, scripts, styles), uncompressed.
PAGE_BUDGET_BYTES = 500_000
WINDOW = re.compile(
    r"预计 <time datetime=\"[^\"]+\">(\d\d:\d\d)</time>–<time datetime=\"[^\"]+\">(\d\d:\d\d)</time>送达"
)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return setup(make_client(transport={"assign_at": "manual", "retry_interval_s": 0}))


class Carrier:
    """A shipment of an order assigned to K1, and K1's callbacks about it."""

    def __init__(self, client: TestClient, order: dict[str, Any]) -> None:
        self.client = client
        shipment_id = order["shipments"][0]["id"]
        assigned = client.post(
            f"/v1/shipments/{shipment_id}/assign", json={"carrier_id": "K1", "reason": "test"}, headers=ADMIN
        )
        assert assigned.status_code == 200, assigned.text
        self.waybill_no = assigned.json()["waybill_no"]
        self.headers = make_token(client, "carrier", "K1")
        self.n = 0

    def report(self, **body: Any) -> dict[str, Any]:
        self.n += 1
        event = {"event_id": f"{self.waybill_no}-{self.n}", "waybill_no": self.waybill_no, **body}
        answer = self.client.post("/v1/carriers/K1/events", json=event, headers=self.headers)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


#: About 9.5 km from the drop-off: some 25 minutes' drive by the default policy.
AWAY = {"lat": 31.2900, "lng": 121.5300}


def on_the_way(client: TestClient, position_minutes_ago: float, at: dict[str, float] | None = None) -> dict[str, Any]:
    """An order picked up by K1 whose last position was reported ``position_minutes_ago``."""
    order = place(client, "C1", (("S1", 2), ("S2", 5)))
    carrier = Carrier(client, order)
    carrier.report(type="picked_up", at=ago(position_minutes_ago + 5))
    carrier.report(type="position", at=ago(position_minutes_ago), location=at or AWAY)
    return order


def reach_s(data: dict[str, Any], read_at: datetime) -> float:
    """How far past the forecast (or past now, once the forecast has passed) the window reaches."""
    window = data["eta_window"]
    centre = max(datetime.fromisoformat(window["eta_at"]), read_at)
    return (datetime.fromisoformat(window["latest"]) - centre).total_seconds()


def test_in_transit_the_page_shows_the_eta_window_and_the_age_of_the_position(client: TestClient) -> None:
    order = on_the_way(client, position_minutes_ago=7)
    url = order["tracking_url"]
    data = client.get(url + ".json").json()
    window = data["eta_window"]
    assert window is not None and data["position"]["age_s"] >= 7 * 60
    earliest, latest = datetime.fromisoformat(window["earliest"]), datetime.fromisoformat(window["latest"])
    assert earliest <= datetime.fromisoformat(data["eta_at"]) <= latest
    assert earliest >= datetime.now(UTC) - timedelta(seconds=5)  # never in the past
    page = client.get(url).text
    shown = WINDOW.search(page)
    assert shown is not None, page
    local = timedelta(hours=8)
    assert shown.groups() == ((earliest + local).strftime("%H:%M"), (latest + local).strftime("%H:%M"))
    assert "位置更新于 7 分钟前" in page
    english = client.get(url, params={"lang": "en"}).text
    assert "Position updated 7 min ago" in english and "Expected <time" in english and "送达" not in english


def test_an_older_position_gives_a_wider_window(client: TestClient) -> None:
    fresh_url = on_the_way(client, position_minutes_ago=1)["tracking_url"]
    # The same spot, seen 40 minutes ago: the vehicle may be anywhere on the way by now.
    stale_url = on_the_way(client, position_minutes_ago=40)["tracking_url"]
    read_at = datetime.now(UTC)
    fresh, stale = (client.get(url + ".json").json() for url in (fresh_url, stale_url))
    # 39 minutes older: half of that more on the late side (less rounding to 5 minutes).
    assert reach_s(stale, read_at) > reach_s(fresh, read_at) + 14 * 60


def test_a_carrier_that_delivered_later_than_forecast_gets_a_later_window(client: TestClient) -> None:
    first = client.get(on_the_way(client, position_minutes_ago=1)["tracking_url"] + ".json").json()
    reach_without_history = reach_s(first, datetime.now(UTC))
    # Five deliveries, each 25 minutes after the drop-off ETA forecast from the carrier's position.
    for _ in range(5):
        trip = Carrier(client, place(client))
        trip.report(type="picked_up", at=ago(70))
        eta = trip.report(type="position", at=ago(60), location=AWAY)["eta_at"]
        delivered_at = datetime.fromisoformat(eta) + timedelta(minutes=25)
        trip.report(type="delivered", at=delivered_at.isoformat(), location=DROP)
    later = client.get(on_the_way(client, position_minutes_ago=1)["tracking_url"] + ".json").json()
    assert reach_s(later, datetime.now(UTC)) >= reach_without_history + 20 * 60
    # Never early: the early side does not move.
    window = later["eta_window"]
    assert datetime.fromisoformat(window["eta_at"]) - datetime.fromisoformat(window["earliest"]) <= timedelta(
        minutes=15
    )


def test_the_map_shows_gcj02_points_with_the_services_own_leaflet(client: TestClient) -> None:
    spot = {"lat": 31.2280, "lng": 121.4740}
    order = on_the_way(client, position_minutes_ago=3, at=spot)
    answer = client.get(order["tracking_url"])
    page = answer.text
    assert 'id="track-map"' in page
    carrier = wgs84_to_gcj02(spot["lat"], spot["lng"])
    dropoff = wgs84_to_gcj02(DROP["lat"], DROP["lng"])
    assert f'data-carrier="{carrier[0]:.5f},{carrier[1]:.5f}"' in page
    assert f'data-dropoff="{dropoff[0]:.5f},{dropoff[1]:.5f}"' in page
    assert 'data-crs="gcj02"' in page
    # The JSON keeps the contract's WGS-84.
    assert client.get(order["tracking_url"] + ".json").json()["position"]["lat"] == spot["lat"]
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert [s.split("?")[0] for s in scripts] == ["/static/vendor/leaflet/leaflet.js", "/static/tracking-map.js"]
    assert all(re.search(r"\?v=[0-9a-f]{12}$", s) for s in scripts)
    assert "https://" not in page and "http://" not in page  # nothing from elsewhere
    assert page.index("</main>") < page.index("<script")  # the timeline renders before any script loads
    (policy,) = answer.headers.get_list("content-security-policy")
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy  # no inline script, no framing
    # Leaflet is served by the service, cached for a year (the ?v= hash changes with the file).
    for src in scripts:
        served = client.get(src)
        assert served.status_code == 200 and "javascript" in served.headers["content-type"]
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    # A plain link (no hash) is revalidated instead: it can never serve a stale file after an upgrade.
    plain = client.get(scripts[0].split("?")[0])
    assert plain.headers["cache-control"] == "public, no-cache" and plain.headers.get("etag")
    again = client.get(scripts[0].split("?")[0], headers={"If-None-Match": plain.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/static/vendor/leaflet/nothing-here.js").status_code == 404


def test_the_map_script_is_es5_for_wechats_built_in_browser() -> None:
    source = (STATIC_DIR / "tracking-map.js").read_text(encoding="utf-8")
    code = re.sub(r"/\*.*?\*/", "", source, flags=re.S)
    for modern in ("=>", "`", "let ", "const ", "class ", "async ", "await ", "?.", "??", "..."):
        assert modern not in code, modern
    assert "alert(" not in code and "confirm(" not in code


def test_a_page_without_a_map_loads_no_script(client: TestClient) -> None:
    answer = client.get(place(client)["tracking_url"])
    assert "<script" not in answer.text and "track-map" not in answer.text
    assert "script-src" not in answer.headers["content-security-policy"]


def test_wgs84_tiles_get_wgs84_points_and_their_origin_in_the_policy(make_client: Callable[..., TestClient]) -> None:
    tiles = {"tile_url": "https://{s}.tile.example.org/{z}/{x}/{y}.png", "tiles_gcj02": False}
    client = setup(make_client(transport={"assign_at": "manual"}, tracking=tiles))
    order = on_the_way(client, position_minutes_ago=2, at={"lat": 31.2280, "lng": 121.4740})
    answer = client.get(order["tracking_url"])
    assert 'data-carrier="31.22800,121.47400"' in answer.text and 'data-crs="wgs84"' in answer.text
    assert 'data-tile-url="https://{s}.tile.example.org/{z}/{x}/{y}.png"' in answer.text
    assert "img-src 'self' data: https://*.tile.example.org" in answer.headers["content-security-policy"]


class _Assets(HTMLParser):
    """The scripts and styles a page references."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script" and found.get("src"):
            self.urls.append(str(found["src"]))
        if tag == "link" and found.get("rel") == "stylesheet" and found.get("href"):
            self.urls.append(str(found["href"]))


def test_the_whole_page_weighs_well_under_500_kb(client: TestClient) -> None:
    order = on_the_way(client, position_minutes_ago=2)
    page = client.get(order["tracking_url"], headers={"Accept-Encoding": "identity"})
    assets = _Assets()
    assets.feed(page.text)
    assert len(assets.urls) == 3  # Leaflet's style and script, and the map's own script
    sizes = {url: len(client.get(url, headers={"Accept-Encoding": "identity"}).content) for url in assets.urls}
    total = len(page.content) + sum(sizes.values())
    print(f"tracking page weight: HTML {len(page.content)} B + assets {sizes} = {total} B")
    assert total < PAGE_BUDGET_BYTES


def test_proof_of_delivery_shows_signer_time_and_photo_reference(client: TestClient) -> None:
    order = place(client)
    carrier = Carrier(client, order)
    carrier.report(type="picked_up", at=ago(30))
    proof = {"signer": "王小明", "photo_ref": "POD-2026-0042", "note": "放在前台"}
    carrier.report(type="delivered", at=ago(1), location=DROP, proof=proof)
    data = client.get(order["tracking_url"] + ".json").json()
    (shipment,) = data["shipments"]
    assert shipment["proof"]["signer"] == "王小明" and shipment["proof"]["photo_ref"] == "POD-2026-0042"
    assert shipment["proof"]["location"] == {"lat": DROP["lat"], "lng": DROP["lng"]}
    assert data["eta_window"] is None and data["position"] is None
    page = client.get(order["tracking_url"]).text
    for shown in ("签收凭证", "签收人", "王小明", "签收照片编号", "POD-2026-0042", "放在前台", "送达时间"):
        assert shown in page
    assert "<script" not in page  # delivered: no map
    english = client.get(order["tracking_url"], params={"lang": "en"}).text
    assert "Proof of delivery" in english and "Photo reference" in english and "Signed by" in english
    (line,) = data["fulfilment"]
    assert (line["ordered"], line["reserved"], line["loaded"], line["delivered"]) == (2, 2, 2, 2)


def test_a_failed_delivery_is_the_shortfall_of_every_line_on_that_shipment(client: TestClient) -> None:
    order = place(client, "C1", (("S1", 2), ("S2", 5)))
    carrier = Carrier(client, order)
    carrier.report(type="picked_up", at=ago(30))
    carrier.report(type="position", at=ago(5), location=AWAY)
    carrier.report(type="failed", at=ago(2), reason="nobody home")
    data = client.get(order["tracking_url"] + ".json").json()
    # No ETA until the carrier says when it tries again, but where it was last seen still shows.
    assert data["eta_window"] is None and data["position"]["lat"] == AWAY["lat"]
    for line in data["fulfilment"]:
        assert line["loaded"] == line["ordered"] and line["delivered"] == 0
        assert line["shortfalls"] == [
            {
                "code": DelayCode.FAILED_DELIVERY_ATTEMPT.value,
                "qty": line["ordered"],
                "reason": describe(DelayCode.FAILED_DELIVERY_ATTEMPT, "zh"),
            }
        ]
    page = client.get(order["tracking_url"]).text
    assert f"缺 5 件：{describe(DelayCode.FAILED_DELIVERY_ATTEMPT, 'zh')}" in page
    assert "位置更新于 5 分钟前" in page and "派送失败 1 次" in page
    english = client.get(order["tracking_url"], params={"lang": "en"}).text
    assert f"5 short: {describe(DelayCode.FAILED_DELIVERY_ATTEMPT, 'en')}" in english


@pytest.fixture
def picking_client(make_client: Callable[..., TestClient]) -> TestClient:
    client = setup(make_client(transport={"assign_at": "manual", "retry_interval_s": 0}))
    assert client.put("/v1/warehouses/W1", json={"name": "East DC", "location": W1, "layout": LAYOUT}, headers=ADMIN)
    for sku, slot in (("S1", "A01-L-001"), ("S2", "A02-L-003")):
        assert client.put(f"/v1/warehouses/W1/slots/{sku}", json={"slot": slot}, headers=ADMIN).status_code == 200
    return client


def test_a_short_pick_shows_line_by_line_with_its_reason(picking_client: TestClient) -> None:
    client = picking_client
    order = place(client, "C1", (("S1", 4), ("S2", 10)))
    assert order["status"] == "allocated"
    staff = make_token(client, "warehouse", "W1")
    (task,) = client.post("/v1/warehouses/W1/waves", json=CART, headers=staff).json()["tasks"]
    picks = [{"step": s["step"], "picked_qty": 4 if s["sku"] == "S1" else 7} for s in task["steps"]]
    assert client.post(f"/v1/pick-tasks/{task['id']}/confirm", json={"picks": picks}, headers=staff).status_code == 200
    url = order["tracking_url"]
    lines = {line["sku"]: line for line in client.get(url + ".json").json()["fulfilment"]}
    assert (lines["S1"]["ordered"], lines["S1"]["reserved"], lines["S1"]["loaded"]) == (4, 4, 4)
    assert lines["S1"]["shortfalls"] == []
    assert (lines["S2"]["ordered"], lines["S2"]["reserved"], lines["S2"]["loaded"]) == (10, 10, 7)
    assert [(s["code"], s["qty"]) for s in lines["S2"]["shortfalls"]] == [(DelayCode.SHORT_PICK.value, 3)]
    page = client.get(url).text
    assert f"缺 3 件：{describe(DelayCode.SHORT_PICK, 'zh')}" in page
    # Shipped as picked: the line shrinks to 7, the customer still sees 10 ordered and why 3 did not come.
    read = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    (exception,) = [e for e in read["exceptions"] if e["kind"] == "short_pick"]
    approved = client.post(
        f"/v1/exceptions/{exception['id']}/approve",
        json={"strategy": "ship_picked", "remainder": "cancel"},
        headers=ADMIN,
    )
    assert approved.status_code == 200, approved.text
    lines = {line["sku"]: line for line in client.get(url + ".json").json()["fulfilment"]}
    assert (lines["S2"]["ordered"], lines["S2"]["reserved"], lines["S2"]["loaded"]) == (10, 7, 7)
    assert [(s["code"], s["qty"]) for s in lines["S2"]["shortfalls"]] == [(DelayCode.SHORT_PICK.value, 3)]


def test_elder_mode_is_kept_in_every_link_of_the_page(client: TestClient) -> None:
    url = on_the_way(client, position_minutes_ago=2)["tracking_url"]
    standard = client.get(url).text
    assert '<body class="standard">' in standard and f'href="{url}?lang=zh&amp;elder=1"' in standard
    elder = client.get(url, params={"elder": "1"}).text
    assert '<body class="elder">' in elder
    assert f'href="{url}?lang=en&amp;elder=1"' in elder  # the language switch keeps the mode
    assert f'href="{url}?lang=zh"' in elder  # and the way back
    english_elder = client.get(url, params={"elder": "1", "lang": "en"}).text
    assert "Standard text" in english_elder and f'href="{url}?lang=zh&amp;elder=1"' in english_elder
    assert "Larger text" in client.get(url, params={"lang": "en"}).text
