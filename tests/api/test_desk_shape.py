"""Issue 12, items 5 and 6, walked over HTTP on both backends as the desk, a handheld and a carrier would:
one shape for times, money and measures in every answer; the OpenAPI document describes the real error
body; the match score says which way is better; secrets are never shown back; tokens name what exists; a
carrier token's positions need no carrier id."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN, make_token, put_master_data

LAYOUT = {
    "kind": "rectangular",
    "aisles": 4,
    "aisle_spacing_m": 3.1,
    "aisle_length_m": 20.3,
    "blocks": 1,
    "slots_per_side": 7,
    "depot_x_m": 0.0,
}
WAREHOUSE = {"lat": 30.1870, "lng": 120.2640}
DROP = {"lat": 30.2500, "lng": 120.2000}
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CARRIER = {
    "name": "Van 1",
    "vehicle_type": "van",
    "capacity_kg": 800.0,
    "capacity_m3": 6.0,
    "coverage": None,
    "webhook_url": "https://carrier.example/hooks",
    "webhook_secret": SECRET,
    "rate_per_km": "1.9",
    "base_fare": "8.25",
}
# Any string that starts like a date-time must be RFC 3339 in UTC with Z.
LOOKS_LIKE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
MONEY_KEYS = {"unit_price", "total", "credit_limit", "effective_credit_limit", "overdue_amount", "amount"}
MONEY_KEYS |= {"rate_per_km", "base_fare", "quoted_unit_price", "catalogue_unit_price", "order_total"}
PLACES = {"_m3": 6, "_kg": 3, "_m": 2, "_s": 3}


def _iso(ts_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts_s))


def _walk(content: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """Every (key, scalar) of a decoded JSON answer; list items carry the key that holds the list."""
    if isinstance(content, dict):
        for k, v in content.items():
            yield from _walk(v, k)
    elif isinstance(content, list):
        for item in content:
            yield from _walk(item, key)
    else:
        yield key, content


def shape_problems(where: str, content: Any) -> list[str]:
    """What in one answer breaks the one shape: a time not RFC 3339 with Z, money not a number, a measure
    with more decimals than its unit means."""
    problems = []
    for key, value in _walk(content):
        if isinstance(value, str) and LOOKS_LIKE_TIME.match(value) and not RFC3339_Z.match(value):
            problems.append(f"{where}: {key}={value!r} is not RFC 3339 with Z")
        if key in MONEY_KEYS and value is not None and not isinstance(value, int | float):
            problems.append(f"{where}: {key}={value!r} is money but not a JSON number")
        if isinstance(value, float):
            for suffix, places in PLACES.items():
                if key.endswith(suffix) and round(value, places) != value:
                    problems.append(f"{where}: {key}={value!r} has more than {places} decimals")
                    break
    return problems


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client()
    put_master_data(
        test_client,
        warehouses={"W1": {"name": "Main", "location": WAREHOUSE, "layout": LAYOUT}},
        skus={
            # 0.1 kg and 1/3 of a cent: sums of these are where binary floats show their noise.
            "S1": {"name": "Tea", "unit_price": "10.3333", "weight_kg": 0.1, "volume_m3": 0.0001},
            "S2": {"name": "Rice", "unit_price": 33.7, "weight_kg": 0.7, "volume_m3": 0.0003},
        },
        customers={"C1": {"name": "Store", "credit_limit": "5000.50", "location": DROP}},
        stock={("W1", "S1"): 100, ("W1", "S2"): 100},
    )
    for sku, slot in (("S1", "A02-L-003"), ("S2", "A04-R-007")):
        assert client_put(test_client, f"/v1/warehouses/W1/slots/{sku}", {"slot": slot}).status_code == 200
    assert client_put(test_client, "/v1/carriers/VAN-1", CARRIER).status_code == 201
    return test_client


def client_put(client: TestClient, path: str, body: dict[str, Any]) -> Any:
    return client.put(path, json=body, headers=ADMIN)


def test_every_answer_of_a_working_day_has_one_shape(client: TestClient) -> None:
    answers: dict[str, Any] = {}
    van = make_token(client, "carrier", "VAN-1")
    # A handheld GPS in Beijing time: the fix is stored and read back as the same instant, in UTC with Z.
    taken_s = time.time() - 30
    local = time.strftime("%Y-%m-%dT%H:%M:%S+08:00", time.gmtime(taken_s + 8 * 3600))
    fix = {"lat": 30.1880, "lng": 120.2650, "ts": local}
    assert client.post("/v1/carriers/positions", json={"positions": [fix]}, headers=van).json() == {"accepted": 1}
    order = client.post(
        "/v1/orders",
        json={
            "customer_id": "C1",
            "lines": [{"sku": "S1", "qty": 3, "unit_price": "10.3333"}, {"sku": "S2", "qty": 7, "unit_price": 33.7}],
            "delivery": {**DROP, "address": "West Lake", "cash_on_delivery": True},
        },
        headers={**ADMIN, "Idempotency-Key": "shape-1"},
    )
    assert order.status_code == 201, order.text
    answers["POST /v1/orders"] = order.json()
    assert order.json()["total"] == pytest.approx(3 * 10.3333 + 7 * 33.7)
    order_id = order.json()["id"]
    answers["GET /v1/carriers/VAN-1"] = carrier = client.get("/v1/carriers/VAN-1", headers=ADMIN).json()
    assert carrier["position"]["ts"] == _iso(taken_s), "positions read back as `ts`, RFC 3339 in UTC"
    assert (carrier["rate_per_km"], carrier["base_fare"]) == (1.9, 8.25), "money is a JSON number everywhere"

    wave = client.post(
        "/v1/warehouses/W1/waves",
        json={"cart": {"max_items": 50, "max_weight_kg": 100, "max_volume_m3": 1}},
        headers=ADMIN,
    )
    assert wave.status_code == 200, wave.text
    answers["POST waves"] = wave.json()
    task = wave.json()["tasks"][0]
    picks = [{"step": s["step"], "picked_qty": s["qty"]} for s in task["steps"]]
    confirmed = client.post(f"/v1/pick-tasks/{task['id']}/confirm", json={"picks": picks}, headers=ADMIN)
    assert confirmed.status_code == 200, confirmed.text
    answers["confirm"] = confirmed.json()
    answers["GET pick task"] = client.get(f"/v1/pick-tasks/{task['id']}", headers=ADMIN).json()
    assert answers["GET pick task"]["steps"][0]["confirmed_at"].endswith("Z")

    answers["GET order"] = shown = client.get(f"/v1/orders/{order_id}", headers=ADMIN).json()
    shipment_id = shown["shipments"][0]["id"]
    assign = client.post(f"/v1/shipments/{shipment_id}/assign", json={}, headers=ADMIN)
    assert assign.status_code == 200, assign.text
    answers["GET waybill"] = waybill = client.get(f"/v1/waybills/{assign.json()['waybill_no']}", headers=ADMIN).json()
    assert waybill["cash_on_delivery"]["amount"] == pytest.approx(3 * 10.3333 + 7 * 33.7)
    assert waybill["weight_kg"] == 5.2, "3 x 0.1 kg + 7 x 0.7 kg, to the gram"

    match = client.post(
        "/v1/match",
        json={"pickup": WAREHOUSE, "dropoff": DROP, "weight_kg": 1, "volume_m3": 0.01, "explain": True},
        headers=ADMIN,
    )
    answers["POST /v1/match"] = match.json()
    distance = match.json()["candidates"][0]["distance_m"]
    assert distance == round(distance, 2) and distance != round(distance)  # metres to the centimetre
    answers["GET /v1/tokens"] = client.get("/v1/tokens", headers=ADMIN).json()
    answers["GET /v1/customers/C1"] = client.get("/v1/customers/C1", headers=ADMIN).json()
    answers["GET /v1/skus/S1"] = client.get("/v1/skus/S1", headers=ADMIN).json()
    answers["route"] = client.post(
        "/v1/warehouses/W1/pick-route", json={"slots": ["A02-L-003", "A04-R-007", "A03-L-001"]}, headers=ADMIN
    ).json()

    problems = [problem for where, answer in answers.items() for problem in shape_problems(where, answer)]
    assert problems == []
    assert answers["GET /v1/customers/C1"]["credit_limit"] == 5000.5


def test_exception_details_carry_money_as_numbers(client: TestClient) -> None:
    """A price conflict's details (JSON kept in the database) answer money as numbers too."""
    held = client.post(
        "/v1/orders",
        json={
            "customer_id": "C1",
            "lines": [{"sku": "S2", "qty": 1, "unit_price": "20.10"}],
            "delivery": {**DROP, "address": "x"},
        },
        headers={**ADMIN, "Idempotency-Key": "shape-price"},
    )
    assert held.json()["status"] == "on_hold", held.text
    shown = client.get(f"/v1/orders/{held.json()['id']}", headers=ADMIN).json()
    exception_id = shown["exceptions"][0]["id"]
    exception = client.get(f"/v1/exceptions/{exception_id}", headers=ADMIN).json()
    assert shape_problems("GET exception", exception) == []
    lines = exception["details"]["lines"]
    assert (lines[0]["quoted_unit_price"], lines[0]["catalogue_unit_price"]) == (20.1, 33.7)


def test_openapi_documents_the_real_error_body_for_every_operation(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas, "FastAPI's {detail: ...} body is never answered"
    error = schemas["ErrorOut"]
    assert error["required"] == ["error"]
    detail = schemas[error["properties"]["error"]["$ref"].rsplit("/", 1)[1]]
    assert {"code", "message"} <= set(detail["required"])
    undocumented = [
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if operation["responses"].get("4XX", {}).get("content", {}).get("application/json", {}).get("schema")
        != {"$ref": "#/components/schemas/ErrorOut"}
    ]
    assert undocumented == []
    # ...and it is what a 4xx answers.
    missing = client.get("/v1/orders/nope", headers=ADMIN)
    assert missing.status_code == 404 and set(missing.json()) == {"error"}
    assert set(missing.json()["error"]) >= {"code", "message"}


def test_the_match_schema_says_lower_score_is_better_and_answers_agree(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert (
        "lower is better" in spec["components"]["schemas"]["CandidateOut"]["properties"]["score"]["description"].lower()
    )
    assert client_put(client, "/v1/carriers/VAN-2", {**CARRIER, "rate_per_km": "9.9"}).status_code == 201
    now = _iso(time.time() - 5)
    fixes = [{"carrier_id": c, "lat": 30.1875, "lng": 120.2645, "ts": now} for c in ("VAN-1", "VAN-2")]
    assert client.post("/v1/carriers/positions", json={"positions": fixes}, headers=ADMIN).json()["accepted"] == 2
    match = client.post(
        "/v1/match", json={"pickup": WAREHOUSE, "dropoff": DROP, "weight_kg": 1, "volume_m3": 0.01}, headers=ADMIN
    ).json()
    scores = [c["score"] for c in match["candidates"]]
    assert [c["carrier_id"] for c in match["candidates"]] == ["VAN-1", "VAN-2"]  # the cheaper one first
    assert scores == sorted(scores) and scores[0] < scores[1]


def test_a_webhook_secret_is_never_shown_back(client: TestClient) -> None:
    dispatcher = make_token(client, "dispatcher")
    for path in ("/v1/carriers/VAN-1",):
        got = client.get(path, headers=dispatcher)
        assert got.status_code == 200
        assert SECRET not in got.text and SECRET[len("whsec_") :] not in got.text
        assert (got.json()["webhook_secret_set"], got.json()["webhook_secret_hint"]) == (True, "...LaSw")
    replaced = client.put("/v1/carriers/VAN-1", json=CARRIER, headers=dispatcher)
    assert replaced.status_code == 200 and SECRET not in replaced.text
    assert replaced.json()["webhook_secret"] is None
    # A URL without a secret: the service generates one and shows it this once, then never again.
    fresh = {key: value for key, value in CARRIER.items() if key != "webhook_secret"}
    created = client.put("/v1/carriers/VAN-3", json=fresh, headers=dispatcher)
    generated = created.json()["webhook_secret"]
    assert created.status_code == 201 and generated.startswith("whsec_")
    again = client.put("/v1/carriers/VAN-3", json=fresh, headers=dispatcher)
    assert again.json()["webhook_secret"] is None and generated not in again.text
    got = client.get("/v1/carriers/VAN-3", headers=make_token(client, "carrier", "VAN-3"))
    assert generated not in got.text and got.json()["webhook_secret_hint"] == "..." + generated[-4:]
    no_hook = client.put("/v1/carriers/VAN-4", json={**fresh, "webhook_url": None}, headers=dispatcher).json()
    assert (no_hook["webhook_secret"], no_hook["webhook_secret_set"], no_hook["webhook_secret_hint"]) == (
        None,
        False,
        None,
    )


def _tokens(client: TestClient) -> list[dict[str, Any]]:
    listed = client.get("/v1/tokens", headers=ADMIN).json()
    return listed["items"] if isinstance(listed, dict) else listed


def test_a_token_names_a_carrier_or_warehouse_that_exists(client: TestClient) -> None:
    before = len(_tokens(client))
    for role, subject in (("carrier", "VAN-9"), ("warehouse", "W9")):
        answer = client.post("/v1/tokens", json={"role": role, "subject": subject}, headers=ADMIN)
        assert answer.status_code == 422, answer.text
        assert answer.json()["error"]["code"] == "unknown_subject"
        assert subject in answer.json()["error"]["message"]
    assert len(_tokens(client)) == before, "a refused token writes nothing"
    for role, subject in (("carrier", "VAN-1"), ("warehouse", "W1")):
        answer = client.post("/v1/tokens", json={"role": role, "subject": subject}, headers=ADMIN)
        assert answer.status_code == 201, answer.text
    listed = _tokens(client)
    assert len(listed) == before + 2 and all(RFC3339_Z.match(t["created_at"]) for t in listed)


def test_a_carrier_token_posts_its_positions_without_naming_itself(client: TestClient) -> None:
    assert client_put(client, "/v1/carriers/VAN-2", CARRIER).status_code == 201
    van = make_token(client, "carrier", "VAN-1")
    now = time.time()
    own = {"lat": 30.19, "lng": 120.27, "ts": _iso(now - 20)}
    answer = client.post("/v1/carriers/positions", json={"positions": [own]}, headers=van)
    assert answer.status_code == 200 and answer.json() == {"accepted": 1}, answer.text
    position = client.get("/v1/carriers/VAN-1", headers=van).json()["position"]
    assert (position["lat"], position["lng"], position["ts"]) == (30.19, 120.27, _iso(now - 20))
    named = {**own, "carrier_id": "VAN-1", "ts": _iso(now - 10)}
    assert client.post("/v1/carriers/positions", json={"positions": [named]}, headers=van).json() == {"accepted": 1}
    other = {**own, "carrier_id": "VAN-2", "ts": _iso(now - 5)}
    refused = client.post("/v1/carriers/positions", json={"positions": [own | {"ts": _iso(now)}, other]}, headers=van)
    assert refused.status_code == 403 and "VAN-2" in refused.json()["error"]["message"]
    assert client.get("/v1/carriers/VAN-2", headers=ADMIN).json()["position"] is None
    # The desk has no carrier of its own: it must say whose fix it is, and a refused batch writes nothing.
    unnamed = client.post("/v1/carriers/positions", json={"positions": [own | {"ts": _iso(now)}]}, headers=ADMIN)
    assert unnamed.status_code == 422 and "carrier_id" in unnamed.json()["error"]["message"]
    assert client.get("/v1/carriers/VAN-1", headers=ADMIN).json()["position"]["ts"] == _iso(now - 10)
