"""Stock levels over HTTP on both relational backends and both fast stores."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN, make_token, put_master_data


@pytest.fixture(params=["memory", "redis"])
def client(request: pytest.FixtureRequest, make_client: Callable[..., TestClient]) -> TestClient:
    redis_url = request.getfixturevalue("fresh_redis_url") if request.param == "redis" else None
    test_client = make_client(redis_url=redis_url)
    put_master_data(
        test_client,
        warehouses={"wh-1": {"name": "North", "location": {"lat": 31.2, "lng": 121.4}}},
        skus={"sku-1": {"name": "Rice 5kg", "unit_price": "12.50", "weight_kg": 5.0, "volume_m3": 0.01}},
    )
    return test_client


def test_put_then_get_roundtrips_the_level(client: TestClient) -> None:
    put = client.put("/v1/warehouses/wh-1/stock/sku-1", json={"on_hand": 40}, headers=ADMIN)
    assert put.status_code == 200, put.text
    assert put.json() | {} == {**put.json(), "on_hand": 40, "reserved": 0, "available": 40}
    got = client.get("/v1/warehouses/wh-1/stock/sku-1", headers=ADMIN)
    assert got.status_code == 200
    assert (got.json()["on_hand"], got.json()["reserved"], got.json()["available"]) == (40, 0, 40)
    again = client.put("/v1/warehouses/wh-1/stock/sku-1", json={"on_hand": 7}, headers=ADMIN)
    assert again.json()["available"] == 7


def test_unknown_warehouse_or_sku_is_404(client: TestClient) -> None:
    for path in ("/v1/warehouses/nope/stock/sku-1", "/v1/warehouses/wh-1/stock/nope"):
        put = client.put(path, json={"on_hand": 1}, headers=ADMIN)
        assert put.status_code == 404, put.text
        assert put.json()["error"]["code"] in ("warehouse_not_found", "sku_not_found")
        assert client.get(path, headers=ADMIN).status_code == 404


def test_level_never_set_is_404(client: TestClient) -> None:
    answer = client.get("/v1/warehouses/wh-1/stock/sku-1", headers=ADMIN)
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "stock_not_found"


@pytest.mark.parametrize("body", [{"on_hand": -1}, {"on_hand": "many"}, {}, {"on_hand": 1.5}])
def test_bad_counts_are_422_and_write_nothing(client: TestClient, body: dict[str, object]) -> None:
    answer = client.put("/v1/warehouses/wh-1/stock/sku-1", json=body, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert "error" in answer.json()
    assert client.get("/v1/warehouses/wh-1/stock/sku-1", headers=ADMIN).status_code == 404


def test_on_hand_below_reserved_is_409(client: TestClient) -> None:
    from orders_core.stock.model import ReservationLine

    client.put("/v1/warehouses/wh-1/stock/sku-1", json={"on_hand": 10}, headers=ADMIN)
    container = client.app.state.container  # type: ignore[attr-defined]
    with container.uow() as uow:
        container.stock.reserve(uow, "order-1", [ReservationLine("wh-1", "sku-1", 6)])
        uow.commit()
    answer = client.put("/v1/warehouses/wh-1/stock/sku-1", json={"on_hand": 5}, headers=ADMIN)
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "stock_below_reserved"
    level = client.get("/v1/warehouses/wh-1/stock/sku-1", headers=ADMIN).json()
    assert (level["on_hand"], level["reserved"], level["available"]) == (10, 6, 4)
    metrics = client.get("/metrics").text
    assert 'dispatch_stock_lock_outcomes_total{outcome="reserved"}' in metrics


def test_roles_dispatcher_and_warehouse_may_write_and_read_others_may_not(client: TestClient) -> None:
    for role in ("dispatcher", "warehouse"):
        headers = make_token(client, role, "wh-1" if role == "warehouse" else f"{role}-1")
        assert client.put("/v1/warehouses/wh-1/stock/sku-1", json={"on_hand": 3}, headers=headers).status_code == 200
        assert client.get("/v1/warehouses/wh-1/stock/sku-1", headers=headers).status_code == 200
    for role in ("carrier", "customer"):
        headers = make_token(client, role, "wh-1" if role == "warehouse" else f"{role}-1")
        assert client.put("/v1/warehouses/wh-1/stock/sku-1", json={"on_hand": 3}, headers=headers).status_code == 403
        assert client.get("/v1/warehouses/wh-1/stock/sku-1", headers=headers).status_code == 403
    assert client.get("/v1/warehouses/wh-1/stock/sku-1").status_code == 401


def test_order_holds_stock_and_cancelling_gives_it_back(client: TestClient) -> None:
    client.put("/v1/warehouses/wh-1/stock/sku-1", json={"on_hand": 10}, headers=ADMIN)
    assert client.put(
        "/v1/customers/cust-1", json={"name": "Shop", "credit_limit": "100000"}, headers=ADMIN
    ).status_code in (200, 201)
    body = {
        "customer_id": "cust-1",
        "lines": [{"sku": "sku-1", "qty": 4, "unit_price": "12.50"}],
        "delivery": {"lat": 31.21, "lng": 121.45, "address": "2 Test Lane"},
    }
    placed = client.post("/v1/orders", json=body, headers={**ADMIN, "Idempotency-Key": "stock-cancel-1"})
    assert placed.status_code in (200, 201), placed.text
    order_id = placed.json()["id"]
    assert client.get(f"/v1/orders/{order_id}", headers=ADMIN).json()["status"] == "allocated"
    level = client.get("/v1/warehouses/wh-1/stock/sku-1", headers=ADMIN).json()
    assert (level["on_hand"], level["reserved"], level["available"]) == (10, 4, 6)
    cancelled = client.post(f"/v1/orders/{order_id}/cancel", json={"reason": "customer changed mind"}, headers=ADMIN)
    assert cancelled.status_code == 200, cancelled.text
    level = client.get("/v1/warehouses/wh-1/stock/sku-1", headers=ADMIN).json()
    assert (level["on_hand"], level["reserved"], level["available"]) == (10, 0, 10)
    again = client.post(f"/v1/orders/{order_id}/cancel", json={"reason": "twice"}, headers=ADMIN)
    assert again.status_code in (200, 409)  # idempotent or refused, never a second release
    level = client.get("/v1/warehouses/wh-1/stock/sku-1", headers=ADMIN).json()
    assert (level["reserved"], level["available"]) == (0, 10)
