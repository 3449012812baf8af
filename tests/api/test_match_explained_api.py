"""Matching asks only what the service does not know, and says why nobody (or not the nearest) was found
(both backends): jobs by order or shipment id, batch answers with the request's ids and fallback, an
explanation with the carriers left out per reason, and 422 naming the allowed values of enum fields."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN, put_master_data

DEPOT = (30.25, 120.15)
M_PER_DEG = 111_195.0


def _iso(ts_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts_s))


def _north(metres: float, of: tuple[float, float] = DEPOT) -> tuple[float, float]:
    return of[0] + metres / M_PER_DEG, of[1]


def _square(centre: tuple[float, float], half_m: float) -> dict:
    dlat = half_m / M_PER_DEG
    dlng = half_m / (M_PER_DEG * math.cos(math.radians(centre[0])))
    s, n, w, e = centre[0] - dlat, centre[0] + dlat, centre[1] - dlng, centre[1] + dlng
    return {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def _carrier(
    client: TestClient,
    carrier_id: str,
    at: tuple[float, float] | None,
    *,
    age_s: float = 30.0,
    vehicle_type: str = "van",
    capacity_kg: float = 500,
    coverage: dict | None = None,
    active: bool = True,
) -> None:
    body = {
        "name": carrier_id,
        "vehicle_type": vehicle_type,
        "capacity_kg": capacity_kg,
        "capacity_m3": 5,
        "coverage": coverage,
        "active": active,
    }
    answer = client.put(f"/v1/carriers/{carrier_id}", json=body, headers=ADMIN)
    assert answer.status_code in (200, 201), answer.text
    if at is not None:
        fix = {"carrier_id": carrier_id, "lat": at[0], "lng": at[1], "ts": _iso(time.time() - age_s)}
        posted = client.post("/v1/carriers/positions", json={"positions": [fix]}, headers=ADMIN)
        assert posted.status_code == 200, posted.text


def _job(**extra: object) -> dict:
    dropoff = _north(1500)
    return {
        "pickup": {"lat": DEPOT[0], "lng": DEPOT[1]},
        "dropoff": {"lat": dropoff[0], "lng": dropoff[1]},
        "weight_kg": 50,
        "volume_m3": 0.5,
        **extra,
    }


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client()
    put_master_data(
        test_client,
        warehouses={
            # The empty warehouse is nearer the customer than the one that holds the stock.
            "EMPTY": {"name": "Empty", "location": {"lat": 30.30, "lng": 120.15}},
            "DEPOT": {"name": "Depot", "location": {"lat": DEPOT[0], "lng": DEPOT[1]}},
        },
        skus={"TEA": {"name": "Green tea", "unit_price": "10", "weight_kg": 2.5, "volume_m3": 0.01}},
        customers={"SHOP": {"name": "Shop", "credit_limit": 100_000, "location": {"lat": 30.31, "lng": 120.15}}},
        stock={("DEPOT", "TEA"): 50, ("EMPTY", "TEA"): 0},
    )
    return test_client


def test_an_empty_answer_counts_the_carriers_left_out_per_reason(client: TestClient) -> None:
    near = _north(500)
    fence_elsewhere = _square(_north(20_000), 1000)
    _carrier(client, "OFF", near, active=False)
    _carrier(client, "NOFIX", None)
    _carrier(client, "FAR", _north(8000))
    _carrier(client, "TRUCK", near, vehicle_type="truck")
    _carrier(client, "SMALL", near, capacity_kg=10)
    _carrier(client, "FENCED", near, coverage=fence_elsewhere)
    _carrier(client, "STALE", _north(300), age_s=86_400)
    answer = client.post("/v1/match", json=_job(vehicle_type="van"), headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["candidates"] == []
    explanation = body["explanation"]
    assert explanation["carriers"] == 7 and explanation["eligible"] == 0
    assert explanation["excluded"] == {
        "inactive": 1,
        "no_position": 1,
        "out_of_radius": 1,
        "vehicle_type": 1,
        "capacity": 1,
        "coverage": 1,
        "stale_position": 1,
    }
    assert explanation["max_position_age_s"] == 900
    [stale] = explanation["stale_nearer"]
    assert stale["carrier_id"] == "STALE" and stale["distance_m"] == pytest.approx(300, abs=1)
    assert stale["position_age_s"] >= 86_400
    assert "skipped as stale" in explanation["message"]

    # One eligible carrier further out: it is the answer, and the explanation names the nearer stale one.
    _carrier(client, "FRESH", _north(2500))
    answer = client.post("/v1/match", json=_job(vehicle_type="van"), headers=ADMIN).json()
    assert [c["carrier_id"] for c in answer["candidates"]] == ["FRESH"]
    assert answer["explanation"]["eligible"] == 1
    assert [s["carrier_id"] for s in answer["explanation"]["stale_nearer"]] == ["STALE"]

    # Once the stale carrier reports again, it is matched, and a plain answer carries no explanation.
    _carrier(client, "STALE", _north(300))
    answer = client.post("/v1/match", json=_job(vehicle_type="van"), headers=ADMIN).json()
    assert [c["carrier_id"] for c in answer["candidates"]] == ["STALE", "FRESH"]
    assert "explanation" not in answer


def test_fallback_that_finds_nobody_explains_at_the_widest_radius(client: TestClient) -> None:
    _carrier(client, "FAR", _north(30_000))
    answer = client.post("/v1/match", json=_job(fallback=True), headers=ADMIN)
    assert answer.status_code == 404, answer.text
    error = answer.json()["error"]
    assert error["code"] == "no_carrier_in_range"
    assert error["details"]["explanation"]["excluded"]["out_of_radius"] == 1
    assert error["details"]["explanation"]["radius_m"] == max(error["details"]["radii_m"])


def test_unknown_enum_values_answer_422_naming_the_allowed_values(client: TestClient) -> None:
    _carrier(client, "V1", _north(100), vehicle_type="van")
    _carrier(client, "B1", _north(100), vehicle_type="bike")
    typo = client.post("/v1/match", json=_job(vehicle_type="vann"), headers=ADMIN)
    assert typo.status_code == 422, typo.text
    assert typo.json()["error"]["code"] == "unknown_vehicle_type"
    assert typo.json()["error"]["details"]["allowed"] == ["bike", "van"]
    assert "'bike', 'van'" in typo.json()["error"]["message"]
    rank = client.post("/v1/match", json=_job(rank_by="nearest"), headers=ADMIN)
    assert rank.status_code == 422, rank.text
    assert "'score' or 'distance'" in rank.json()["error"]["message"]
    in_batch = client.post("/v1/match/batch", json={"shipments": [_job(), _job(vehicle_type="lorry")]}, headers=ADMIN)
    assert in_batch.status_code == 422 and in_batch.json()["error"]["code"] == "unknown_vehicle_type"


def test_a_job_is_named_by_order_or_shipment_and_the_service_derives_the_rest(client: TestClient) -> None:
    _carrier(client, "AT-DEPOT", _north(200))
    _carrier(client, "AT-EMPTY", (30.30, 120.15))
    # Held for a price conflict before stock is locked: no shipment yet.
    held = client.post(
        "/v1/orders",
        json={"customer_id": "SHOP", "lines": [{"sku": "TEA", "qty": 4, "unit_price": "1"}]},
        headers=ADMIN,
    ).json()
    assert held["status"] == "on_hold" and held["shipments"] == []
    answer = client.post("/v1/match", json={"order_id": held["id"], "radius_m": 1000}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    job = answer.json()["job"]
    # Before allocation: the warehouse nearest the delivery point that can supply the order, not the empty one.
    assert (job["warehouse_id"], job["pickup_source"], job.get("shipment_id")) == (
        "DEPOT",
        "nearest_stocking_warehouse",
        None,
    )
    assert (job["pickup"], job["dropoff"]) == ({"lat": DEPOT[0], "lng": DEPOT[1]}, {"lat": 30.31, "lng": 120.15})
    assert job["weight_kg"] == pytest.approx(10.0) and job["volume_m3"] == pytest.approx(0.04)
    assert [c["carrier_id"] for c in answer.json()["candidates"]] == ["AT-DEPOT"]

    placed = client.post(
        "/v1/orders", json={"customer_id": "SHOP", "lines": [{"sku": "TEA", "qty": 6}]}, headers=ADMIN
    ).json()
    [shipment] = placed["shipments"]
    for ref in ({"order_id": placed["id"]}, {"shipment_id": shipment["id"]}):
        answer = client.post("/v1/match", json={**ref, "radius_m": 1000}, headers=ADMIN)
        assert answer.status_code == 200, answer.text
        job = answer.json()["job"]
        assert (job["order_id"], job["shipment_id"], job["pickup_source"]) == (placed["id"], shipment["id"], "shipment")
        assert job["weight_kg"] == pytest.approx(15.0)
        assert [c["carrier_id"] for c in answer.json()["candidates"]] == ["AT-DEPOT"]
    # A field given as well overrides the derived one: a lighter part-load.
    lighter = client.post("/v1/match", json={"shipment_id": shipment["id"], "weight_kg": 1}, headers=ADMIN).json()
    assert lighter["job"]["weight_kg"] == 1

    missing = client.post("/v1/match", json={"shipment_id": "shp_missing"}, headers=ADMIN)
    assert missing.status_code == 404, missing.text
    neither = client.post("/v1/match", json={"weight_kg": 1}, headers=ADMIN)
    assert neither.status_code == 422
    assert "order_id or shipment_id" in neither.json()["error"]["message"]


def test_an_order_split_across_warehouses_asks_for_one_of_its_shipments(client: TestClient) -> None:
    topped = client.put("/v1/warehouses/EMPTY/stock/TEA", json={"on_hand": 3}, headers=ADMIN)
    assert topped.status_code == 200, topped.text
    order = client.post("/v1/orders", json={"customer_id": "SHOP", "lines": [{"sku": "TEA", "qty": 52}]}, headers=ADMIN)
    assert order.status_code == 201, order.text
    shipments = order.json()["shipments"]
    assert len(shipments) == 2
    answer = client.post("/v1/match", json={"order_id": order.json()["id"]}, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "ambiguous_order"
    assert sorted(error["details"]["shipment_ids"]) == sorted(s["id"] for s in shipments)


def test_batch_answers_with_the_request_ids_and_honours_fallback(client: TestClient) -> None:
    _carrier(client, "NEAR", _north(400))
    _carrier(client, "MID", _north(4000))
    order = client.post(
        "/v1/orders", json={"customer_id": "SHOP", "lines": [{"sku": "TEA", "qty": 1}]}, headers=ADMIN
    ).json()
    shipment_id = order["shipments"][0]["id"]
    beyond = _north(5500)  # MID is 1.5 km away: outside 1000 m, inside the first fallback radius (3000 m)
    far_job = {"pickup": {"lat": beyond[0], "lng": beyond[1]}, "radius_m": 1000}
    jobs = [
        {"shipment_id": shipment_id, "radius_m": 1000},
        _job(id="job-wide", fallback=True, **far_job),
        _job(id="job-strict", **far_job),
    ]
    answer = client.post("/v1/match/batch", json={"shipments": jobs}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    by_id = {a["id"]: a for a in body["assignments"]}
    assert list(by_id) == [shipment_id, "job-wide", "job-strict"]
    assert by_id[shipment_id]["carrier_id"] == "NEAR" and by_id[shipment_id]["order_id"] == order["id"]
    assert by_id[shipment_id]["radius_m"] == 1000
    assert by_id["job-wide"]["carrier_id"] == "MID" and by_id["job-wide"]["radius_m"] == 3000
    strict = by_id["job-strict"]
    assert strict["carrier_id"] is None and strict["explanation"]["excluded"]["out_of_radius"] == 2
    assert body["unserved"] == [2] and body["unserved_ids"] == ["job-strict"]


def test_a_batch_job_that_lost_its_only_carrier_to_another_job_is_told_so(client: TestClient) -> None:
    _carrier(client, "ONLY", _north(400))
    answer = client.post("/v1/match/batch", json={"shipments": [_job(id="a"), _job(id="b")]}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    served = [a for a in body["assignments"] if a["carrier_id"] == "ONLY"]
    [unserved] = [a for a in body["assignments"] if a["carrier_id"] is None]
    assert len(served) == 1 and body["unserved_ids"] == [unserved["id"]]
    assert unserved["explanation"]["eligible"] == 1
    assert "another job of this batch" in unserved["explanation"]["message"]
