"""NUL characters in any part of a request are a 422 on every route and backend, never a 500."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(jobs_interval_s=0)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/v1/carriers/bad%00id", {"name": "x"}),
        ("GET", "/v1/warehouses/W1/stock/S%001", None),
        ("GET", "/v1/orders?customer_id=a%00b", None),
        ("PUT", "/v1/skus/S1", {"name": "tea\u0000", "unit_price": "1.00", "weight_kg": 1, "volume_m3": 0.1}),
        ("POST", "/v1/warehouses/W1/pick-route", {"slots": ["A01-L-001\u0000"]}),
    ],
)
def test_nul_characters_are_rejected_with_422(client: TestClient, method: str, path: str, body: object) -> None:
    answer = client.request(method, path, json=body, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_input"
    assert "NUL" in answer.json()["error"]["message"]


def test_rejected_body_writes_nothing_and_clean_input_still_works(client: TestClient) -> None:
    sku = {"name": "tea", "unit_price": "1.00", "weight_kg": 1, "volume_m3": 0.1}
    assert client.put("/v1/skus/S1", json={**sku, "name": "t\u0000"}, headers=ADMIN).status_code == 422
    assert client.get("/v1/skus/S1", headers=ADMIN).status_code == 404
    assert client.put("/v1/skus/S1", json=sku, headers=ADMIN).status_code == 201
    assert client.get("/v1/skus/S1", headers=ADMIN).json()["name"] == "tea"


def test_an_escaped_backslash_before_u0000_is_ordinary_text(client: TestClient) -> None:
    sku = {"name": "tea \\u0000 blend", "unit_price": "1.00", "weight_kg": 1, "volume_m3": 0.1}
    assert client.put("/v1/skus/S2", json=sku, headers=ADMIN).status_code == 201
    assert client.get("/v1/skus/S2", headers=ADMIN).json()["name"] == "tea \\u0000 blend"


def test_oversized_bodies_are_413_before_parsing(client: TestClient) -> None:
    big = b'{"positions": [' + b" " * (17 * 1024 * 1024) + b"]}"
    answer = client.post("/v1/carriers/positions", content=big, headers={**ADMIN, "Content-Type": "application/json"})
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"
