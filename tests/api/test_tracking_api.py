"""The customer's tracking page over HTTP on both backends: every order answers a ``tracking_url`` served
without auth; the page shows that order's nodes, lines and shipments and nothing of another order;
Chinese by default, English on request; a late node names its reason; the JSON variant answers the
same data; unknown tokens are 404 whatever they look like, and a client that misses too often gets 429."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orders_core.orders.delays import DelayCode, describe
from orders_core.orders.promise import DeliveryTargets

from .factories import ADMIN, app_client, make_token, put_master_data

MAIN_LINE = ["placed", "credit_review", "stock_locked", "allocated", "picking", "loaded", "in_transit", "delivered"]
W1 = {"lat": 31.2300, "lng": 121.4700}
DROP: dict[str, Any] = {"lat": 31.2200, "lng": 121.4800, "address": "南京东路1号"}


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def setup(client: TestClient, credit_limit: float = 1_000_000) -> TestClient:
    put_master_data(
        client,
        warehouses={"W1": {"name": "East DC", "location": W1}},
        skus={
            "S1": {"name": "Oolong Tea", "unit_price": 10, "weight_kg": 1, "volume_m3": 0.01},
            "S2": {"name": "Paper Cups", "unit_price": 3, "weight_kg": 1, "volume_m3": 0.01},
        },
        customers={
            "C1": {"name": "Shop One", "credit_limit": credit_limit},
            "C2": {"name": "Shop Two", "credit_limit": 1_000_000},
        },
        stock={("W1", "S1"): 100, ("W1", "S2"): 100},
    )
    body = {"name": "Swift Van Co", "vehicle_type": "van", "capacity_kg": 500, "capacity_m3": 5, "coverage": None}
    assert client.put("/v1/carriers/K1", json=body, headers=ADMIN).status_code == 201
    fix = {"carrier_id": "K1", "lat": W1["lat"], "lng": W1["lng"], "ts": ago(1)}
    assert client.post("/v1/carriers/positions", json={"positions": [fix]}, headers=ADMIN).status_code == 200
    return client


def place(
    client: TestClient, customer: str = "C1", lines: tuple[tuple[str, int], ...] = (("S1", 2),), **extra: Any
) -> dict[str, Any]:
    body = {
        "customer_id": customer,
        "lines": [{"sku": sku, "qty": qty, "unit_price": 10 if sku == "S1" else 3} for sku, qty in lines],
        "delivery": {**DROP, **extra},
    }
    answer = client.post("/v1/orders", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()
    return order


def nodes_of(page: str) -> list[str]:
    return re.findall(r'data-status="([a-z_]+)"', page)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return setup(make_client(transport={"assign_at": "manual", "retry_interval_s": 0}))


def test_every_order_answer_carries_a_tracking_url_served_without_auth(client: TestClient) -> None:
    order = place(client)
    url = order["tracking_url"]
    assert re.fullmatch(r"/track/[A-Za-z0-9_-]{32}", url)
    read = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    listed = client.get("/v1/orders", headers=ADMIN).json()["items"]
    assert read["tracking_url"] == url and [o["tracking_url"] for o in listed] == [url]
    other = place(client, "C2", (("S2", 1),))
    assert other["tracking_url"] != url
    page = client.get(url)  # no Authorization header
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert len(page.content) < 30_000
    assert "<script" not in page.text and "http://" not in page.text and "https://" not in page.text
    assert nodes_of(page.text) == MAIN_LINE
    assert order["id"] in page.text and "Oolong Tea" in page.text and "S1" in page.text


def test_an_idempotent_replay_answers_the_same_tracking_url(client: TestClient) -> None:
    body = {"customer_id": "C1", "lines": [{"sku": "S1", "qty": 1, "unit_price": 10}], "delivery": DROP}
    headers = {**ADMIN, "Idempotency-Key": "k-1"}
    first = client.post("/v1/orders", json=body, headers=headers)
    again = client.post("/v1/orders", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["tracking_url"] == again.json()["tracking_url"] is not None


def test_the_page_shows_that_order_alone(client: TestClient) -> None:
    mine = place(client, "C1", (("S1", 3),))
    theirs = place(client, "C2", (("S2", 7),), address="Secret Street 9")
    # The page's own links carry its random token, which may spell "S2" or "C2" by chance: left out here.
    page = client.get(mine["tracking_url"]).text.replace(mine["tracking_url"], "")
    assert mine["id"] in page and "Oolong Tea" in page
    for foreign in (theirs["id"], "Paper Cups", "S2", "Secret Street 9", "C2", "Shop Two", "Shop One"):
        assert foreign not in page
    data = client.get(mine["tracking_url"] + ".json").json()
    text = repr(data)
    for foreign in (theirs["id"], "Paper Cups", "Secret Street 9", "C2", "Shop", "credit_limit", "1000000"):
        assert foreign not in text
    assert "customer_id" not in data


def test_chinese_by_default_english_by_header_or_switch(client: TestClient) -> None:
    url = place(client)["tracking_url"]
    chinese = client.get(url).text
    assert '<html lang="zh-CN">' in chinese and "订单进度" in chinese and "已下单" in chinese
    assert f'href="{url}?lang=en"' in chinese
    by_header = client.get(url, headers={"Accept-Language": "en-US,en;q=0.9,zh;q=0.5"}).text
    by_switch = client.get(url, params={"lang": "en"}).text
    for english in (by_header, by_switch):
        assert '<html lang="en">' in english and "Progress" in english and "Order placed" in english
        assert "订单进度" not in english
    preferring_chinese = client.get(url, headers={"Accept-Language": "en;q=0.5,zh-CN"}).text
    assert '<html lang="zh-CN">' in preferring_chinese
    assert client.get(url + ".json", params={"lang": "en"}).json()["progress"][0]["label"] == "Order placed"
    assert client.get(url + ".json").json()["progress"][0]["label"] == "已下单"


def test_a_late_node_shows_its_reason_in_plain_language(make_client: Callable[..., TestClient]) -> None:
    # Every step planned to take no time: any wait is late. A credit limit of 10 holds the order of 20.
    zero = {name: 0.0 for name in DeliveryTargets.__dataclass_fields__ if name != "lead_time_s"}
    client = setup(make_client(delivery=DeliveryTargets(**zero)), credit_limit=10)
    order = place(client)
    assert order["status"] == "on_hold"
    url = order["tracking_url"]
    data = client.get(url + ".json").json()
    nodes = {n["status"]: n for n in data["progress"]}
    assert nodes["stock_locked"]["late"] and nodes["stock_locked"]["reached_at"] is None
    assert nodes["stock_locked"]["delay_reason_code"] == DelayCode.CREDIT_HOLD.value
    assert nodes["stock_locked"]["delay_reason"] == describe(DelayCode.CREDIT_HOLD, "zh")
    page = client.get(url).text
    assert describe(DelayCode.CREDIT_HOLD, "zh") in page and 'class="reason"' in page
    english = client.get(url, params={"lang": "en"}).text
    assert describe(DelayCode.CREDIT_HOLD, "en") in english
    # The same reason the order answer gives.
    read = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    assert {n["status"]: n["delay_reason_code"] for n in read["progress"]} == {
        n["status"]: n["delay_reason_code"] for n in data["progress"]
    }


def test_shipments_carrier_waybill_eta_and_proof_of_delivery(client: TestClient) -> None:
    order = place(client, "C1", (("S1", 2), ("S2", 5)))
    shipment_id = order["shipments"][0]["id"]
    choice = {"carrier_id": "K1", "reason": "test"}
    assigned = client.post(f"/v1/shipments/{shipment_id}/assign", json=choice, headers=ADMIN)
    assert assigned.status_code == 200, assigned.text
    waybill_no = assigned.json()["waybill_no"]
    k1 = make_token(client, "carrier", "K1")

    def report(**body: Any) -> None:
        answer = client.post("/v1/carriers/K1/events", json={"waybill_no": waybill_no, **body}, headers=k1)
        assert answer.status_code == 200, answer.text

    report(event_id="e1", type="picked_up", at=ago(3))
    report(event_id="e2", type="position", at=ago(1), location={"lat": 31.225, "lng": 121.475})
    url = order["tracking_url"]
    moving = client.get(url + ".json").json()
    assert moving["status"] == "in_transit" and moving["eta_at"] is not None
    (shipment,) = moving["shipments"]
    assert shipment["carrier"] == "Swift Van Co" and shipment["waybill_no"] == waybill_no
    assert shipment["warehouse"] == "East DC" and shipment["eta_at"] is not None
    assert {(line["sku"], line["qty"]) for line in shipment["lines"]} == {("S1", 2), ("S2", 5)}
    page = client.get(url).text
    assert waybill_no in page and "Swift Van Co" in page and "预计送达" in page and "运输中" in page

    report(event_id="e3", type="delivered", at=ago(0), location=DROP, proof={"signer": "王小明"})
    done = client.get(url + ".json").json()
    assert done["status"] == "delivered" and done["eta_at"] is None
    assert done["shipments"][0]["signer"] == "王小明" and done["shipments"][0]["delivered_at"] is not None
    assert all(node["reached_at"] is not None for node in done["progress"])
    page = client.get(url).text
    assert "签收人" in page and "王小明" in page
    assert page.count('class="done') == len(MAIN_LINE)


def test_the_json_variant_answers_the_same_data(client: TestClient) -> None:
    order = place(client, "C1", (("S1", 2), ("S2", 1)))
    url = order["tracking_url"]
    by_suffix = client.get(url + ".json")
    by_query = client.get(url, params={"format": "json"})
    assert by_suffix.status_code == by_query.status_code == 200
    assert by_suffix.headers["content-type"] == "application/json"
    data = by_suffix.json()
    assert data == by_query.json()
    assert data["order_id"] == order["id"] and data["language"] == "zh"
    assert [n["status"] for n in data["progress"]] == MAIN_LINE
    assert [(line["sku"], line["qty"], line["unit_price"]) for line in data["lines"]] == [
        ("S1", 2, 10.0),
        ("S2", 1, 3.0),
    ]
    assert data["total"] == 23.0
    read = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    assert [n["due_at"] for n in data["progress"]] == [n["due_at"] for n in read["progress"]]
    assert [n["reached_at"] for n in data["progress"]] == [n["reached_at"] for n in read["progress"]]


def test_unknown_tokens_are_404_whatever_they_look_like(client: TestClient) -> None:
    place(client)
    pages = set()
    for token in ("x", "A" * 32, "ord_" + "0" * 16, "a.b", "%E4%B8%AD", "' OR 1=1 --", "A" * 300):
        answer = client.get(f"/track/{token}")
        assert answer.status_code == 404, token
        pages.add(answer.text)
        missing = client.get(f"/track/{token}.json")
        assert missing.status_code == 404
        assert missing.json() == {"error": {"code": "tracking_not_found", "message": "no such tracking link"}}
    assert len(pages) == 1 and "未找到订单" in pages.pop()


def test_a_client_guessing_tokens_is_rate_limited(make_client: Callable[..., TestClient]) -> None:
    client = setup(make_client(tracking={"miss_limit": 20, "miss_window_s": 60}))
    url = place(client)["tracking_url"]
    for n in range(20):
        assert client.get(f"/track/guess{n:020d}").status_code == 404
    limited = client.get("/track/guess-number-twenty-one")
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # While limited, a right guess cannot be told from a wrong one.
    assert client.get(url).status_code == 429
    as_json = client.get(url + ".json")
    assert as_json.status_code == 429 and as_json.json()["error"]["code"] == "rate_limited"
    # Authenticated API calls are not affected.
    assert client.get("/v1/orders", headers=ADMIN).status_code == 200


def test_hits_do_not_count_towards_the_limit(make_client: Callable[..., TestClient]) -> None:
    client = setup(make_client(tracking={"miss_limit": 2, "miss_window_s": 60}))
    url = place(client)["tracking_url"]
    for _ in range(10):
        assert client.get(url).status_code == 200
    assert client.get("/track/nope-nope-nope-nope").status_code == 404
    assert client.get(url).status_code == 200
    assert client.get("/track/nope-nope-nope-nope").status_code == 404
    assert client.get(url).status_code == 429


def test_with_redis_two_processes_count_misses_together(database_url: str, fresh_redis_url: str) -> None:
    options: dict[str, Any] = {"redis_url": fresh_redis_url, "tracking": {"miss_limit": 4, "miss_window_s": 60}}
    with app_client(database_url, **options) as first, app_client(database_url, **options) as second:
        setup(first)
        url = place(first)["tracking_url"]
        assert second.get(url).status_code == 200
        for n in range(2):
            assert first.get(f"/track/wrong-guess-{n:012d}").status_code == 404
            assert second.get(f"/track/wrong-guess-{n:012d}").status_code == 404
        assert first.get(url).status_code == 429
        assert second.get(url).status_code == 429


def test_a_cancelled_order_shows_what_will_not_happen(client: TestClient) -> None:
    order = place(client)
    assert client.post(f"/v1/orders/{order['id']}/cancel", json={}, headers=ADMIN).status_code == 200
    data = client.get(order["tracking_url"] + ".json", params={"lang": "en"}).json()
    assert data["status"] == "cancelled" and data["status_label"] == "Cancelled"
    assert data["shipments"] == []
    ahead = [n for n in data["progress"] if n["reached_at"] is None]
    assert ahead and all(n["expected_at"] is None and not n["late"] for n in ahead)
    page = client.get(order["tracking_url"], params={"lang": "en"}).text
    assert "Cancelled" in page and page.count("Not going ahead") == len(ahead)
