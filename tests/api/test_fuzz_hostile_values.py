"""Every leaf of every write body replaced by a hostile value (NaN, Infinity, 1e400, 10^30, -1, -0.0, "",
a long string, [], {}, null, true): never a 5xx, and a refused request (4xx) leaves the resource it
aimed at exactly as it was. Runs on both backends (PostgreSQL is stricter about integer ranges)."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN, put_master_data

JSON = {**ADMIN, "Content-Type": "application/json"}
LAYOUT = {
    "kind": "rectangular",
    "aisles": 4,
    "aisle_spacing_m": 3.0,
    "aisle_length_m": 30.0,
    "blocks": 1,
    "slots_per_side": 10,
    "depot_x_m": 0.0,
}
SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
#: Raw JSON fragments (NaN/Infinity/1e400 are accepted by Python's JSON parser, so they must be refused).
HOSTILE = ["NaN", "Infinity", "-Infinity", "1e400", str(10**30), "-1", "-0.0", '""', json.dumps("x" * 5000)]
HOSTILE += ["[]", "{}", "null", "true"]


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaves(child, (*path, key))
    elif isinstance(value, list):
        for i, child in enumerate(value[:2]):
            yield from _leaves(child, (*path, i))
    if path:
        yield path


def _with_marker(template: dict[str, Any], path: tuple[Any, ...]) -> str:
    body = copy.deepcopy(template)
    node: Any = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = "__HOSTILE__"
    return json.dumps(body)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client(raise_server_exceptions=False)
    put_master_data(
        test_client,
        warehouses={"W1": {"name": "w", "location": {"lat": 0.5, "lng": 0.5}, "layout": LAYOUT}},
        skus={"S1": {"name": "s", "unit_price": 2, "weight_kg": 1, "volume_m3": 0.01}},
        customers={"C1": {"name": "c", "credit_limit": 10_000}},
        stock={("W1", "S1"): 100},
    )
    ok = [
        test_client.put("/v1/warehouses/W1/slots/S1", json={"slot": "A01-L-001"}, headers=ADMIN),
        test_client.put(
            "/v1/carriers/K1",
            json={"name": "k", "vehicle_type": "van", "capacity_kg": 100, "capacity_m3": 1, "coverage": SQUARE},
            headers=ADMIN,
        ),
        test_client.put("/v1/geofences/F1", json={"kind": "service_area", "geometry": SQUARE}, headers=ADMIN),
    ]
    assert all(answer.status_code in (200, 201) for answer in ok), [a.text for a in ok]
    return test_client


def _cases() -> list[tuple[str, str, dict[str, Any], str | None]]:
    """(method, path, valid body, GET path whose answer must not change on a 4xx)."""
    iso = "__NOW__"
    return [
        ("PUT", "/v1/warehouses/W1", {"name": "w", "location": {"lat": 0.5, "lng": 0.5}, "layout": LAYOUT}, None),
        ("PUT", "/v1/skus/S1", {"name": "s", "unit_price": 2, "weight_kg": 1, "volume_m3": 0.01}, "/v1/skus/S1"),
        (
            "PUT",
            "/v1/customers/C1",
            {"name": "c", "credit_limit": 10_000, "location": {"lat": 1, "lng": 1}, "temporary_credit_limit": 5},
            "/v1/customers/C1",
        ),
        ("PUT", "/v1/warehouses/W1/stock/S1", {"on_hand": 100}, "/v1/warehouses/W1/stock/S1"),
        (
            "PUT",
            "/v1/carriers/K1",
            {
                "name": "k",
                "vehicle_type": "van",
                "capacity_kg": 100,
                "capacity_m3": 1,
                "coverage": SQUARE,
                "rate_per_km": 1,
                "base_fare": 1,
                "on_time_rate": 0.5,
                "rating": 3,
            },
            "/v1/carriers/K1",
        ),
        (
            "POST",
            "/v1/carriers/positions",
            {"positions": [{"carrier_id": "K1", "lat": 0.5, "lng": 0.5, "ts": iso}]},
            "/v1/carriers/K1",
        ),
        ("PUT", "/v1/geofences/F1", {"kind": "service_area", "geometry": SQUARE, "name": "n"}, "/v1/geofences/F1"),
        ("PUT", "/v1/warehouses/W1/slots/S1", {"slot": "A01-L-001"}, "/v1/warehouses/W1/slots/S1"),
        (
            "POST",
            "/v1/orders",
            {
                "customer_id": "C1",
                "lines": [{"sku": "S1", "qty": 1, "unit_price": 2}],
                "delivery": {"lat": 0.5, "lng": 0.5, "address": "a"},
            },
            "/v1/warehouses/W1/stock/S1",
        ),
        (
            "POST",
            "/v1/match",
            {
                "pickup": {"lat": 0.5, "lng": 0.5},
                "dropoff": {"lat": 0.5, "lng": 0.5},
                "weight_kg": 1,
                "volume_m3": 0.1,
                "radius_m": 3000,
                "limit": 5,
            },
            None,
        ),
        (
            "POST",
            "/v1/match/batch",
            {
                "shipments": [
                    {
                        "pickup": {"lat": 0.5, "lng": 0.5},
                        "dropoff": {"lat": 0.5, "lng": 0.5},
                        "weight_kg": 1,
                        "volume_m3": 1,
                    }
                ]
            },
            None,
        ),
        ("POST", "/v1/warehouses/W1/pick-route", {"slots": ["A01-L-001", "A02-R-003"], "time_limit_s": 0.2}, None),
        (
            "POST",
            "/v1/warehouses/W1/waves",
            {"cart": {"max_items": 10, "max_weight_kg": 10, "max_volume_m3": 1}, "time_limit_s": 0.2},
            "/v1/orders?limit=200",
        ),
    ]


CASES = _cases()


@pytest.mark.parametrize(("method", "path", "template", "watch"), CASES, ids=[f"{c[0]} {c[1]}" for c in CASES])
def test_hostile_leaf_values_never_500_and_refusals_write_nothing(
    client: TestClient, method: str, path: str, template: dict[str, Any], watch: str | None
) -> None:
    counter = iter(range(1_000_000))

    def now_iso() -> str:
        return datetime.fromtimestamp(time.time() - 1, UTC).isoformat()

    def snapshot() -> Any:
        if watch is None:
            return None
        answer = client.get(watch, headers=ADMIN)
        data = answer.json()
        if isinstance(data, dict):
            data.pop("position", None)  # the live position is what a position post may legitimately move
            data.pop("position_age_s", None)  # and its age grows by itself
        return answer.status_code, data

    send: Callable[[str], Any] = lambda raw: client.request(  # noqa: E731
        method, path, content=raw, headers={**JSON, "Idempotency-Key": f"fuzz-{next(counter)}"}
    )
    problems = []
    for leaf in _leaves(template):
        marked = _with_marker(template, leaf)
        for value in HOSTILE:
            raw = marked.replace('"__HOSTILE__"', value).replace('"__NOW__"', json.dumps(now_iso()))
            before = snapshot()
            answer = send(raw)
            if answer.status_code >= 500:
                problems.append((leaf, value[:20], answer.status_code, answer.text[:200]))
            elif answer.status_code >= 400 and snapshot() != before:
                problems.append((leaf, value[:20], answer.status_code, "refused but changed " + str(watch)))
    for raw in ["", "null", "[]", "1", "{", '"s"', "{}"]:
        answer = send(raw)
        assert answer.status_code in (400, 422), (raw, answer.status_code, answer.text)
    assert problems == []
