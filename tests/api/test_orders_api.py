"""Orders over HTTP on both backends: intake with the automatic pipeline, idempotency, every 4xx (and
that nothing was written), customer scoping, listing with cursors, cancellation."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN, app_client, make_token, put_master_data


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client()
    put_master_data(
        test_client,
        warehouses={
            "W1": {"name": "W1", "location": {"lat": 52.50, "lng": 13.4}},
            "W2": {"name": "W2", "location": {"lat": 52.60, "lng": 13.4}},
        },
        skus={
            "S1": {"name": "S1", "unit_price": 10, "weight_kg": 1, "volume_m3": 0.01},
            "S2": {"name": "S2", "unit_price": 2.5, "weight_kg": 1, "volume_m3": 0.01},
        },
        customers={"C1": {"name": "C1", "credit_limit": 1000}, "C2": {"name": "C2", "credit_limit": 1000}},
        stock={("W1", "S1"): 10, ("W2", "S2"): 10},
    )
    return test_client


def order_body(customer_id: str = "C1", qty: int = 2, price: float = 10, sku: str = "S1") -> dict[str, object]:
    return {
        "customer_id": customer_id,
        "lines": [{"sku": sku, "qty": qty, "unit_price": price}],
        "delivery": {"lat": 52.49, "lng": 13.4, "address": "Somewhere 1"},
    }


def available(client: TestClient, warehouse_id: str, sku: str) -> int:
    answer = client.get(f"/v1/warehouses/{warehouse_id}/stock/{sku}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["available"])


def order_count(client: TestClient) -> int:
    return len(client.get("/v1/orders", headers=ADMIN).json()["items"])


def test_order_is_checked_and_allocated_in_one_request(client: TestClient) -> None:
    answer = client.post("/v1/orders", json=order_body(), headers=ADMIN)
    assert answer.status_code == 201, answer.text
    order = answer.json()
    assert order["status"] == "allocated"
    assert order["customer_id"] == "C1"
    assert order["total"] == 20
    assert order["payment_status"] == "not_required"
    [shipment] = order["shipments"]
    assert shipment["id"].startswith("shp_") and shipment["status"] == "ready"
    assert (shipment["warehouse_id"], shipment["lines"]) == ("W1", [{"sku": "S1", "qty": 2}])
    assert [e["status"] for e in order["timeline"]] == ["placed", "credit_review", "stock_locked", "allocated"]
    for entry in order["timeline"]:
        assert entry["at"].endswith(("Z", "+00:00"))
        assert entry["reason_code"] and entry["actor"]
    got = client.get(f"/v1/orders/{order['id']}", headers=ADMIN)
    assert got.status_code == 200
    assert got.json() == order
    assert available(client, "W1", "S1") == 8


def test_split_order_has_two_shipments(client: TestClient) -> None:
    body = order_body()
    body["lines"] = [{"sku": "S1", "qty": 1, "unit_price": 10}, {"sku": "S2", "qty": 1, "unit_price": 2.5}]
    order = client.post("/v1/orders", json=body, headers=ADMIN).json()
    assert order["status"] == "allocated"
    assert sorted(s["warehouse_id"] for s in order["shipments"]) == ["W1", "W2"]


def test_same_idempotency_key_and_body_answers_the_same_order(client: TestClient) -> None:
    headers = {**ADMIN, "Idempotency-Key": "abc-1"}
    first = client.post("/v1/orders", json=order_body(), headers=headers)
    again = client.post("/v1/orders", json=order_body(), headers=headers)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert available(client, "W1", "S1") == 8
    reused = client.post("/v1/orders", json=order_body(qty=3), headers=headers)
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert order_count(client) == 1


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (order_body(customer_id="NOPE"), "customer_id"),
        (order_body(sku="NOPE"), "lines[0].sku"),
        (order_body(qty=0), "lines.0.qty"),
        (order_body(qty=-2), "lines.0.qty"),
        (order_body(price=-1), "lines.0.unit_price"),
        ({**order_body(), "delivery": {"lat": 91, "lng": 0}}, "delivery.lat"),
        ({**order_body(), "delivery": {"lat": 0, "lng": 200}}, "delivery.lng"),
        ({**order_body(), "lines": []}, "lines"),
        ({"lines": [], "delivery": {"lat": 0, "lng": 0}}, "customer_id"),
    ],
)
def test_invalid_order_is_422_naming_the_problem_and_writes_nothing(
    client: TestClient, body: dict[str, object], needle: str
) -> None:
    answer = client.post("/v1/orders", json=body, headers={**ADMIN, "Idempotency-Key": "bad-1"})
    assert answer.status_code == 422, answer.text
    assert needle in answer.json()["error"]["message"]
    assert order_count(client) == 0
    assert available(client, "W1", "S1") == 10
    # The key was not consumed by the failed attempt.
    assert (
        client.post("/v1/orders", json=order_body(), headers={**ADMIN, "Idempotency-Key": "bad-1"}).status_code == 201
    )


def test_malformed_json_is_422_not_500(client: TestClient) -> None:
    answer = client.post("/v1/orders", content=b"{not json", headers={**ADMIN, "Content-Type": "application/json"})
    assert answer.status_code == 422


def test_customer_places_and_sees_only_its_own_orders(client: TestClient) -> None:
    c1 = make_token(client, "customer", "C1")
    c2 = make_token(client, "customer", "C2")
    assert client.post("/v1/orders", json=order_body(customer_id="C2"), headers=c1).status_code == 403
    mine = client.post("/v1/orders", json=order_body(), headers=c1)
    assert mine.status_code == 201
    order_id = mine.json()["id"]
    assert mine.json()["timeline"][0]["actor"] == "customer:C1"
    assert client.get(f"/v1/orders/{order_id}", headers=c1).status_code == 200
    assert client.get(f"/v1/orders/{order_id}", headers=c2).status_code == 404
    assert client.get("/v1/orders", headers=c2).json()["items"] == []
    assert client.get("/v1/orders?customer_id=C1", headers=c2).status_code == 403
    assert client.post(f"/v1/orders/{order_id}/cancel", headers=c2).status_code == 404
    carrier = make_token(client, "carrier", "K1")
    assert client.post("/v1/orders", json=order_body(), headers=carrier).status_code == 403
    assert client.post("/v1/orders", json=order_body()).status_code == 401


def test_unknown_order_is_404(client: TestClient) -> None:
    assert client.get("/v1/orders/ord_nope", headers=ADMIN).status_code == 404
    assert client.post("/v1/orders/ord_nope/cancel", headers=ADMIN).status_code == 404


def test_cancel_releases_stock_and_twice_is_409(client: TestClient) -> None:
    order = client.post("/v1/orders", json=order_body(qty=4), headers=ADMIN).json()
    assert available(client, "W1", "S1") == 6
    answer = client.post(f"/v1/orders/{order['id']}/cancel", json={"reason": "changed mind"}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "cancelled"
    assert answer.json()["timeline"][-1]["reason"] == "changed mind"
    assert available(client, "W1", "S1") == 10
    again = client.post(f"/v1/orders/{order['id']}/cancel", headers=ADMIN)
    assert again.status_code == 409


def test_listing_pages_with_cursor_and_filters(client: TestClient) -> None:
    ids = [client.post("/v1/orders", json=order_body(qty=1), headers=ADMIN).json()["id"] for _ in range(5)]
    client.post("/v1/orders", json=order_body(qty=50), headers=ADMIN)  # on hold: shortage
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2, "status": "allocated"}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/orders", params=params, headers=ADMIN).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    held = client.get("/v1/orders", params={"status": "on_hold"}, headers=ADMIN).json()["items"]
    assert len(held) == 1 and held[0]["exceptions"][0]["kind"] == "stock_shortage"
    assert client.get("/v1/orders", params={"status": "nonsense"}, headers=ADMIN).status_code == 422
    assert client.get("/v1/orders", params={"cursor": "garbage!"}, headers=ADMIN).status_code == 422
    assert client.get("/v1/orders", params={"limit": 0}, headers=ADMIN).status_code == 422


def test_transitions_are_counted_in_metrics(client: TestClient) -> None:
    client.post("/v1/orders", json=order_body(), headers=ADMIN)
    metrics = client.get("/metrics").text
    assert 'dispatch_order_transitions_total{from_status="stock_locked",to_status="allocated"}' in metrics
    assert 'dispatch_orders{status="allocated"} 1.0' in metrics  # counted in this test's database


def test_concurrent_requests_with_one_idempotency_key_make_one_order(client: TestClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    headers = {**ADMIN, "Idempotency-Key": "race-1"}
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: client.post("/v1/orders", json=order_body(), headers=headers), range(4)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({a.json()["id"] for a in answers}) == 1
    assert order_count(client) == 1
    assert available(client, "W1", "S1") == 8


def test_pipeline_with_redis_stock_locks(database_url: str, fresh_redis_url: str) -> None:
    with app_client(database_url, redis_url=fresh_redis_url) as redis_client:
        redis_client.put(
            "/v1/warehouses/W1", json={"name": "W1", "location": {"lat": 52.5, "lng": 13.4}}, headers=ADMIN
        )
        item = {"name": "S1", "unit_price": 10, "weight_kg": 1, "volume_m3": 0.01}
        redis_client.put("/v1/skus/S1", json=item, headers=ADMIN)
        redis_client.put("/v1/customers/C1", json={"name": "C1", "credit_limit": 1000}, headers=ADMIN)
        redis_client.put("/v1/warehouses/W1/stock/S1", json={"on_hand": 3}, headers=ADMIN)
        first = redis_client.post("/v1/orders", json=order_body(qty=2), headers=ADMIN).json()
        assert first["status"] == "allocated"
        second = redis_client.post("/v1/orders", json=order_body(qty=2), headers=ADMIN).json()
        assert second["status"] == "on_hold"
        assert second["exceptions"][0]["details"]["missing"] == {"S1": 1}
        redis_client.post(f"/v1/orders/{first['id']}/cancel", headers=ADMIN)
        exception_id = second["exceptions"][0]["id"]
        assert redis_client.post(f"/v1/exceptions/{exception_id}/approve", headers=ADMIN).status_code == 200
        assert redis_client.get(f"/v1/orders/{second['id']}", headers=ADMIN).json()["status"] == "allocated"
        assert available(redis_client, "W1", "S1") == 1


def test_concurrent_orders_of_one_customer_neither_deadlock_nor_oversell(client: TestClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def place(index: int) -> str:
        answer = client.post("/v1/orders", json=order_body(qty=2), headers={**ADMIN, "Idempotency-Key": f"k{index}"})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["status"])

    with ThreadPoolExecutor(max_workers=6) as pool:
        outcomes = sorted(pool.map(place, range(6)))
    assert outcomes == ["allocated"] * 5 + ["on_hold"]
    assert available(client, "W1", "S1") == 0


def test_nul_characters_and_huge_numbers_are_422_not_500(client: TestClient) -> None:
    bad_bodies = [
        order_body(customer_id="C\x001"),
        order_body(sku="S\x001"),
        {**order_body(), "delivery": {"lat": 1, "lng": 1, "address": "a\x00b"}},
        order_body(qty=10**12),
        order_body(price=10**15),
    ]
    for body in bad_bodies:
        answer = client.post("/v1/orders", json=body, headers=ADMIN)
        assert answer.status_code == 422, (body, answer.text)
    huge = order_body(qty=999_999_999, price=999_999_999)
    assert client.post("/v1/orders", json=huge, headers=ADMIN).status_code == 422
    for path in ("/v1/orders/a%00b", "/v1/orders?customer_id=a%00b", "/v1/exceptions?kind=a%00b", "/v1/skus/a%00b"):
        assert client.get(path, headers=ADMIN).status_code == 422, path
    cursor_with_nul = "WyIyMDI2LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgImFcdTAwMDBiIl0"
    assert client.get(f"/v1/orders?cursor={cursor_with_nul}", headers=ADMIN).status_code == 422
    answer = client.put("/v1/customers/C7", json={"name": "x\x00", "credit_limit": 1}, headers=ADMIN)
    assert answer.status_code == 422
    assert order_count(client) == 0


def _lines(*lines: tuple[str, int, object]) -> list[dict[str, object]]:
    return [{"sku": sku, "qty": qty, "unit_price": price} for sku, qty, price in lines]


@pytest.mark.parametrize(
    ("lines", "customer_id", "status"),
    [
        (_lines(("S1", 1, 10), ("S2", 1, 2.5)), "C1", "allocated"),  # split: a shipment per warehouse
        (_lines(("S1", 11, 10)), "C1", "on_hold"),  # stock shortage: an exception, no shipment
        (_lines(("S1", 2, 9)), "C1", "on_hold"),  # below the catalogue price: a price exception
        (_lines(("S2", 1, "2.123456789")), "C2", "on_hold"),  # more places than money keeps (read back)
        (_lines(("S1", 1, 10), ("S1", 2, 10), ("S2", 3, "2.5")), "C2", "allocated"),  # a SKU on two lines
    ],
)
def test_post_answers_exactly_what_a_later_get_reads(
    client: TestClient, lines: list[dict[str, object]], customer_id: str, status: str
) -> None:
    """The intake answer is built from what the call wrote, without reading the order back; it must be the
    same JSON, byte for byte, as the stored order read by GET (and a replay's answer, read back)."""
    body = {**order_body(customer_id=customer_id), "lines": lines}
    headers = {**ADMIN, "Idempotency-Key": f"same-json-{status}-{len(lines)}-{customer_id}"}
    posted = client.post("/v1/orders", json=body, headers=headers)
    assert posted.status_code == 201, posted.text
    assert posted.json()["status"] == status
    order_id = posted.json()["id"]
    read = client.get(f"/v1/orders/{order_id}", headers=ADMIN)
    assert read.status_code == 200
    replayed = client.post("/v1/orders", json=body, headers=headers)
    assert replayed.status_code == 200
    assert _without_clock(posted.content) == _without_clock(read.content) == _without_clock(replayed.content)


def _without_clock(answer: bytes) -> bytes:
    """The answer with the progress of the order against its promise measured at one instant (the only
    part that depends on when it is read)."""
    import json

    document = json.loads(answer)
    return json.dumps(document["progress"] and {**document, "progress": None}).encode()
