"""The demo fleet keeps reporting while the demo runs: stale demo carriers become matchable again, stay near
where they were parked however often they report, and no other carrier is touched (both backends)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.container import Container
from api.demo import DEMO_CARRIER_IDS, WAREHOUSES, load_demo_data
from api.demo_fleet import JITTER_M, DemoFleet
from geo.distance import haversine_m

ADMIN = {"Authorization": "Bearer demo-admin"}
MAX_AGE_S = 2.0


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    from api.settings import Settings

    settings = Settings(
        database_url=database_url, admin_token="demo-admin", log_format="console", max_position_age_s=MAX_AGE_S
    )
    with TestClient(create_app(settings, demo=True)) as test_client:
        yield test_client


def _match_at_warehouse(client: TestClient) -> list[str]:
    _, lat, lng = next(iter(WAREHOUSES.values()))
    body = {"pickup": {"lat": lat, "lng": lng}, "dropoff": {"lat": lat, "lng": lng}, "weight_kg": 1, "volume_m3": 0.01}
    answer = client.post("/v1/match", json=body, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return [c["carrier_id"] for c in answer.json()["candidates"]]


def _position(client: TestClient, carrier_id: str) -> tuple[float, float]:
    position = client.get(f"/v1/carriers/{carrier_id}", headers=ADMIN).json()["position"]
    return position["lat"], position["lng"]


def test_stale_demo_carriers_report_again_and_stay_parked(client: TestClient) -> None:
    container: Container = client.app.state.container  # type: ignore[attr-defined]
    load_demo_data(container)
    own = {"name": "Own van", "vehicle_type": "van", "capacity_kg": 500, "capacity_m3": 4, "coverage": None}
    assert client.put("/v1/carriers/MY-VAN", json=own, headers=ADMIN).status_code == 201
    parked = {cid: _position(client, cid) for cid in DEMO_CARRIER_IDS}
    assert _match_at_warehouse(client) == []  # the demo's fixes are up to 2 minutes old: stale at a 2 s limit

    fleet = DemoFleet(container, seed=7)
    assert fleet.report() == len(DEMO_CARRIER_IDS)
    assert _match_at_warehouse(client), "fresh fixes make the demo fleet matchable again"
    time.sleep(MAX_AGE_S + 0.5)
    assert _match_at_warehouse(client) == []
    fleet.report()
    assert _match_at_warehouse(client)
    for _ in range(5):
        time.sleep(0.01)
        fleet.report()
    for carrier_id, (lat, lng) in parked.items():
        assert haversine_m(lat, lng, *_position(client, carrier_id)) <= JITTER_M * 2**0.5 + 0.5
    assert client.get("/v1/carriers/MY-VAN", headers=ADMIN).json().get("position") is None  # not a demo carrier
