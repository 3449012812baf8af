"""Stale positions are not positions (both backends): by default a carrier last seen more than 900 s ago
is not matched, the desk sees each carrier's position age, and ``DISPATCH_MAX_POSITION_AGE_S=0`` keeps
positions forever."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from api.settings import Settings

from .factories import ADMIN

PICKUP = {"lat": 30.25, "lng": 120.15}
JOB = {"pickup": PICKUP, "dropoff": {"lat": 30.26, "lng": 120.16}, "weight_kg": 10, "volume_m3": 0.1}


def _iso(ts_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts_s))


def _seen(client: TestClient, carrier_id: str, ago_s: float) -> float:
    body = {"name": carrier_id, "vehicle_type": "van", "capacity_kg": 500, "capacity_m3": 5, "coverage": None}
    assert client.put(f"/v1/carriers/{carrier_id}", json=body, headers=ADMIN).status_code in (200, 201)
    ts_s = float(int(time.time() - ago_s))
    fix = {"carrier_id": carrier_id, "lat": 30.251, "lng": 120.15, "ts": _iso(ts_s)}
    answer = client.post("/v1/carriers/positions", json={"positions": [fix]}, headers=ADMIN)
    assert answer.status_code == 200 and answer.json()["accepted"] == 1, answer.text
    return ts_s


def _matched(client: TestClient) -> list[str]:
    answer = client.post("/v1/match", json=JOB, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return [c["carrier_id"] for c in answer.json()["candidates"]]


def test_the_default_limit_is_the_contracts_900_s(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPATCH_MAX_POSITION_AGE_S", raising=False)
    assert Settings().max_position_age_s == 900
    monkeypatch.setenv("DISPATCH_MAX_POSITION_AGE_S", "0")
    assert Settings().max_position_age_s == 0


def test_a_carrier_last_seen_yesterday_is_not_matched_and_the_desk_sees_why(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPATCH_MAX_POSITION_AGE_S", raising=False)
    client = make_client()
    fixed_at = _seen(client, "YESTERDAY", 86_400)
    _seen(client, "RECENT", 600)  # ten minutes ago: within the limit
    assert _matched(client) == ["RECENT"]
    carrier = client.get("/v1/carriers/YESTERDAY", headers=ADMIN).json()
    assert carrier["position_stale"] is True
    assert carrier["position_age_s"] == pytest.approx(time.time() - fixed_at, abs=5)
    assert datetime.fromisoformat(carrier["position_at"]) == datetime.fromtimestamp(fixed_at, tz=UTC)
    assert carrier["position_at"].endswith("Z")
    recent = client.get("/v1/carriers/RECENT", headers=ADMIN).json()
    assert recent["position_stale"] is False and 595 <= recent["position_age_s"] <= 700

    explained = client.post("/v1/match", json={**JOB, "explain": True}, headers=ADMIN).json()["explanation"]
    assert explained["excluded"]["stale_position"] == 1
    assert [s["carrier_id"] for s in explained["stale_nearer"]] == []  # it is no nearer than RECENT

    # It reports again: matched, and no longer stale on the desk.
    _seen(client, "YESTERDAY", 5)
    assert sorted(_matched(client)) == ["RECENT", "YESTERDAY"]
    assert client.get("/v1/carriers/YESTERDAY", headers=ADMIN).json()["position_stale"] is False


def test_a_limit_of_zero_keeps_positions_forever(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_position_age_s=0)
    _seen(client, "YESTERDAY", 86_400)
    assert _matched(client) == ["YESTERDAY"]
    carrier = client.get("/v1/carriers/YESTERDAY", headers=ADMIN).json()
    assert carrier["position_stale"] is False and carrier["position_age_s"] >= 86_400


def test_a_carrier_without_a_fix_shows_no_age(client: TestClient) -> None:
    body = {"name": "NEW", "vehicle_type": "van", "capacity_kg": 500, "capacity_m3": 5, "coverage": None}
    assert client.put("/v1/carriers/NEW", json=body, headers=ADMIN).status_code == 201
    carrier = client.get("/v1/carriers/NEW", headers=ADMIN).json()
    assert carrier["position"] is None and carrier["position_age_s"] is None and carrier["position_stale"] is None
