"""The desk lists and searches every resource over HTTP, on both backends (issue 12, items 3 and 5's lists).

Every list answers ``{"items", "next_cursor"}``; a cursor walk sees every item once in creation order (newest
first with ``order=desc``); repeated or comma-separated status filters match any of their values; an unknown
filter value is 422 ``invalid_filter``; order list items carry their timeline only when asked.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN, make_token, put_master_data

SQUARE = {"type": "Polygon", "coordinates": [[[13.3, 52.4], [13.5, 52.4], [13.5, 52.6], [13.3, 52.6], [13.3, 52.4]]]}


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client()
    put_master_data(
        test_client,
        warehouses={
            "W1": {"name": "Berlin North", "location": {"lat": 52.5, "lng": 13.4}},
            "W2": {"name": "Hamburg Port", "location": {"lat": 53.5, "lng": 10.0}},
        },
        skus={
            "S1": {"name": "Hex bolt M8", "unit_price": 10, "weight_kg": 1, "volume_m3": 0.01},
            "S2": {"name": "Hex nut M8", "unit_price": 1, "weight_kg": 0.1, "volume_m3": 0.001},
            "S3": {"name": "Washer 100%_wide", "unit_price": 1, "weight_kg": 0.1, "volume_m3": 0.001},
        },
        customers={
            "C1": {"name": "Acme Berlin", "credit_limit": 100000},
            "C2": {"name": "ACME Hamburg", "credit_limit": 100000},
            "C3": {"name": "Zeta Logistics", "credit_limit": 100000},
        },
        stock={("W1", "S1"): 100, ("W1", "S2"): 3, ("W1", "S3"): 40, ("W2", "S1"): 100},
    )
    return test_client


def walk(client: TestClient, path: str, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """Every item of a list, one page of ``limit`` at a time, following ``next_cursor``."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        answer = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})}, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert set(body) == {"items", "next_cursor"}, body.keys()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError("the cursor never ended")


def place(client: TestClient, customer: str, sku: str, qty: int, price: float) -> str:
    body = {
        "customer_id": customer,
        "lines": [{"sku": sku, "qty": qty, "unit_price": price}],
        "delivery": {"lat": 52.49, "lng": 13.4, "address": f"Hauptstrasse {qty}"},
    }
    answer = client.post("/v1/orders", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def test_master_data_lists_page_and_search_by_name(client: TestClient) -> None:
    staff = make_token(client, "warehouse", "W1")
    customers = walk(client, "/v1/customers", ADMIN, limit=1)
    assert [c["id"] for c in customers] == ["C1", "C2", "C3"]
    newest_first = walk(client, "/v1/customers", ADMIN, limit=2, order="desc")
    assert [c["id"] for c in newest_first] == ["C3", "C2", "C1"]
    acme = client.get("/v1/customers", params={"q": "acme"}, headers=staff).json()
    assert [c["id"] for c in acme["items"]] == ["C1", "C2"] and acme["items"][0]["name"] == "Acme Berlin"
    assert [s["sku"] for s in walk(client, "/v1/skus", staff, q="hex", limit=1)] == ["S1", "S2"]
    # % and _ are searched for as themselves, not as wildcards
    assert [s["sku"] for s in client.get("/v1/skus?q=100%25_", headers=ADMIN).json()["items"]] == ["S3"]
    assert client.get("/v1/skus?q=0%25", headers=ADMIN).json()["items"][0]["sku"] == "S3"
    assert client.get("/v1/skus?q=%25%25", headers=ADMIN).json()["items"] == []
    warehouses = client.get("/v1/warehouses", params={"q": "port"}, headers=ADMIN).json()
    assert warehouses == {"items": [warehouses["items"][0]], "next_cursor": None}
    assert warehouses["items"][0]["id"] == "W2"
    assert client.get("/v1/customers", headers=make_token(client, "customer", "C1")).status_code == 403

    first = client.get("/v1/customers", params={"limit": 1}, headers=ADMIN).json()
    flipped = client.get(
        "/v1/customers", params={"limit": 1, "order": "desc", "cursor": first["next_cursor"]}, headers=ADMIN
    )
    assert flipped.status_code == 422 and flipped.json()["error"]["code"] == "invalid_cursor"
    forged = client.get("/v1/customers", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=ADMIN)
    assert forged.status_code == 422 and forged.json()["error"]["code"] == "invalid_cursor"
    assert client.get("/v1/customers", params={"limit": 201}, headers=ADMIN).status_code == 422
    assert client.get("/v1/customers", params={"order": "newest"}, headers=ADMIN).status_code == 422


def test_carriers_geofences_and_stock_are_listed_with_their_filters(client: TestClient) -> None:
    for carrier_id, name, vehicle in (
        ("K1", "Kurier Nord", "van"),
        ("K2", "Bike Bros", "bike"),
        ("K3", "Kurier Sued", "truck"),
    ):
        body = {"name": name, "vehicle_type": vehicle, "capacity_kg": 500, "capacity_m3": 5, "coverage": None}
        assert client.put(f"/v1/carriers/{carrier_id}", json=body, headers=ADMIN).status_code == 201
    assert [c["id"] for c in walk(client, "/v1/carriers", ADMIN, limit=2)] == ["K1", "K2", "K3"]
    kurier = client.get("/v1/carriers", params={"q": "kurier", "order": "desc"}, headers=ADMIN).json()["items"]
    assert [c["id"] for c in kurier] == ["K3", "K1"]
    vans_and_bikes = client.get("/v1/carriers?vehicle_type=van&vehicle_type=bike", headers=ADMIN).json()["items"]
    assert [c["id"] for c in vans_and_bikes] == ["K1", "K2"]
    assert client.get("/v1/carriers", params={"vehicle_type": "van\x00"}, headers=ADMIN).status_code == 422
    own = client.get("/v1/carriers", headers=make_token(client, "carrier", "K2")).json()["items"]
    assert [c["id"] for c in own] == ["K2"]

    for fence_id, kind, owner in (
        ("F1", "service_area", None),
        ("F2", "restricted_zone", None),
        ("F3", "carrier_coverage", "K1"),
    ):
        body = {"kind": kind, "geometry": SQUARE, "name": f"Zone {fence_id}", "owner_id": owner}
        assert client.put(f"/v1/geofences/{fence_id}", json=body, headers=ADMIN).status_code == 201
    zones = client.get("/v1/geofences?kind=service_area,restricted_zone", headers=ADMIN).json()
    assert [f["id"] for f in zones["items"]] == ["F1", "F2"] and zones["next_cursor"] is None
    assert [f["id"] for f in client.get("/v1/geofences?owner_id=K1", headers=ADMIN).json()["items"]] == ["F3"]
    assert [f["id"] for f in walk(client, "/v1/geofences", ADMIN, limit=1, order="desc")] == ["F3", "F2", "F1"]
    bad = client.get("/v1/geofences?kind=no_fly_zone", headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_filter"
    assert "no_fly_zone" in bad.json()["error"]["message"]

    staff = make_token(client, "warehouse", "W1")
    stock = walk(client, "/v1/warehouses/W1/stock", staff, limit=2)
    assert [(s["sku"], s["on_hand"], s["available"]) for s in stock] == [("S1", 100, 100), ("S2", 3, 3), ("S3", 40, 40)]
    low = client.get("/v1/warehouses/W1/stock", params={"max_available": 10}, headers=staff).json()["items"]
    assert [s["sku"] for s in low] == ["S2"]
    nuts = client.get("/v1/warehouses/W1/stock", params={"q": "NUT"}, headers=staff).json()["items"]
    assert [s["sku"] for s in nuts] == ["S2"]
    assert [s["sku"] for s in client.get("/v1/warehouses/W2/stock", headers=ADMIN).json()["items"]] == ["S1"]
    assert client.get("/v1/warehouses/W2/stock", headers=staff).status_code == 403  # a W1 token: scoped
    assert client.get("/v1/warehouses/nope/stock", headers=ADMIN).status_code == 404


def test_tokens_are_listed_page_by_page_by_role(client: TestClient) -> None:
    make_token(client, "warehouse", "W1")
    make_token(client, "carrier", "K1")
    revoked = client.post("/v1/tokens", json={"role": "warehouse", "subject": "W2"}, headers=ADMIN).json()
    assert client.delete(f"/v1/tokens/{revoked['id']}", headers=ADMIN).status_code == 204
    everything = walk(client, "/v1/tokens", ADMIN, limit=1)
    assert [t["role"] for t in everything] == ["warehouse", "carrier", "warehouse"]
    assert all("token" not in t for t in everything)
    live_warehouse = client.get("/v1/tokens?role=warehouse&revoked=false", headers=ADMIN).json()["items"]
    assert [t["subject"] for t in live_warehouse] == ["W1"]
    assert len(client.get("/v1/tokens?role=warehouse&role=carrier", headers=ADMIN).json()["items"]) == 3
    bad = client.get("/v1/tokens?role=superuser", headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_filter"


def test_the_desk_filters_orders_by_several_statuses_and_reads_them_without_timelines(client: TestClient) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    held = place(client, "C1", "S1", 1, price=5)  # price conflict: on hold
    allocated = place(client, "C2", "S1", 2, price=10)
    other = place(client, "C3", "S2", 1, price=1)
    statuses = {o: client.get(f"/v1/orders/{o}", headers=ADMIN).json()["status"] for o in (held, allocated, other)}
    assert statuses == {held: "on_hold", allocated: "allocated", other: "allocated"}

    both = client.get("/v1/orders?status=on_hold&status=allocated", headers=ADMIN).json()["items"]
    assert [o["id"] for o in both] == [held, allocated, other]
    assert [o["id"] for o in client.get("/v1/orders?status=on_hold", headers=ADMIN).json()["items"]] == [held]
    comma = client.get("/v1/orders?status=on_hold,picking", headers=ADMIN).json()["items"]
    assert [o["id"] for o in comma] == [held]
    bad = client.get("/v1/orders?status=on_hold&status=shipped", headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_filter"
    assert "shipped" in bad.json()["error"]["message"]

    page = client.get("/v1/orders", headers=ADMIN).json()
    assert all("timeline" not in o and "progress" not in o for o in page["items"])
    assert page["items"][0]["status"] == "on_hold"
    full = client.get("/v1/orders?include=timeline,progress", headers=ADMIN).json()
    one = client.get(f"/v1/orders/{allocated}", headers=ADMIN).json()
    assert all(o["timeline"] and o["progress"] for o in full["items"])
    assert full["items"][1]["timeline"] == one["timeline"]
    due = [(node["status"], node["due_at"]) for node in one["progress"]]  # forecasts move with the clock
    assert [(node["status"], node["due_at"]) for node in full["items"][1]["progress"]] == due
    only_timeline = client.get("/v1/orders?include=timeline", headers=ADMIN).json()["items"]
    assert all(o["timeline"] and "progress" not in o for o in only_timeline)
    assert 2 * len(json.dumps(page)) < len(json.dumps(full))
    assert client.get("/v1/orders?include=everything", headers=ADMIN).status_code == 422

    assert [o["id"] for o in walk(client, "/v1/orders", ADMIN, limit=2, order="desc")] == [other, allocated, held]
    acme = client.get("/v1/orders", params={"q": "acme"}, headers=ADMIN).json()["items"]
    assert [o["id"] for o in acme] == [held, allocated]
    at_w1 = client.get("/v1/orders", params={"warehouse_id": "W1"}, headers=ADMIN).json()["items"]
    assert [o["id"] for o in at_w1] == [allocated, other]  # the held order has no shipment yet
    after_at = datetime.now(UTC) + timedelta(seconds=1)
    after = after_at.isoformat()
    in_range = client.get("/v1/orders", params={"created_from": before.isoformat(), "created_to": after}, headers=ADMIN)
    assert len(in_range.json()["items"]) == 3
    assert client.get("/v1/orders", params={"created_from": after}, headers=ADMIN).json()["items"] == []
    # the same instants with another offset select the same orders
    plus5 = timezone(timedelta(hours=5))
    shifted = {
        "created_from": before.astimezone(plus5).isoformat(),
        "created_to": after_at.astimezone(plus5).isoformat(),
    }
    assert len(client.get("/v1/orders", params=shifted, headers=ADMIN).json()["items"]) == 3
    late_start = {"created_from": after_at.astimezone(plus5).isoformat()}
    assert client.get("/v1/orders", params=late_start, headers=ADMIN).json()["items"] == []
    empty_range = client.get(
        "/v1/orders", params={"created_from": after, "created_to": before.isoformat()}, headers=ADMIN
    )
    assert empty_range.status_code == 422
    before_utc = client.get("/v1/orders", params={"created_from": "0001-01-01T00:00:00+05:00"}, headers=ADMIN)
    assert before_utc.status_code == 422 and before_utc.json()["error"]["code"] == "invalid_filter"
    own = client.get("/v1/orders?status=allocated", headers=make_token(client, "customer", "C2")).json()["items"]
    assert [o["id"] for o in own] == [allocated]


def test_exceptions_page_with_a_cursor_and_filter_by_kind_and_warehouse(client: TestClient) -> None:
    conflicts = [place(client, "C1", "S1", n, price=5) for n in (1, 2, 3)]
    short = place(client, "C2", "S2", 50, price=1)  # 3 on hand: stock shortage
    exceptions = walk(client, "/v1/exceptions", ADMIN, limit=2)
    assert [e["order_id"] for e in exceptions] == [*conflicts, short]
    assert [e["kind"] for e in exceptions] == ["price_conflict"] * 3 + ["stock_shortage"]
    newest = walk(client, "/v1/exceptions", ADMIN, limit=3, order="desc")
    assert [e["id"] for e in newest] == [e["id"] for e in reversed(exceptions)]
    kinds = client.get("/v1/exceptions?kind=stock_shortage&kind=credit_limit_exceeded&status=open", headers=ADMIN)
    assert [e["order_id"] for e in kinds.json()["items"]] == [short]
    bad = client.get("/v1/exceptions?kind=bad_weather", headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_filter"
    assert client.get("/v1/exceptions?status=open,resolved", headers=ADMIN).status_code == 422
    assert client.get("/v1/exceptions?warehouse_id=W2", headers=ADMIN).json()["items"] == []
    one = client.get("/v1/exceptions", params={"order_id": conflicts[1]}, headers=make_token(client, "warehouse", "W1"))
    assert [e["order_id"] for e in one.json()["items"]] == [conflicts[1]]


def test_shipments_and_waybills_are_listed_by_status_and_carrier(client: TestClient) -> None:
    for carrier_id in ("K1", "K2"):
        body = {"name": carrier_id, "vehicle_type": "van", "capacity_kg": 500, "capacity_m3": 5, "coverage": None}
        assert client.put(f"/v1/carriers/{carrier_id}", json=body, headers=ADMIN).status_code == 201
    orders = [place(client, "C1", "S1", n, price=10) for n in (1, 2, 3)]
    shipments = walk(client, "/v1/shipments", ADMIN, limit=2)
    assert [s["order_id"] for s in shipments] == orders and {s["status"] for s in shipments} == {"ready"}
    assert shipments[1]["lines"] == [{"sku": "S1", "qty": 2}] and shipments[1]["warehouse_id"] == "W1"
    for shipment, carrier_id in zip(shipments[:2], ("K1", "K2"), strict=True):
        body = {"carrier_id": carrier_id, "reason": "desk's choice"}
        assert client.post(f"/v1/shipments/{shipment['id']}/assign", json=body, headers=ADMIN).status_code == 200
    ready = client.get("/v1/shipments?status=ready", headers=make_token(client, "warehouse", "W1")).json()["items"]
    assert [s["id"] for s in ready] == [shipments[2]["id"]]
    by_k2 = client.get("/v1/shipments", params={"carrier_id": "K2"}, headers=ADMIN).json()["items"]
    assert [s["id"] for s in by_k2] == [shipments[1]["id"]] and by_k2[0]["waybill_no"]
    assert client.get("/v1/shipments?status=lost", headers=ADMIN).status_code == 422

    waybills = client.get("/v1/waybills", params={"status": "issued", "order": "desc"}, headers=ADMIN).json()
    assert [w["order_id"] for w in waybills["items"]] == [orders[1], orders[0]]
    one = waybills["items"][1]
    assert one == client.get(f"/v1/waybills/{one['waybill_no']}", headers=ADMIN).json()
    own = client.get("/v1/waybills", headers=make_token(client, "carrier", "K2")).json()["items"]
    assert [w["carrier_id"] for w in own] == ["K2"]
    foreign = client.get("/v1/waybills", params={"carrier_id": "K1"}, headers=make_token(client, "carrier", "K2"))
    assert foreign.status_code == 403
    assert client.get("/v1/waybills?status=lost", headers=ADMIN).status_code == 422
