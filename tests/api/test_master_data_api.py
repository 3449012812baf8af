"""Master data over HTTP on both backends: idempotent PUT upserts, GET, 404, 422 naming the field, roles."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN, make_token

LAYOUT = {
    "kind": "rectangular",
    "aisles": 4,
    "aisle_spacing_m": 3.0,
    "aisle_length_m": 30.0,
    "blocks": 1,
    "slots_per_side": 10,
    "depot_x_m": 0.0,
}


def test_warehouse_put_creates_then_updates_and_get_answers(client: TestClient) -> None:
    body = {"name": "North", "location": {"lat": 52.5, "lng": 13.4}, "layout": LAYOUT}
    first = client.put("/v1/warehouses/W1", json=body, headers=ADMIN)
    assert first.status_code == 201, first.text
    second = client.put("/v1/warehouses/W1", json=body, headers=ADMIN)
    assert second.status_code == 200
    got = client.get("/v1/warehouses/W1", headers=ADMIN)
    assert got.status_code == 200
    assert got.json() == {"id": "W1", "name": "North", "location": {"lat": 52.5, "lng": 13.4}, "layout": LAYOUT}


def test_absent_resources_answer_404(client: TestClient) -> None:
    for path in ("/v1/warehouses/none", "/v1/skus/none", "/v1/customers/none"):
        answer = client.get(path, headers=ADMIN)
        assert answer.status_code == 404, path
        assert answer.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/warehouses/W9", {"name": "x", "location": {"lat": 95, "lng": 0}}, "location.lat"),
        ("/v1/warehouses/W9", {"name": "x", "location": {"lat": 0, "lng": -181}}, "location.lng"),
        ("/v1/warehouses/W9", {"name": "x", "location": {"lat": 0, "lng": 0}, "layout": {"aisles": 2}}, "kind"),
        (
            "/v1/warehouses/W9",
            {"name": "x", "location": {"lat": 0, "lng": 0}, "layout": {"kind": "rectangular"}},
            "layout",
        ),
        ("/v1/skus/S9", {"name": "x", "unit_price": -1, "weight_kg": 1, "volume_m3": 1}, "unit_price"),
        ("/v1/skus/S9", {"name": "x", "unit_price": 1, "weight_kg": -1, "volume_m3": 1}, "weight_kg"),
        ("/v1/customers/C9", {"name": "x", "credit_limit": -5}, "credit_limit"),
        ("/v1/customers/C9", {"name": "x", "credit_limit": 5, "location": {"lat": 91, "lng": 0}}, "location.lat"),
    ],
)
def test_invalid_master_data_is_422_naming_the_field_and_not_written(
    client: TestClient, path: str, body: dict[str, object], field: str
) -> None:
    answer = client.put(path, json=body, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["error"]["message"]
    assert client.get(path, headers=ADMIN).status_code == 404


def test_sku_price_round_trips(client: TestClient) -> None:
    body = {"name": "Bolt", "unit_price": 12.35, "weight_kg": 0.2, "volume_m3": 0.001}
    assert client.put("/v1/skus/S1", json=body, headers=ADMIN).status_code == 201
    assert client.get("/v1/skus/S1", headers=ADMIN).json() == {"sku": "S1", **body}


def test_customer_with_extras_and_roles(client: TestClient) -> None:
    body = {"name": "Acme", "credit_limit": 1000, "location": {"lat": 48.1, "lng": 11.5}, "prepaid": True}
    assert client.put("/v1/customers/C1", json=body, headers=ADMIN).status_code == 201
    got = client.get("/v1/customers/C1", headers=ADMIN).json()
    assert got["credit_limit"] == 1000
    assert got["overdue_amount"] == 0
    assert got["prepaid"] is True
    own = make_token(client, "customer", "C1")
    other = make_token(client, "customer", "C2")
    assert client.get("/v1/customers/C1", headers=own).status_code == 200
    assert client.get("/v1/customers/C1", headers=other).status_code == 403
    assert client.put("/v1/customers/C1", json=body, headers=own).status_code == 403
    warehouse = make_token(client, "warehouse")
    assert (
        client.put(
            "/v1/skus/S1", json={"name": "x", "unit_price": 1, "weight_kg": 1, "volume_m3": 1}, headers=warehouse
        ).status_code
        == 403
    )
    dispatcher = make_token(client, "dispatcher")
    assert (
        client.put(
            "/v1/skus/S1", json={"name": "x", "unit_price": 1, "weight_kg": 1, "volume_m3": 1}, headers=dispatcher
        ).status_code
        == 201
    )
    assert client.get("/v1/skus/S1", headers=warehouse).status_code == 200
    assert client.get("/v1/warehouses/W1").status_code == 401
