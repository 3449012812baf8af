"""Carrier master data and position fixes over HTTP, on both backends."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from geo.crs import wgs84_to_gcj02

from .factories import ADMIN, app_client, make_token

COVERAGE = {
    "type": "Polygon",
    "coordinates": [[[120.0, 30.0], [120.4, 30.0], [120.4, 30.4], [120.0, 30.4], [120.0, 30.0]]],
}
CARRIER = {
    "name": "Fast Van Co",
    "vehicle_type": "van",
    "capacity_kg": 800.0,
    "capacity_m3": 6.0,
    "coverage": COVERAGE,
    "webhook_url": "https://carrier.example/hooks",
}


def _iso(ts_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts_s))


def test_put_then_get_roundtrip(client: TestClient) -> None:
    created = client.put("/v1/carriers/CAR-1", json=CARRIER, headers=ADMIN)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["coverage"] == COVERAGE
    assert body["webhook_secret"].startswith("whsec_"), "a generated secret is shown once, on the PUT that made it"
    assert body["webhook_secret_set"] is True and body["webhook_secret_hint"] == "..." + body["webhook_secret"][-4:]
    again = client.put("/v1/carriers/CAR-1", json=CARRIER, headers=ADMIN)
    assert again.status_code == 200
    assert again.json()["webhook_secret"] is None, "a kept secret is never shown again"
    assert again.json()["webhook_secret_hint"] == body["webhook_secret_hint"], "PUT without a secret keeps the old one"
    got = client.get("/v1/carriers/CAR-1", headers=ADMIN).json()
    assert "webhook_secret" not in got and got["webhook_secret_hint"] == body["webhook_secret_hint"]
    for field in ("name", "vehicle_type", "capacity_kg", "capacity_m3", "coverage", "webhook_url"):
        assert got[field] == CARRIER[field]


def test_null_coverage_and_explicit_secret(client: TestClient) -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = {**CARRIER, "coverage": None, "webhook_secret": secret}
    assert client.put("/v1/carriers/CAR-2", json=body, headers=ADMIN).status_code == 201
    got = client.get("/v1/carriers/CAR-2", headers=ADMIN).json()
    assert got["coverage"] is None
    assert "webhook_secret" not in got and secret not in str(got)
    assert (got["webhook_secret_set"], got["webhook_secret_hint"]) == (True, "...LaSw")


def test_absent_carrier_is_404(client: TestClient) -> None:
    response = client.get("/v1/carriers/NOPE", headers=ADMIN)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "carrier_not_found"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"capacity_kg": -1}, "capacity_kg"),
        ({"capacity_m3": -0.5}, "capacity_m3"),
        ({"coverage": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}, "Self-inter"),
        ({"coverage": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}}, "not closed"),
        ({"coverage": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}, "type must be one of"),
        ({"coverage": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}}, "at least 4"),
        ({"coverage": {"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [1, 1], [0, 0]]]}}, "longitude 200"),
        ({"webhook_secret": "not-a-secret"}, "whsec_"),
    ],
)
def test_invalid_carrier_is_422_and_changes_nothing(client: TestClient, change: dict, fragment: str) -> None:
    assert client.put("/v1/carriers/CAR-1", json=CARRIER, headers=ADMIN).status_code == 201
    before = client.get("/v1/carriers/CAR-1", headers=ADMIN).json()
    response = client.put("/v1/carriers/CAR-1", json={**CARRIER, "name": "Changed", **change}, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert fragment in response.json()["error"]["message"]
    assert client.get("/v1/carriers/CAR-1", headers=ADMIN).json() == before


def test_roles(client: TestClient) -> None:
    assert client.put("/v1/carriers/CAR-1", json=CARRIER).status_code == 401
    dispatcher = make_token(client, "dispatcher")
    assert client.put("/v1/carriers/CAR-1", json=CARRIER, headers=dispatcher).status_code == 201
    own = make_token(client, "carrier", "CAR-1")
    assert client.put("/v1/carriers/CAR-1", json=CARRIER, headers=own).status_code == 403
    assert client.put("/v1/carriers/CAR-2", json=CARRIER, headers=dispatcher).status_code == 201
    assert client.get("/v1/carriers/CAR-1", headers=own).status_code == 200
    assert client.get("/v1/carriers/CAR-2", headers=own).status_code == 403
    customer = make_token(client, "customer", "CUST-1")
    assert client.get("/v1/carriers/CAR-1", headers=customer).status_code == 403
    now = time.time()
    fix = {"carrier_id": "CAR-1", "lat": 30.1, "lng": 120.1, "ts": _iso(now)}
    other = {**fix, "carrier_id": "CAR-2"}
    assert client.post("/v1/carriers/positions", json={"positions": [fix]}, headers=own).json() == {"accepted": 1}
    assert client.post("/v1/carriers/positions", json={"positions": [other]}, headers=own).status_code == 403


def test_positions_are_accepted_and_old_fixes_ignored(client: TestClient) -> None:
    client.put("/v1/carriers/CAR-1", json=CARRIER, headers=ADMIN)
    now = time.time()
    newer = {"carrier_id": "CAR-1", "lat": 30.1, "lng": 120.1, "ts": _iso(now - 10)}
    response = client.post("/v1/carriers/positions", json={"positions": [newer]}, headers=ADMIN)
    assert response.status_code == 200
    assert response.json() == {"accepted": 1}
    older = {"carrier_id": "CAR-1", "lat": 31.0, "lng": 121.0, "ts": _iso(now - 60)}
    response = client.post("/v1/carriers/positions", json={"positions": [older]}, headers=ADMIN)
    assert response.json() == {"accepted": 0}
    position = client.get("/v1/carriers/CAR-1", headers=ADMIN).json()["position"]
    assert (position["lat"], position["lng"]) == (30.1, 120.1)


@pytest.mark.parametrize(
    "bad",
    [
        {"carrier_id": "UNKNOWN"},
        {"lat": 91.0},
        {"lng": -181.0},
        {"ts": "yesterday-ish"},
        {"ts": "2199-01-01T00:00:00Z"},
    ],
)
def test_a_bad_fix_refuses_the_whole_batch(client: TestClient, bad: dict) -> None:
    client.put("/v1/carriers/CAR-1", json=CARRIER, headers=ADMIN)
    client.put("/v1/carriers/CAR-2", json=CARRIER, headers=ADMIN)
    now = time.time()
    good = {"carrier_id": "CAR-1", "lat": 30.1, "lng": 120.1, "ts": _iso(now)}
    worse = {"carrier_id": "CAR-2", "lat": 30.2, "lng": 120.2, "ts": _iso(now), **bad}
    response = client.post("/v1/carriers/positions", json={"positions": [good, worse]}, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert client.get("/v1/carriers/CAR-1", headers=ADMIN).json()["position"] is None
    assert client.get("/v1/carriers/CAR-2", headers=ADMIN).json()["position"] is None


def test_gcj02_positions_are_stored_in_wgs84(client: TestClient) -> None:
    client.put("/v1/carriers/CAR-1", json=CARRIER, headers=ADMIN)
    wgs = (30.25, 120.15)
    gcj = wgs84_to_gcj02(*wgs)
    fix = {"carrier_id": "CAR-1", "lat": gcj[0], "lng": gcj[1], "ts": _iso(time.time()), "crs": "gcj02"}
    assert client.post("/v1/carriers/positions", json={"positions": [fix]}, headers=ADMIN).json() == {"accepted": 1}
    position = client.get("/v1/carriers/CAR-1", headers=ADMIN).json()["position"]
    assert abs(position["lat"] - wgs[0]) < 1e-7
    assert abs(position["lng"] - wgs[1]) < 1e-7


def test_positions_survive_a_restart_without_redis(database_url: str) -> None:
    now = time.time()
    with app_client(database_url) as client:
        client.put("/v1/carriers/CAR-1", json=CARRIER, headers=ADMIN)
        fix = {"carrier_id": "CAR-1", "lat": 30.1, "lng": 120.1, "ts": _iso(now)}
        client.post("/v1/carriers/positions", json={"positions": [fix]}, headers=ADMIN)
    with app_client(database_url) as client:
        position = client.get("/v1/carriers/CAR-1", headers=ADMIN).json()["position"]
        assert (position["lat"], position["lng"]) == (30.1, 120.1)
        query = {
            "pickup": {"lat": 30.1, "lng": 120.1},
            "dropoff": {"lat": 30.2, "lng": 120.2},
            "weight_kg": 10,
            "volume_m3": 0.1,
        }
        candidates = client.post("/v1/match", json=query, headers=ADMIN).json()["candidates"]
        assert [c["carrier_id"] for c in candidates] == ["CAR-1"]


def test_positions_posted_to_one_process_are_matched_by_another(database_url: str, fresh_redis_url: str) -> None:
    query = {
        "pickup": {"lat": 30.1, "lng": 120.1},
        "dropoff": {"lat": 30.2, "lng": 120.2},
        "weight_kg": 10,
        "volume_m3": 0.1,
    }
    with (
        app_client(database_url, redis_url=fresh_redis_url) as first,
        app_client(database_url, redis_url=fresh_redis_url) as second,
    ):
        assert first.put("/v1/carriers/CAR-1", json=CARRIER, headers=ADMIN).status_code == 201
        fix = {"carrier_id": "CAR-1", "lat": 30.1, "lng": 120.1, "ts": _iso(time.time())}
        assert first.post("/v1/carriers/positions", json={"positions": [fix]}, headers=ADMIN).json()["accepted"] == 1
        # The posting process matches at once; the other one within the feed's latency.
        assert first.post("/v1/match", json=query, headers=ADMIN).json()["candidates"]
        deadline = time.monotonic() + 10
        candidates: list = []
        while time.monotonic() < deadline and not candidates:
            candidates = second.post("/v1/match", json=query, headers=ADMIN).json()["candidates"]
            time.sleep(0.05)
        assert [c["carrier_id"] for c in candidates] == ["CAR-1"]
