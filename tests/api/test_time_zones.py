"""Every timestamp the API answers is RFC 3339 with a zone, on SQLite and on PostGIS.

SQLite keeps no zone, so a column that is not ``foundation.columns.UtcDateTime`` (or a response that formats
a naive time itself) answers ``2026-11-30T10:00:00`` there while PostGIS answers it with an offset; a
generated client parsing the documented ``date-time`` breaks on the first. The test writes a day with a row
behind every kind of timestamp (a revoked token, orders, an exception resolved, a completed pick task, a
waybill with a carrier event, a transfer, a carrier position), then GETs every operation of the published
document whose path parameters it can fill, and checks each string that starts like a time.
"""

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
    "aisles": 2,
    "aisle_spacing_m": 3.0,
    "aisle_length_m": 10.0,
    "blocks": 1,
    "slots_per_side": 5,
    "depot_x_m": 0.0,
}
W1, DROP = {"lat": 30.1870, "lng": 120.2640}, {"lat": 30.2500, "lng": 120.2000}
CART = {"cart": {"max_items": 50, "max_weight_kg": 100, "max_volume_m3": 1}}
LOOKS_LIKE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _iso(seconds_ago: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - seconds_ago))


def _ok(answer: Any, status: int = 200) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.fixture
def day(make_client: Callable[..., TestClient]) -> tuple[TestClient, dict[str, str]]:
    """The app after a working day; answers the client and an id for each path parameter name."""
    client = make_client()
    put_master_data(
        client,
        warehouses={
            "W1": {"name": "Main", "location": W1, "layout": LAYOUT},
            "W2": {"name": "Spare", "location": {"lat": 31.2, "lng": 121.4}, "layout": LAYOUT},
        },
        skus={"S1": {"name": "Tea", "unit_price": 10, "weight_kg": 0.5, "volume_m3": 0.001}},
        customers={"C1": {"name": "Store", "credit_limit": 100000, "location": DROP}},
        stock={("W1", "S1"): 100, ("W2", "S1"): 10},
    )
    _ok(client.put("/v1/warehouses/W1/slots/S1", json={"slot": "A01-L-002"}, headers=ADMIN))
    _ok(client.put("/v1/warehouses/W1/cart", json=CART["cart"], headers=ADMIN), 201)
    carrier = {"name": "Van", "vehicle_type": "van", "capacity_kg": 800, "capacity_m3": 6}
    _ok(client.put("/v1/carriers/K1", json=carrier, headers=ADMIN), 201)
    fix = {"lat": W1["lat"], "lng": W1["lng"], "ts": _iso(30)}
    _ok(client.post("/v1/carriers/positions", json={"positions": [fix]}, headers=make_token(client, "carrier", "K1")))
    token = _ok(client.post("/v1/tokens", json={"role": "dispatcher", "label": "desk"}, headers=ADMIN), 201)
    assert client.delete(f"/v1/tokens/{token['id']}", headers=ADMIN).status_code in (200, 204)

    line = {"sku": "S1", "qty": 2}
    order = _ok(client.post("/v1/orders", json={"customer_id": "C1", "lines": [line]}, headers=ADMIN), 201)
    held = {"customer_id": "C1", "lines": [{**line, "unit_price": 5}]}  # half the catalogue price: on hold
    on_hold = _ok(client.post("/v1/orders", json=held, headers=ADMIN), 201)
    (exception,) = on_hold["exceptions"]
    _ok(client.post(f"/v1/exceptions/{exception['id']}/approve", json={"note": "ok"}, headers=ADMIN))
    wave = _ok(client.post("/v1/warehouses/W1/waves", json=CART, headers=ADMIN))
    assert wave["tasks"], wave
    task = wave["tasks"][0]
    picks = [{"step": s["step"], "picked_qty": s["qty"]} for s in task["steps"]]
    _ok(client.post(f"/v1/pick-tasks/{task['id']}/confirm", json={"picks": picks}, headers=ADMIN))
    shipment_id = _ok(client.get(f"/v1/orders/{order['id']}", headers=ADMIN))["shipments"][0]["id"]
    waybill_no = _ok(client.post(f"/v1/shipments/{shipment_id}/assign", json={}, headers=ADMIN))["waybill_no"]
    event = {"event_id": "e1", "waybill_no": waybill_no, "type": "picked_up", "at": _iso(5)}
    _ok(client.post("/v1/carriers/K1/events", json=event, headers=ADMIN))
    transfer = {"from_warehouse_id": "W2", "to_warehouse_id": "W1", "lines": [{"sku": "S1", "qty": 1}]}
    transfer_id = _ok(client.post("/v1/transfers", json=transfer, headers=ADMIN), 201)["id"]
    _ok(client.post(f"/v1/transfers/{transfer_id}/ship", headers=ADMIN))
    ids = {
        "order_id": order["id"],
        "exception_id": exception["id"],
        "task_id": task["id"],
        "shipment_id": shipment_id,
        "waybill_no": waybill_no,
        "transfer_id": transfer_id,
        "carrier_id": "K1",
        "warehouse_id": "W1",
        "customer_id": "C1",
        "sku": "S1",
    }
    return client, ids


def _strings(content: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(content, dict):
        for k, v in content.items():
            yield from _strings(v, k)
    elif isinstance(content, list):
        for item in content:
            yield from _strings(item, key)
    elif isinstance(content, str):
        yield key, content


def test_every_timestamp_answered_carries_a_zone(day: tuple[TestClient, dict[str, str]]) -> None:
    client, ids = day
    spec = client.get("/openapi.json").json()
    walked: list[str] = []
    problems: list[str] = []
    keys: set[str] = set()
    for template, item in spec["paths"].items():
        names = re.findall(r"\{([a-z_]+)\}", template)
        if "get" not in item or any(name not in ids for name in names):
            continue
        path = template
        for name in names:
            path = path.replace("{" + name + "}", ids[name])
        answer = client.get(path, headers=ADMIN)
        if answer.status_code != 200 or not answer.headers["content-type"].startswith("application/json"):
            continue
        walked.append(template)
        for key, value in _strings(answer.json()):
            if LOOKS_LIKE_TIME.match(value):
                keys.add(key)
                if not RFC3339.match(value):
                    problems.append(f"GET {path}: {key}={value!r} is not RFC 3339 with a zone")
    assert problems == []
    # The walk reached the rows that carry each kind of time (a walk that read nothing would pass too).
    assert {"/v1/tokens", "/v1/orders/{order_id}", "/v1/exceptions", "/v1/pick-tasks/{task_id}"} <= set(walked)
    assert {"/v1/waybills/{waybill_no}", "/v1/transfers/{transfer_id}", "/v1/carriers/{carrier_id}"} <= set(walked)
    assert {"created_at", "revoked_at", "resolved_at", "confirmed_at", "completed_at", "at", "ts"} <= keys, keys
