"""A carrier token acts for its own carrier only, on both backends: every operation of the published document
that is not a carrier's own (its record, positions, events, waybills; reading fences) answers 403, and the
carrier operations answer 403 when they name another carrier."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN, make_token

#: Operations a carrier token may call (for its own carrier), besides those that need no token at all.
CARRIER_OPERATIONS = {
    ("GET", "/v1/carriers"),
    ("GET", "/v1/carriers/{carrier_id}"),
    ("POST", "/v1/carriers/positions"),
    ("POST", "/v1/carriers/{carrier_id}/events"),
    ("GET", "/v1/waybills"),
    ("GET", "/v1/waybills/{waybill_no}"),
    ("GET", "/v1/waybills/{waybill_no}/label.pdf"),
    ("GET", "/v1/geofences"),
    ("GET", "/v1/geofences/containing"),
    ("GET", "/v1/geofences/events"),
    ("GET", "/v1/geofences/{fence_id}"),
}
PUBLIC_OPERATIONS = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/track/{reference}"),
    ("POST", "/v1/payments/notify"),
}


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client()
    for carrier_id in ("K1", "K2"):
        body = {"name": carrier_id, "vehicle_type": "van", "capacity_kg": 500, "capacity_m3": 4}
        assert test_client.put(f"/v1/carriers/{carrier_id}", json=body, headers=ADMIN).status_code == 201
    return test_client


def _operations(client: TestClient) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item]


def test_a_carrier_token_is_refused_everywhere_but_its_own_carrier_operations(client: TestClient) -> None:
    k1 = make_token(client, "carrier", "K1")
    refused: list[tuple[str, str, int]] = []
    admitted: list[tuple[str, str, int]] = []
    for method, path in _operations(client):
        if (method, path) in PUBLIC_OPERATIONS:
            continue
        # Every path names the other carrier, or ids that need not exist: the role check comes first.
        url = re.sub(r"\{carrier_id\}", "K2", path)
        url = re.sub(r"\{[a-z_]+\}", "X1", url)
        answer = client.request(method, url, json={}, headers=k1)
        (refused if answer.status_code == 403 else admitted).append((method, path, answer.status_code))
        if answer.status_code == 403:
            assert answer.json()["error"]["code"] == "forbidden", (method, path, answer.text)
    admitted_operations = {(method, path) for method, path, _ in admitted}
    assert admitted_operations <= CARRIER_OPERATIONS, admitted
    # Those naming another carrier are refused although a carrier may call them for itself.
    assert {(m, p) for m, p, _ in refused} >= {
        ("GET", "/v1/carriers/{carrier_id}"),
        ("POST", "/v1/carriers/{carrier_id}/events"),
    }
    assert len(refused) > 40, "most of the API is not a carrier's"


def test_a_carrier_token_reads_and_reports_only_for_its_own_carrier(client: TestClient) -> None:
    k1 = make_token(client, "carrier", "K1")
    assert [c["id"] for c in client.get("/v1/carriers", headers=k1).json()["items"]] == ["K1"]
    assert client.get("/v1/carriers/K1", headers=k1).status_code == 200
    assert client.get("/v1/carriers/K2", headers=k1).status_code == 403
    fix = {"lat": 30.0, "lng": 120.0, "ts": "2026-11-30T10:00:00Z"}
    other = client.post("/v1/carriers/positions", json={"positions": [{**fix, "carrier_id": "K2"}]}, headers=k1)
    assert other.status_code == 403
    assert client.get("/v1/carriers/K2", headers=ADMIN).json()["position"] is None, "the refused fix was not kept"
    assert client.get("/v1/waybills", params={"carrier_id": "K2"}, headers=k1).status_code == 403
    assert client.get("/v1/waybills", headers=k1).status_code == 200
    event = {"event_id": "e1", "waybill_no": "DW1", "type": "picked_up", "at": "2026-11-30T10:00:00Z"}
    assert client.post("/v1/carriers/K2/events", json=event, headers=k1).status_code == 403
