"""Issue 12, amending an order before picking over HTTP on both backends: lines and delivery go through
intake's checks (price, credit, stock) all or nothing; only the stock difference is reserved or released;
a held order's exception is superseded; a carrier's waybill is cancelled when the load or drop-off changes;
replays with the same Idempotency-Key change nothing; 409 once picking; bad input changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN, make_token, put_master_data

LAYOUT = {
    "kind": "rectangular",
    "aisles": 4,
    "aisle_spacing_m": 3.0,
    "aisle_length_m": 20.0,
    "blocks": 1,
    "slots_per_side": 10,
    "depot_x_m": 0.0,
}


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client(transport={"assign_at": "manual", "retry_interval_s": 0})
    put_master_data(
        test_client,
        warehouses={
            "W1": {"name": "Main", "location": {"lat": 52.52, "lng": 13.405}, "layout": LAYOUT},
            "W2": {"name": "North", "location": {"lat": 53.55, "lng": 10.0}},
        },
        skus={
            "S1": {"name": "Bolt", "unit_price": 10, "weight_kg": 1, "volume_m3": 0.01},
            "S2": {"name": "Nut", "unit_price": 2, "weight_kg": 0.1, "volume_m3": 0.001},
        },
        customers={"C1": {"name": "C1", "credit_limit": 1000}, "C2": {"name": "C2", "credit_limit": 1000}},
        stock={("W1", "S1"): 10, ("W1", "S2"): 100, ("W2", "S1"): 5},
    )
    return test_client


def place(client: TestClient, qty: int, sku: str = "S1", price: float = 10) -> dict[str, Any]:
    body = {
        "customer_id": "C1",
        "lines": [{"sku": sku, "qty": qty, "unit_price": price}],
        "delivery": {"lat": 52.50, "lng": 13.42, "address": "Hauptstr. 1"},
    }
    answer = client.post("/v1/orders", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()
    return order


def amend(client: TestClient, order_id: str, body: dict[str, Any], key: str | None = None, headers: Any = None) -> Any:
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(f"/v1/orders/{order_id}/amend", json=body, headers={**(headers or ADMIN), **extra})


def level(client: TestClient, warehouse: str = "W1", sku: str = "S1") -> dict[str, int]:
    answer = client.get(f"/v1/warehouses/{warehouse}/stock/{sku}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return {k: int(answer.json()[k]) for k in ("on_hand", "reserved", "available")}


def order_of(client: TestClient, order_id: str) -> dict[str, Any]:
    answer = client.get(f"/v1/orders/{order_id}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_amending_lines_reserves_only_the_difference_and_releases_the_rest(client: TestClient) -> None:
    order = place(client, 5)
    assert order["status"] == "allocated" and level(client)["reserved"] == 5
    more = amend(client, order["id"], {"lines": [{"sku": "S1", "qty": 8}], "reason": "customer called"}, key="k1")
    assert more.status_code == 200, more.text
    body = more.json()
    assert body["status"] == "allocated"
    assert body["lines"] == [{"sku": "S1", "qty": 8, "unit_price": 10}]  # no unit_price: the catalogue's
    assert body["total"] == 80
    [shipment] = [s for s in body["shipments"] if s["status"] != "cancelled"]
    assert shipment["id"] == order["shipments"][0]["id"] and shipment["lines"] == [{"sku": "S1", "qty": 8}]
    assert level(client) == {"on_hand": 10, "reserved": 8, "available": 2}
    (entry,) = [e for e in body["timeline"] if e["reason_code"] == "order_amended"]
    assert "S1 x8" in entry["reason"] and "50" in entry["reason"] and "customer called" in entry["reason"]

    # The same key and body again: the same order, nothing amended twice.
    replay = amend(client, order["id"], {"lines": [{"sku": "S1", "qty": 8}], "reason": "customer called"}, key="k1")
    assert replay.status_code == 200 and replay.json()["timeline"] == body["timeline"]
    assert level(client)["reserved"] == 8
    reused = amend(client, order["id"], {"lines": [{"sku": "S1", "qty": 2}]}, key="k1")
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "idempotency_key_reused"

    fewer = amend(client, order["id"], {"lines": [{"sku": "S1", "qty": 3}, {"sku": "S2", "qty": 4}]}, key="k2")
    assert fewer.status_code == 200, fewer.text
    assert fewer.json()["total"] == 38
    assert level(client) == {"on_hand": 10, "reserved": 3, "available": 7}
    assert level(client, sku="S2")["reserved"] == 4
    # Cancelling afterwards gives back exactly what the order still holds.
    assert client.post(f"/v1/orders/{order['id']}/cancel", headers=ADMIN).status_code == 200
    assert level(client)["reserved"] == 0 and level(client, sku="S2")["reserved"] == 0


def test_refused_amendments_change_nothing(client: TestClient) -> None:
    order = place(client, 5)
    before = order_of(client, order["id"])

    def unchanged() -> None:
        now = order_of(client, order["id"])
        assert (now["lines"], now["total"], now["timeline"], now["shipments"]) == (
            before["lines"],
            before["total"],
            before["timeline"],
            before["shipments"],
        )
        assert level(client) == {"on_hand": 10, "reserved": 5, "available": 5}

    short = amend(client, order["id"], {"lines": [{"sku": "S1", "qty": 16}]})  # 10 + 5 in stock, 15 in total
    assert short.status_code == 409, short.text
    assert short.json()["error"]["code"] == "amendment_stock_shortage"
    assert "S1 x1" in short.json()["error"]["message"]
    unchanged()
    cheap = amend(client, order["id"], {"lines": [{"sku": "S1", "qty": 5, "unit_price": 5}]})
    assert cheap.status_code == 409 and cheap.json()["error"]["code"] == "amendment_price_conflict"
    assert cheap.json()["error"]["details"]["lines"][0]["catalogue_unit_price"] == 10  # a JSON number
    unchanged()
    client.put("/v1/customers/C1", json={"name": "C1", "credit_limit": 60}, headers=ADMIN)
    costly = amend(client, order["id"], {"lines": [{"sku": "S1", "qty": 7}]})  # 70 > 60
    assert costly.status_code == 409 and costly.json()["error"]["code"] == "amendment_credit_refused"
    assert "60" in costly.json()["error"]["message"]
    unchanged()
    unknown = amend(client, order["id"], {"lines": [{"sku": "NOPE1", "qty": 1}, {"sku": "NOPE2", "qty": 1}]})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_sku"
    assert "NOPE1" in unknown.json()["error"]["message"] and "NOPE2" in unknown.json()["error"]["message"]
    bad: dict[str, Any]
    for bad in (
        {},
        {"lines": []},
        {"lines": [{"sku": "S1", "qty": 0}]},
        {"delivery": {"lat": 91, "lng": 0}},
        {"lines": [{"sku": "S1", "qty": 1}], "promised_by": "2030-01-01T00:00:00Z"},
    ):
        answer = amend(client, order["id"], bad)
        assert answer.status_code == 422, (bad, answer.text)
    assert amend(client, "ord_missing", {"lines": [{"sku": "S1", "qty": 1}]}).status_code == 404
    other = make_token(client, "customer", "C2")
    assert amend(client, order["id"], {"lines": [{"sku": "S1", "qty": 1}]}, headers=other).status_code == 404
    assert (
        amend(
            client, order["id"], {"lines": [{"sku": "S1", "qty": 1}]}, headers=make_token(client, "warehouse")
        ).status_code
        == 403
    )
    unchanged()


def test_amending_a_held_order_supersedes_its_exception_and_allocates(client: TestClient) -> None:
    order = place(client, 20)  # 15 in stock over both warehouses
    assert order["status"] == "on_hold"
    (exception,) = order["exceptions"]
    assert exception["kind"] == "stock_shortage"
    answer = amend(client, order["id"], {"lines": [{"sku": "S1", "qty": 10}]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "allocated" and body["total"] == 100
    assert body["exceptions"][0]["status"] == "closed" and "superseded" in body["exceptions"][0]["note"]
    assert level(client)["reserved"] == 10
    codes = [e["reason_code"] for e in body["timeline"]]
    assert codes[-4:] == ["order_amended", "order_amended", "stock_reserved", "allocated"]

    priced = place(client, 1, sku="S2", price=1)  # catalogue 2: a price conflict
    assert priced["status"] == "on_hold"
    fixed = amend(client, priced["id"], {"lines": [{"sku": "S2", "qty": 1}]})
    assert fixed.status_code == 200 and fixed.json()["status"] == "allocated" and fixed.json()["total"] == 2


def test_moving_the_drop_off_cancels_the_carriers_waybill_and_reassigns(client: TestClient) -> None:
    carrier = {"name": "Van", "vehicle_type": "van", "capacity_kg": 500, "capacity_m3": 5, "coverage": None}
    assert client.put("/v1/carriers/V1", json=carrier, headers=ADMIN).status_code in (200, 201)
    order = place(client, 2)
    shipment_id = order["shipments"][0]["id"]
    assigned = client.post(
        f"/v1/shipments/{shipment_id}/assign", json={"carrier_id": "V1", "reason": "regular"}, headers=ADMIN
    )
    assert assigned.status_code == 200, assigned.text
    waybill_no = assigned.json()["waybill_no"]
    answer = amend(client, order["id"], {"delivery": {"lat": 52.51, "lng": 13.43, "address": "Nebenstr. 2"}})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["delivery"]["address"] == "Nebenstr. 2" and body["delivery"]["lat"] == 52.51
    [shipment] = body["shipments"]
    assert shipment["id"] == shipment_id and shipment["status"] == "ready"
    assert shipment["carrier_id"] is None and shipment["waybill_no"] is None
    waybill = client.get(f"/v1/waybills/{waybill_no}", headers=ADMIN).json()
    assert waybill["status"] == "cancelled"
    (entry,) = [e for e in body["timeline"] if e["reason_code"] == "order_amended"]
    assert waybill_no in entry["reason"]
    again = client.post(f"/v1/shipments/{shipment_id}/assign", json={"carrier_id": "V1", "reason": "r"}, headers=ADMIN)
    assert again.status_code == 200, again.text
    new_waybill = client.get(f"/v1/waybills/{again.json()['waybill_no']}", headers=ADMIN).json()
    assert new_waybill["status"] == "issued" and new_waybill["waybill_no"] != waybill_no


def test_amendment_is_refused_once_picking_started(client: TestClient) -> None:
    order = place(client, 2)
    staff = make_token(client, "warehouse", "W1")
    assert client.put("/v1/warehouses/W1/slots/S1", json={"slot": "A02-L-004"}, headers=staff).status_code == 200
    wave = client.post(
        "/v1/warehouses/W1/waves",
        json={"cart": {"max_items": 50, "max_weight_kg": 100, "max_volume_m3": 1}},
        headers=staff,
    )
    assert wave.status_code == 200, wave.text
    assert order_of(client, order["id"])["status"] == "picking"
    answer = amend(client, order["id"], {"lines": [{"sku": "S1", "qty": 3}]})
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "order_not_amendable"
    assert "picking" in answer.json()["error"]["message"]
    assert level(client)["reserved"] == 2 and order_of(client, order["id"])["lines"][0]["qty"] == 2
    cancelled = place(client, 1)
    client.post(f"/v1/orders/{cancelled['id']}/cancel", headers=ADMIN)
    assert amend(client, cancelled["id"], {"lines": [{"sku": "S1", "qty": 3}]}).status_code == 409


def test_customer_amends_its_own_order(client: TestClient) -> None:
    order = place(client, 2)
    own = make_token(client, "customer", "C1")
    answer = amend(client, order["id"], {"lines": [{"sku": "S1", "qty": 1}]}, headers=own)
    assert answer.status_code == 200, answer.text
    assert answer.json()["total"] == 10 and level(client)["reserved"] == 1
