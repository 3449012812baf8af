"""Matching over HTTP equals a brute-force oracle on a seeded random fleet; fallback, batch, auth."""

from __future__ import annotations

import random
import time

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape

from geo.crs import wgs84_to_gcj02
from geo.distance import haversine_m

from .factories import ADMIN, make_token

CENTRE = (30.25, 120.15)
VEHICLES = ("bike", "van", "truck")
M_PER_DEG = 111_195.0


def _iso(ts_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts_s))


def _offset(lat: float, lng: float, north_m: float, east_m: float) -> tuple[float, float]:
    import math

    return lat + north_m / M_PER_DEG, lng + east_m / (M_PER_DEG * math.cos(math.radians(lat)))


def _square(lat: float, lng: float, half_m: float) -> dict:
    (s, w), (n, e) = _offset(lat, lng, -half_m, -half_m), _offset(lat, lng, half_m, half_m)
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def _put_carrier(client: TestClient, carrier_id: str, body: dict) -> None:
    response = client.put(f"/v1/carriers/{carrier_id}", json=body, headers=ADMIN)
    assert response.status_code in (200, 201), response.text


def _post_positions(client: TestClient, positions: list[dict]) -> None:
    response = client.post("/v1/carriers/positions", json={"positions": positions}, headers=ADMIN)
    assert response.status_code == 200, response.text


def _query(pickup: tuple[float, float], dropoff: tuple[float, float], **extra: object) -> dict:
    return {
        "pickup": {"lat": pickup[0], "lng": pickup[1]},
        "dropoff": {"lat": dropoff[0], "lng": dropoff[1]},
        "weight_kg": 50,
        "volume_m3": 0.5,
        **extra,
    }


def test_match_equals_brute_force_on_a_random_fleet(client: TestClient) -> None:
    rng = random.Random(20240611)
    now = time.time()
    fleet: dict[str, dict] = {}
    positions = []
    for i in range(60):
        carrier_id = f"C{i:03d}"
        home = _offset(*CENTRE, rng.uniform(-6000, 6000), rng.uniform(-6000, 6000))
        body = {
            "name": carrier_id,
            "vehicle_type": rng.choice(VEHICLES),
            "capacity_kg": rng.choice([20.0, 100.0, 1000.0]),
            "capacity_m3": rng.choice([0.2, 1.0, 10.0]),
            "coverage": None if rng.random() < 0.4 else _square(*home, rng.uniform(2000, 8000)),
            "active": rng.random() > 0.1,
        }
        _put_carrier(client, carrier_id, body)
        lat, lng = _offset(*home, rng.uniform(-1000, 1000), rng.uniform(-1000, 1000))
        fleet[carrier_id] = {**body, "lat": lat, "lng": lng}
        positions.append({"carrier_id": carrier_id, "lat": lat, "lng": lng, "ts": _iso(now - rng.uniform(0, 300))})
    _post_positions(client, positions)

    non_empty = 0
    for _ in range(25):
        pickup = _offset(*CENTRE, rng.uniform(-5000, 5000), rng.uniform(-5000, 5000))
        dropoff = _offset(*pickup, rng.uniform(-4000, 4000), rng.uniform(-4000, 4000))
        weight_kg, volume_m3 = rng.choice([10.0, 50.0, 500.0]), rng.choice([0.1, 0.5, 5.0])
        vehicle = rng.choice([None, *VEHICLES])
        radius_m = rng.choice([1500.0, 3000.0, 5000.0])
        body = _query(pickup, dropoff, radius_m=radius_m, limit=100, rank_by="distance")
        body.update(weight_kg=weight_kg, volume_m3=volume_m3)
        if vehicle:
            body["vehicle_type"] = vehicle
        expected = {}
        for carrier_id, c in fleet.items():
            distance_m = haversine_m(c["lat"], c["lng"], pickup[0], pickup[1])
            if (
                c["active"]
                and distance_m <= radius_m
                and c["capacity_kg"] >= weight_kg
                and c["capacity_m3"] >= volume_m3
                and (vehicle is None or c["vehicle_type"] == vehicle)
                and (c["coverage"] is None or shape(c["coverage"]).covers(Point(dropoff[1], dropoff[0])))
            ):
                expected[carrier_id] = distance_m
        response = client.post("/v1/match", json=body, headers=ADMIN)
        assert response.status_code == 200, response.text
        candidates = response.json()["candidates"]
        assert {c["carrier_id"] for c in candidates} == set(expected)
        distances = [c["distance_m"] for c in candidates]
        assert distances == sorted(distances)
        for candidate in candidates:
            assert candidate["distance_m"] == pytest.approx(expected[candidate["carrier_id"]], abs=0.01)
        by_score = client.post("/v1/match", json={**body, "rank_by": "score"}, headers=ADMIN).json()["candidates"]
        assert {c["carrier_id"] for c in by_score} == set(expected)
        scores = [c["score"] for c in by_score]
        assert scores == sorted(scores)
        non_empty += bool(expected)
    assert non_empty >= 5, "the seeded fleet must exercise non-empty answers"


def _one_carrier_at(client: TestClient, carrier_id: str, north_m: float) -> None:
    body = {"name": carrier_id, "vehicle_type": "van", "capacity_kg": 500, "capacity_m3": 5, "coverage": None}
    _put_carrier(client, carrier_id, body)
    lat, lng = _offset(*CENTRE, north_m, 0)
    _post_positions(client, [{"carrier_id": carrier_id, "lat": lat, "lng": lng, "ts": _iso(time.time())}])


def test_carrier_just_outside_radius_is_not_matched_unless_fallback_is_asked(client: TestClient) -> None:
    _one_carrier_at(client, "FAR", 4000)
    dropoff = _offset(*CENTRE, 1000, 1000)
    strict = client.post("/v1/match", json=_query(CENTRE, dropoff), headers=ADMIN)
    assert strict.status_code == 200
    assert strict.json()["candidates"] == [] and strict.json()["radius_m"] == 3000.0
    assert strict.json()["explanation"]["excluded"]["out_of_radius"] == 1  # an empty answer says why
    widened = client.post("/v1/match", json=_query(CENTRE, dropoff, fallback=True), headers=ADMIN).json()
    assert [c["carrier_id"] for c in widened["candidates"]] == ["FAR"]
    assert widened["radius_m"] == 5000.0


def test_fallback_with_nobody_at_the_widest_radius_is_404(client: TestClient) -> None:
    _one_carrier_at(client, "VERYFAR", 20_000)
    response = client.post("/v1/match", json=_query(CENTRE, CENTRE, fallback=True), headers=ADMIN)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "no_carrier_in_range"


def test_explain_returns_score_terms_and_gcj02_queries_are_converted(client: TestClient) -> None:
    _one_carrier_at(client, "NEAR", 500)
    gcj_pickup = wgs84_to_gcj02(*CENTRE)
    body = _query(gcj_pickup, wgs84_to_gcj02(*_offset(*CENTRE, 800, 0)), crs="gcj02", explain=True)
    candidates = client.post("/v1/match", json=body, headers=ADMIN).json()["candidates"]
    assert [c["carrier_id"] for c in candidates] == ["NEAR"]
    assert candidates[0]["distance_m"] == pytest.approx(500, abs=1)
    assert candidates[0]["terms"]
    plain = client.post("/v1/match", json=_query(CENTRE, CENTRE), headers=ADMIN).json()["candidates"]
    assert "terms" not in plain[0]


def test_batch_assigns_each_carrier_once_and_reports_unserved(client: TestClient) -> None:
    _one_carrier_at(client, "A", 100)
    _one_carrier_at(client, "B", 2000)
    body = {"shipments": [_query(CENTRE, CENTRE), _query(_offset(*CENTRE, 2000, 0), CENTRE), _query(CENTRE, CENTRE)]}
    response = client.post("/v1/match/batch", json=body, headers=ADMIN)
    assert response.status_code == 200, response.text
    result = response.json()
    assigned = [a["carrier_id"] for a in result["assignments"]]
    assert sorted(c for c in assigned if c) == ["A", "B"]
    assert len(result["unserved"]) == 1
    assert result["assignments"][1]["carrier_id"] == "B", "B sits on the second pickup"
    assert result["assignments"][1]["distance_m"] == pytest.approx(0, abs=1)
    twice = client.post("/v1/match/batch", json={**body, "per_carrier_capacity": 2}, headers=ADMIN).json()
    assert twice["unserved"] == []


def test_match_roles_and_validation(client: TestClient) -> None:
    body = _query(CENTRE, CENTRE)
    assert client.post("/v1/match", json=body).status_code == 401
    assert client.post("/v1/match", json=body, headers=make_token(client, "carrier", "X")).status_code == 403
    bad = client.post("/v1/match", json={**body, "pickup": {"lat": 95, "lng": 0}}, headers=ADMIN)
    assert bad.status_code == 422
    assert client.post("/v1/match", json={**body, "weight_kg": -1}, headers=ADMIN).status_code == 422
    assert client.post("/v1/match", json={**body, "rank_by": "price"}, headers=ADMIN).status_code == 422
