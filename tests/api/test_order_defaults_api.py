"""Orders ask only what the service does not know (both backends): a line without ``unit_price`` is priced
from the catalogue, an order without ``delivery`` goes to the customer's registered location (422
``delivery_required`` when it has none), the Idempotency-Key hashes the body as sent, and an unknown-SKU
error names every unknown SKU."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN, put_master_data

SHOP = {"lat": 30.26, "lng": 120.16}


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client()
    put_master_data(
        test_client,
        warehouses={"W1": {"name": "W1", "location": {"lat": 30.25, "lng": 120.15}}},
        skus={
            "TEA": {"name": "Green tea", "unit_price": "12.50", "weight_kg": 2, "volume_m3": 0.01},
            "RICE": {"name": "Rice 5kg", "unit_price": "7.25", "weight_kg": 5, "volume_m3": 0.02},
        },
        customers={
            "SHOP": {"name": "Corner shop", "credit_limit": 10_000, "location": SHOP},
            "NOWHERE": {"name": "No address yet", "credit_limit": 10_000},
        },
        stock={("W1", "TEA"): 100, ("W1", "RICE"): 100},
    )
    return test_client


def _orders(client: TestClient) -> list[dict]:
    answer = client.get("/v1/orders", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


def test_an_order_of_skus_and_quantities_is_priced_from_the_catalogue_and_goes_to_the_customer(
    client: TestClient,
) -> None:
    body = {"customer_id": "SHOP", "lines": [{"sku": "TEA", "qty": 2}, {"sku": "RICE", "qty": 4, "unit_price": "7.25"}]}
    answer = client.post("/v1/orders", json=body, headers={**ADMIN, "Idempotency-Key": "shop-1"})
    assert answer.status_code == 201, answer.text
    order = answer.json()
    assert order["status"] == "allocated"  # no price conflict: the default is the catalogue price itself
    assert [(line["sku"], float(line["unit_price"])) for line in order["lines"]] == [("TEA", 12.5), ("RICE", 7.25)]
    assert float(order["total"]) == 2 * 12.5 + 4 * 7.25
    assert (order["delivery"]["lat"], order["delivery"]["lng"]) == (SHOP["lat"], SHOP["lng"])
    assert order["exceptions"] == []


def test_the_idempotency_key_hashes_the_body_as_sent_not_the_defaults(client: TestClient) -> None:
    key = {**ADMIN, "Idempotency-Key": "shop-2"}
    body = {"customer_id": "SHOP", "lines": [{"sku": "TEA", "qty": 1}]}
    first = client.post("/v1/orders", json=body, headers=key)
    assert first.status_code == 201, first.text
    # The catalogue price and the customer's location change: a replay of the same body is still the same order.
    changed = client.put(
        "/v1/skus/TEA", json={"name": "Green tea", "unit_price": "99", "weight_kg": 2, "volume_m3": 0.01}, headers=ADMIN
    )
    assert changed.status_code == 200, changed.text
    moved = client.put(
        "/v1/customers/SHOP",
        json={"name": "Corner shop", "credit_limit": 10_000, "location": {"lat": 31, "lng": 121}},
        headers=ADMIN,
    )
    assert moved.status_code == 200, moved.text
    replay = client.post("/v1/orders", json=body, headers=key)
    assert replay.status_code == 200, replay.text
    assert replay.json()["id"] == first.json()["id"]
    assert float(replay.json()["lines"][0]["unit_price"]) == 12.5
    # The defaults written out are another body: the key was used for a different request.
    spelled_out = {**body, "lines": [{"sku": "TEA", "qty": 1, "unit_price": "12.50"}]}
    refused = client.post("/v1/orders", json=spelled_out, headers=key)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "idempotency_key_reused"
    # A body that gives every field hashes as before: its own key replays it.
    full = {**spelled_out, "delivery": {"lat": 30.2, "lng": 120.1, "address": "Dock 4"}}
    placed = client.post("/v1/orders", json=full, headers={**ADMIN, "Idempotency-Key": "shop-3"})
    again = client.post("/v1/orders", json=full, headers={**ADMIN, "Idempotency-Key": "shop-3"})
    assert (placed.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == placed.json()["id"]
    assert len(_orders(client)) == 2


def test_no_delivery_and_no_registered_location_is_a_clear_422_and_writes_nothing(client: TestClient) -> None:
    answer = client.post(
        "/v1/orders", json={"customer_id": "NOWHERE", "lines": [{"sku": "TEA", "qty": 1}]}, headers=ADMIN
    )
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "delivery_required"
    assert "NOWHERE" in error["message"] and "location" in error["message"]
    assert _orders(client) == []
    given = {"customer_id": "NOWHERE", "lines": [{"sku": "TEA", "qty": 1}], "delivery": {"lat": 30.3, "lng": 120.2}}
    placed = client.post("/v1/orders", json=given, headers=ADMIN)
    assert placed.status_code == 201, placed.text
    assert (placed.json()["delivery"]["lat"], placed.json()["delivery"]["lng"]) == (30.3, 120.2)


def test_an_unknown_sku_error_names_every_unknown_sku(client: TestClient) -> None:
    body = {
        "customer_id": "SHOP",
        "lines": [
            {"sku": "TEAA", "qty": 1},
            {"sku": "TEA", "qty": 1},
            {"sku": "RISE", "qty": 2},
            {"sku": "TEAA", "qty": 3},
        ],
    }
    answer = client.post("/v1/orders", json=body, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "unknown_sku"
    assert error["details"]["unknown_skus"] == ["RISE", "TEAA"]
    for where in ("lines[0].sku 'TEAA'", "lines[2].sku 'RISE'", "lines[3].sku 'TEAA'"):
        assert where in error["message"]
    assert "lines[1]" not in error["message"]
    assert _orders(client) == []
