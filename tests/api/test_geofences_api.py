"""Geofences over HTTP: upsert, read back, point queries, precise 422s, roles."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN, make_token

SQUARE = {
    "type": "Polygon",
    "coordinates": [[[120.0, 30.0], [120.1, 30.0], [120.1, 30.1], [120.0, 30.1], [120.0, 30.0]]],
}


def test_put_then_get_roundtrip_and_upsert_status(client: TestClient) -> None:
    body = {"kind": "service_area", "geometry": SQUARE, "name": "Centre"}
    first = client.put("/v1/geofences/zone-1", json=body, headers=ADMIN)
    assert first.status_code == 201, first.text
    again = client.put("/v1/geofences/zone-1", json=body, headers=ADMIN)
    assert again.status_code == 200
    got = client.get("/v1/geofences/zone-1", headers=ADMIN)
    assert got.status_code == 200
    assert got.json()["geometry"] == SQUARE
    assert got.json()["kind"] == "service_area"


def test_absent_fence_is_404(client: TestClient) -> None:
    response = client.get("/v1/geofences/nope", headers=ADMIN)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "geofence_not_found"


def test_containing_returns_only_fences_covering_the_point(client: TestClient) -> None:
    client.put("/v1/geofences/a", json={"kind": "service_area", "geometry": SQUARE}, headers=ADMIN)
    triangle = {"type": "Polygon", "coordinates": [[[120.0, 30.0], [120.1, 30.0], [120.0, 30.1], [120.0, 30.0]]]}
    client.put("/v1/geofences/b", json={"kind": "restricted_zone", "geometry": triangle}, headers=ADMIN)
    inside_both = client.get("/v1/geofences/containing", params={"lat": 30.02, "lng": 120.02}, headers=ADMIN)
    assert [f["id"] for f in inside_both.json()["items"]] == ["a", "b"]
    # In the square's bbox and the triangle's bbox, but outside the triangle (above its diagonal).
    only_square = client.get("/v1/geofences/containing", params={"lat": 30.09, "lng": 120.09}, headers=ADMIN)
    assert [f["id"] for f in only_square.json()["items"]] == ["a"]
    by_kind = client.get(
        "/v1/geofences/containing", params={"lat": 30.02, "lng": 120.02, "kind": "restricted_zone"}, headers=ADMIN
    )
    assert [f["id"] for f in by_kind.json()["items"]] == ["b"]
    outside = client.get("/v1/geofences/containing", params={"lat": 31.0, "lng": 120.02}, headers=ADMIN)
    assert outside.json()["items"] == []


@pytest.mark.parametrize(
    ("geometry", "fragment"),
    [
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}, "Self-intersection"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "not closed"),
        ({"type": "Point", "coordinates": [0, 0]}, "type must be one of"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, "at least 4 positions"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 95], [0, 0]]]}, "latitude 95"),
    ],
)
def test_invalid_geometry_is_422_and_nothing_is_written(client: TestClient, geometry: dict, fragment: str) -> None:
    response = client.put("/v1/geofences/bad", json={"kind": "service_area", "geometry": geometry}, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_geometry"
    assert fragment in response.json()["error"]["message"]
    assert client.get("/v1/geofences/bad", headers=ADMIN).status_code == 404


def test_roles(client: TestClient) -> None:
    body = {"kind": "service_area", "geometry": SQUARE}
    assert client.put("/v1/geofences/z", json=body).status_code == 401
    carrier = make_token(client, "carrier", "CAR-1")
    assert client.put("/v1/geofences/z", json=body, headers=carrier).status_code == 403
    dispatcher = make_token(client, "dispatcher")
    assert client.put("/v1/geofences/z", json=body, headers=dispatcher).status_code == 201
    assert client.get("/v1/geofences/z", headers=carrier).status_code == 200


def _iso(ts_s: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts_s))


def test_carrier_moving_into_a_fence_produces_an_enter_event_after_the_dwell(client: TestClient) -> None:
    import time

    client.put("/v1/geofences/zone", json={"kind": "restricted_zone", "geometry": SQUARE}, headers=ADMIN)
    carrier = {"name": "c", "vehicle_type": "van", "capacity_kg": 10, "capacity_m3": 1, "coverage": None}
    assert client.put("/v1/carriers/CAR-1", json=carrier, headers=ADMIN).status_code == 201
    now = time.time() - 100
    track = [(30.05, 119.95), (30.05, 120.05), (30.051, 120.05), (30.052, 120.05), (30.053, 120.05)]
    for i, (lat, lng) in enumerate(track):
        fix = {"carrier_id": "CAR-1", "lat": lat, "lng": lng, "ts": _iso(now + i * 10)}
        assert client.post("/v1/carriers/positions", json={"positions": [fix]}, headers=ADMIN).status_code == 200
    events = client.get("/v1/geofences/events", params={"carrier_id": "CAR-1"}, headers=ADMIN).json()["items"]
    assert [(e["fence_id"], e["kind"], e["lng"]) for e in events] == [("zone", "enter", 120.05)]
    # Leaving by a long hop past the far side: confirmed after the dwell as an exit.
    for i, lng in enumerate((120.3, 120.31, 120.32)):
        fix = {"carrier_id": "CAR-1", "lat": 30.05, "lng": lng, "ts": _iso(now + 60 + i * 10)}
        client.post("/v1/carriers/positions", json={"positions": [fix]}, headers=ADMIN)
    events = client.get("/v1/geofences/events", params={"fence_id": "zone"}, headers=ADMIN).json()["items"]
    assert [e["kind"] for e in events] == ["enter", "exit"]
    first = client.get("/v1/geofences/events", params={"limit": 1}, headers=ADMIN).json()
    rest = client.get("/v1/geofences/events", params={"limit": 1, "cursor": first["next_cursor"]}, headers=ADMIN).json()
    assert [e["kind"] for e in first["items"] + rest["items"]] == ["enter", "exit"] and rest["next_cursor"] is None
    newest = client.get("/v1/geofences/events", params={"order": "desc", "limit": 1}, headers=ADMIN).json()
    assert [e["kind"] for e in newest["items"]] == ["exit"] and newest["next_cursor"] is not None
    own = make_token(client, "carrier", "CAR-1")
    assert len(client.get("/v1/geofences/events", headers=own).json()["items"]) == 2
    other = make_token(client, "carrier", "CAR-2")
    assert client.get("/v1/geofences/events", headers=other).json()["items"] == []
    assert client.get("/v1/geofences/events", params={"carrier_id": "CAR-1"}, headers=other).status_code == 403
