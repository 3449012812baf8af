"""Fuzz findings on stock levels and GeoJSON input: out-of-range numbers are a precise 422 that writes
nothing, on both backends (PostgreSQL integers are 32-bit; a 400-digit JSON integer overflows float)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN, put_master_data

HUGE = "1" + "0" * 400


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client()
    put_master_data(
        test_client,
        warehouses={"W1": {"name": "W1", "location": {"lat": 1.0, "lng": 1.0}}},
        skus={"S1": {"name": "x", "unit_price": 5, "weight_kg": 1, "volume_m3": 1}},
        stock={("W1", "S1"): 7},
    )
    return test_client


@pytest.mark.parametrize("on_hand", [2**31, 2**63 - 1, 2**63, 10**30, 1_000_000_001])
def test_stock_count_beyond_the_column_is_422_and_keeps_the_old_level(client: TestClient, on_hand: int) -> None:
    answer = client.put("/v1/warehouses/W1/stock/S1", json={"on_hand": on_hand}, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert "on_hand" in answer.json()["error"]["message"]
    level = client.get("/v1/warehouses/W1/stock/S1", headers=ADMIN).json()
    assert level["on_hand"] == 7


def test_stock_count_at_the_limit_is_stored(client: TestClient) -> None:
    answer = client.put("/v1/warehouses/W1/stock/S1", json={"on_hand": 1_000_000_000}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert client.get("/v1/warehouses/W1/stock/S1", headers=ADMIN).json()["on_hand"] == 1_000_000_000


def _ring_json(first: str, altitude: str | None = None) -> str:
    alt = "" if altitude is None else f",{altitude}"
    return (
        '{"kind":"restricted_zone","geometry":{"type":"Polygon","coordinates":[[['
        + first
        + alt
        + "],[1,0"
        + alt
        + "],[1,1"
        + alt
        + "],[0,1"
        + alt
        + "],["
        + first
        + alt
        + "]]]}}"
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (_ring_json(HUGE + ",0"), "longitude must be a finite number"),
        (_ring_json("0," + HUGE), "latitude must be a finite number"),
        (_ring_json("0,0", HUGE), "altitude must be a number"),
        (_ring_json("0,0", "NaN"), "altitude must be a number"),
        (_ring_json("NaN,0"), "longitude must be a finite number"),
        (_ring_json("Infinity,0"), "longitude must be a finite number"),
    ],
    ids=["huge-lng", "huge-lat", "huge-alt", "nan-alt", "nan-lng", "inf-lng"],
)
def test_geofence_with_unrepresentable_coordinates_is_422_and_not_stored(
    client: TestClient, raw: str, message: str
) -> None:
    headers = {**ADMIN, "Content-Type": "application/json"}
    answer = client.put("/v1/geofences/F1", content=raw, headers=headers)
    assert answer.status_code == 422, answer.text
    assert message in answer.json()["error"]["message"]
    assert client.get("/v1/geofences/F1", headers=ADMIN).status_code == 404
    carrier = raw.replace(
        '"kind":"restricted_zone","geometry"',
        '"name":"k","vehicle_type":"van","capacity_kg":1,"capacity_m3":1,"coverage"',
    )
    answer = client.put("/v1/carriers/K1", content=carrier, headers=headers)
    assert answer.status_code == 422, answer.text
    assert client.get("/v1/carriers/K1", headers=ADMIN).status_code == 404
