"""Carrier callbacks over HTTP on both backends: pickup walks the order to in_transit, positions feed the
carrier index and the ETA, delivery with proof (and the distance flag), failed attempts (re-attempt and
return), duplicates, events out of order, impossible transitions, scoping to the carrier, and bad input
that writes nothing; an order of two shipments is delivered when both are."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .factories import ADMIN, make_token, put_master_data

W1 = {"lat": 31.2300, "lng": 121.4700}
W2 = {"lat": 31.2500, "lng": 121.4500}
DROP: dict[str, Any] = {"lat": 31.2200, "lng": 121.4800, "address": "No. 1 Nanjing Rd"}


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client(transport={"assign_at": "manual", "retry_interval_s": 0})
    put_master_data(
        test_client,
        warehouses={"W1": {"name": "East", "location": W1}, "W2": {"name": "West", "location": W2}},
        skus={
            "S1": {"name": "Tea", "unit_price": 10, "weight_kg": 1, "volume_m3": 0.01},
            "S2": {"name": "Cups", "unit_price": 10, "weight_kg": 1, "volume_m3": 0.01},
        },
        customers={"C1": {"name": "Shop", "credit_limit": 1_000_000}},
        stock={("W1", "S1"): 100, ("W2", "S2"): 100},
    )
    for carrier_id, where in (("K1", W1), ("K2", W2), ("K3", W1)):
        body = {"name": carrier_id, "vehicle_type": "van", "capacity_kg": 500, "capacity_m3": 5, "coverage": None}
        assert test_client.put(f"/v1/carriers/{carrier_id}", json=body, headers=ADMIN).status_code == 201
        fix = {"carrier_id": carrier_id, "lat": where["lat"], "lng": where["lng"], "ts": ago(30)}
        assert test_client.post("/v1/carriers/positions", json={"positions": [fix]}, headers=ADMIN).status_code == 200
    return test_client


def place(client: TestClient, *skus: str, **delivery: Any) -> dict[str, Any]:
    body = {
        "customer_id": "C1",
        "lines": [{"sku": sku, "qty": 2, "unit_price": 10} for sku in skus or ("S1",)],
        "delivery": {**DROP, **delivery},
    }
    answer = client.post("/v1/orders", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()
    assert order["status"] == "allocated", order
    return order


def assign(client: TestClient, shipment_id: str, carrier_id: str) -> str:
    answer = client.post(
        f"/v1/shipments/{shipment_id}/assign", json={"carrier_id": carrier_id, "reason": "test"}, headers=ADMIN
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["waybill_no"])


def one_shipment_order(client: TestClient, carrier_id: str = "K1", **delivery: Any) -> tuple[dict[str, Any], str]:
    order = place(client, "S1", **delivery)
    return order, assign(client, order["shipments"][0]["id"], carrier_id)


def report(client: TestClient, carrier_id: str, headers: dict[str, str] | None = None, **body: Any) -> Any:
    return client.post(f"/v1/carriers/{carrier_id}/events", json=body, headers=headers or ADMIN)


def ok(client: TestClient, carrier_id: str, headers: dict[str, str] | None = None, **body: Any) -> dict[str, Any]:
    answer = report(client, carrier_id, headers, **body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def order_of(client: TestClient, order_id: str) -> dict[str, Any]:
    answer: dict[str, Any] = client.get(f"/v1/orders/{order_id}", headers=ADMIN).json()
    return answer


def outbox(client: TestClient, aggregate_id: str) -> list[dict[str, Any]]:
    from orders_core.orders.repository import OrderRepository

    with client.app.state.container.uow() as uow:  # type: ignore[attr-defined]
        return OrderRepository(uow.session).outbox_events(aggregate_id)


def stock(client: TestClient, warehouse_id: str, sku: str) -> dict[str, int]:
    answer = client.get(f"/v1/warehouses/{warehouse_id}/stock/{sku}", headers=ADMIN).json()
    return {key: int(answer[key]) for key in ("on_hand", "reserved", "available")}


def test_pickup_by_the_carrier_walks_the_order_to_in_transit_and_the_goods_leave(client: TestClient) -> None:
    order, waybill_no = one_shipment_order(client)
    assert stock(client, "W1", "S1") == {"on_hand": 100, "reserved": 2, "available": 98}
    k1 = make_token(client, "carrier", "K1")
    result = ok(client, "K1", k1, event_id="e1", waybill_no=waybill_no, type="picked_up", at=ago(5))
    assert result["applied"] and not result["duplicate"]
    assert (result["shipment_status"], result["waybill_status"], result["order_status"]) == (
        "picked_up",
        "picked_up",
        "in_transit",
    )
    view = order_of(client, order["id"])
    steps = [(e["status"], e["reason_code"]) for e in view["timeline"]][-3:]
    assert steps == [
        ("picking", "picked_up_before_picking"),
        ("loaded", "loaded_by_pickup"),
        ("in_transit", "shipment_picked_up"),
    ]
    assert all(order["shipments"][0]["id"] in e["reason"] for e in view["timeline"][-3:])
    assert parse(view["timeline"][-1]["at"]) >= parse(view["timeline"][-4]["at"])
    assert view["shipments"][0]["status"] == "picked_up"
    assert stock(client, "W1", "S1") == {"on_hand": 98, "reserved": 0, "available": 98}
    events = outbox(client, waybill_no)
    assert [e["type"] for e in events] == ["waybill.created", "waybill.updated"]
    assert events[-1]["carrier_id"] == "K1" and events[-1]["data"]["status"] == "picked_up"
    assert client.get(f"/v1/waybills/{waybill_no}", headers=ADMIN).json()["status"] == "picked_up"


def test_a_duplicate_event_id_answers_the_same_and_changes_nothing(client: TestClient) -> None:
    order, waybill_no = one_shipment_order(client)
    body: dict[str, Any] = {"event_id": "dup-1", "waybill_no": waybill_no, "type": "picked_up", "at": ago(5)}
    first = ok(client, "K1", **body)
    before = (order_of(client, order["id"]), len(outbox(client, waybill_no)))
    again = ok(client, "K1", **body)
    assert again == {**first, "duplicate": True}
    assert (order_of(client, order["id"]), len(outbox(client, waybill_no))) == before
    # The same id from another carrier is another event (ids are the carrier's own).
    assert report(client, "K2", event_id="dup-1", waybill_no=waybill_no, type="picked_up", at=ago(4)).status_code == 404


def test_a_carrier_reports_only_on_its_own_waybills_under_its_own_id(client: TestClient) -> None:
    _order, waybill_no = one_shipment_order(client)
    k1, k2 = make_token(client, "carrier", "K1"), make_token(client, "carrier", "K2")
    body = {"event_id": "x", "waybill_no": waybill_no, "type": "picked_up", "at": ago(5)}
    foreign = report(client, "K2", k2, **body)
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "waybill_not_found"
    assert report(client, "K1", k2, **body).status_code == 403  # K2's token speaking for K1
    assert report(client, "K1", make_token(client, "customer", "C1"), **body).status_code == 403
    unknown = report(client, "K1", k1, **{**body, "waybill_no": "NOPE123"})
    assert unknown.status_code == 404
    assert ok(client, "K1", k1, **body)["shipment_status"] == "picked_up"


def test_positions_feed_the_carrier_index_and_the_eta_the_order_expects(client: TestClient) -> None:
    order, waybill_no = one_shipment_order(client)
    # Before pickup: the drive goes through the warehouse.
    here = {"lat": 31.2400, "lng": 121.4700}
    before = ok(client, "K1", event_id="p1", waybill_no=waybill_no, type="position", at=ago(1), location=here)
    assert before["eta_at"] is not None and before["shipment_status"] == "assigned"
    position = client.get("/v1/carriers/K1", headers=ADMIN).json()["position"]
    assert (position["lat"], position["lng"]) == (here["lat"], here["lng"])
    ok(client, "K1", event_id="pu", waybill_no=waybill_no, type="picked_up", at=ago(0.5))
    near = {"lat": 31.2210, "lng": 121.4790}
    after = ok(client, "K1", event_id="p2", waybill_no=waybill_no, type="position", at=ago(0.2), location=near)
    # ~140 m straight x 1.3 detour at 30 km/h: about 22 s after the fix.
    eta = parse(after["eta_at"])
    fixed = datetime.now(UTC) - timedelta(minutes=0.2)
    assert timedelta(seconds=10) < eta - fixed < timedelta(seconds=40)
    view = order_of(client, order["id"])
    delivered = view["progress"][-1]
    assert delivered["status"] == "delivered" and parse(delivered["expected_at"]) == eta
    # An older fix does not move the ETA back.
    stale = ok(client, "K1", event_id="p0", waybill_no=waybill_no, type="position", at=ago(3), location=here)
    assert not stale["applied"] and stale["eta_at"] == after["eta_at"]


def test_an_eta_past_the_promise_forecasts_a_late_delivery_by_the_carrier(client: TestClient) -> None:
    promise = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    order, waybill_no = one_shipment_order(client, promised_by=promise)
    ok(client, "K1", event_id="pu", waybill_no=waybill_no, type="picked_up", at=ago(1))
    far = {"lat": 31.3500, "lng": 121.4800}  # ~14 km away: ~37 min at 30 km/h with detour
    ok(client, "K1", event_id="p", waybill_no=waybill_no, type="position", at=ago(0.1), location=far)
    delivered = order_of(client, order["id"])["progress"][-1]
    assert delivered["forecast_late"] and not delivered["late"]
    assert delivered["delay_reason_code"] == "carrier_late"


def test_delivery_with_proof_delivers_the_order(client: TestClient) -> None:
    order, waybill_no = one_shipment_order(client)
    ok(client, "K1", event_id="pu", waybill_no=waybill_no, type="picked_up", at=ago(20))
    proof = {"signer": "Li Lei", "photo_ref": "photos/abc.jpg"}
    at_door = {"lat": DROP["lat"] + 0.0005, "lng": DROP["lng"]}  # ~55 m
    result = ok(
        client, "K1", event_id="dl", waybill_no=waybill_no, type="delivered", at=ago(1), location=at_door, proof=proof
    )
    assert (result["shipment_status"], result["order_status"], result["flags"]) == ("delivered", "delivered", [])
    view = order_of(client, order["id"])
    assert view["status"] == "delivered" and view["timeline"][-1]["reason_code"] == "delivered"
    assert "Li Lei" in view["timeline"][-1]["reason"] and view["exceptions"] == []
    assert all(node["reached_at"] for node in view["progress"])
    assert outbox(client, waybill_no)[-1]["data"]["status"] == "delivered"


def test_a_delivery_far_from_the_drop_off_is_flagged_on_the_order(client: TestClient) -> None:
    order, waybill_no = one_shipment_order(client)
    elsewhere = {"lat": DROP["lat"] + 0.01, "lng": DROP["lng"]}  # ~1.1 km
    result = ok(
        client,
        "K1",
        event_id="dl",
        waybill_no=waybill_no,
        type="delivered",
        at=ago(1),
        location=elsewhere,
        proof={"signer": "X"},
    )
    assert result["flags"] == ["delivered_far_from_dropoff"] and result["order_status"] == "delivered"
    (flag,) = order_of(client, order["id"])["exceptions"]
    assert flag["kind"] == "delivered_far_from_dropoff" and flag["status"] == "open"
    assert 1000 < flag["details"]["distance_m"] < 1250 and flag["details"]["tolerance_m"] == 500


def test_delivered_before_picked_up_implies_the_pickup_and_the_late_pickup_only_corrects_its_time(
    client: TestClient,
) -> None:
    order, waybill_no = one_shipment_order(client)
    delivered = ok(client, "K1", event_id="dl", waybill_no=waybill_no, type="delivered", at=ago(2))
    assert delivered["order_status"] == "delivered"
    late_pickup = ok(client, "K1", event_id="pu", waybill_no=waybill_no, type="picked_up", at=ago(30))
    assert not late_pickup["applied"] and "superseded" in late_pickup["note"]
    view = order_of(client, order["id"])
    assert [e["status"] for e in view["timeline"]][-4:] == ["picking", "loaded", "in_transit", "delivered"]
    assert "implied" in view["timeline"][-2]["reason"]
    # A pickup dated after the delivery is impossible.
    after = report(client, "K1", event_id="pu2", waybill_no=waybill_no, type="picked_up", at=ago(1))
    assert after.status_code == 409 and after.json()["error"]["code"] == "impossible_carrier_event"
    assert "delivered" in after.json()["error"]["message"]


def test_impossible_transitions_are_409_with_the_reason(client: TestClient) -> None:
    _order, waybill_no = one_shipment_order(client)
    ok(client, "K1", event_id="pu", waybill_no=waybill_no, type="picked_up", at=ago(10))
    twice = report(client, "K1", event_id="pu-again", waybill_no=waybill_no, type="picked_up", at=ago(9))
    assert twice.status_code == 409 and "picked_up" in twice.json()["error"]["message"]
    ok(client, "K1", event_id="dl", waybill_no=waybill_no, type="delivered", at=ago(5))
    again = report(client, "K1", event_id="dl2", waybill_no=waybill_no, type="failed", at=ago(4), reason="absent")
    assert again.status_code == 409 and "already delivered" in again.json()["error"]["message"]
    # A re-assigned shipment's old waybill is cancelled: nothing can happen on it.
    other = place(client, "S1")
    old_no = assign(client, other["shipments"][0]["id"], "K1")
    assign(client, other["shipments"][0]["id"], "K3")
    cancelled = report(client, "K1", event_id="c1", waybill_no=old_no, type="position", at=ago(1), location=W1)
    assert cancelled.status_code == 409 and "cancelled" in cancelled.json()["error"]["message"]
    assert order_of(client, other["id"])["status"] == "allocated"


def test_a_failed_attempt_is_re_attempted_then_delivered(client: TestClient) -> None:
    order, waybill_no = one_shipment_order(client)
    ok(client, "K1", event_id="pu", waybill_no=waybill_no, type="picked_up", at=ago(60))
    failed = ok(client, "K1", event_id="f1", waybill_no=waybill_no, type="failed", at=ago(30), reason="not_home")
    assert (failed["shipment_status"], failed["failed_attempts"], failed["order_status"]) == (
        "failed",
        1,
        "in_transit",
    )
    note = order_of(client, order["id"])["timeline"][-1]
    assert note["reason_code"] == "delivery_failed" and "not_home" in note["reason"] and "try again" in note["reason"]
    assert outbox(client, waybill_no)[-1]["data"]["status"] == "failed"
    done = ok(client, "K1", event_id="dl", waybill_no=waybill_no, type="delivered", at=ago(5))
    assert done["order_status"] == "delivered"


def test_a_return_puts_the_goods_back_and_opens_an_exception(client: TestClient) -> None:
    order, waybill_no = one_shipment_order(client)
    ok(client, "K1", event_id="pu", waybill_no=waybill_no, type="picked_up", at=ago(60))
    assert stock(client, "W1", "S1")["on_hand"] == 98
    returned = ok(
        client,
        "K1",
        event_id="f1",
        waybill_no=waybill_no,
        type="failed",
        at=ago(30),
        reason="refused",
        strategy="return",
    )
    assert returned["shipment_status"] == "failed" and returned["order_status"] == "in_transit"
    assert stock(client, "W1", "S1") == {"on_hand": 100, "reserved": 0, "available": 100}
    (exception,) = order_of(client, order["id"])["exceptions"]
    assert exception["kind"] == "shipment_returned" and exception["details"]["reason"] == "refused"
    later = report(client, "K1", event_id="dl", waybill_no=waybill_no, type="delivered", at=ago(5))
    assert later.status_code == 409 and "returned" in later.json()["error"]["message"]


def test_the_last_allowed_attempt_failing_returns_the_goods(make_client: Callable[..., TestClient]) -> None:
    client = make_client(
        transport={"assign_at": "manual", "retry_interval_s": 0}, carrier_events={"max_delivery_attempts": 2}
    )
    put_master_data(
        client,
        warehouses={"W1": {"name": "East", "location": W1}},
        skus={"S1": {"name": "Tea", "unit_price": 10, "weight_kg": 1, "volume_m3": 0.01}},
        customers={"C1": {"name": "Shop", "credit_limit": 1000}},
        stock={("W1", "S1"): 10},
    )
    body = {"name": "K1", "vehicle_type": "van", "capacity_kg": 500, "capacity_m3": 5, "coverage": None}
    client.put("/v1/carriers/K1", json=body, headers=ADMIN)
    _order, waybill_no = one_shipment_order(client)
    first = ok(client, "K1", event_id="f1", waybill_no=waybill_no, type="failed", at=ago(30), reason="absent")
    assert first["failed_attempts"] == 1 and first["note"] is None
    second = ok(client, "K1", event_id="f2", waybill_no=waybill_no, type="failed", at=ago(20), reason="absent")
    assert second["failed_attempts"] == 2 and "returned" in second["note"]
    assert stock(client, "W1", "S1")["on_hand"] == 10


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "teleported"}, "type"),
        ({"at": "2025-01-01T10:00:00"}, "at"),
        ({"at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()}, "at"),
        ({"type": "position"}, "location"),
        ({"location": {"lat": 91, "lng": 0}}, "lat"),
        ({"type": "failed"}, "reason"),
        ({"strategy": "return"}, "strategy"),
        ({"event_id": ""}, "event_id"),
        ({"proof": "signed"}, "proof"),
        ({"proof": {"signer": "A" * 201}}, "signer"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, change: dict[str, Any], field: str
) -> None:
    order, waybill_no = one_shipment_order(client)
    before = (order_of(client, order["id"]), len(outbox(client, waybill_no)))
    body = {"event_id": "e1", "waybill_no": waybill_no, "type": "picked_up", "at": ago(1), **change}
    answer = report(client, "K1", **body)
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["error"]["message"]
    assert (order_of(client, order["id"]), len(outbox(client, waybill_no))) == before
    # Nothing was recorded under the id: the corrected event applies.
    fixed = ok(client, "K1", event_id=body["event_id"] or "e1", waybill_no=waybill_no, type="picked_up", at=ago(1))
    assert fixed["applied"] and not fixed["duplicate"]


def test_an_order_of_two_shipments_is_delivered_when_both_are(client: TestClient) -> None:
    order = place(client, "S1", "S2")
    by_warehouse = {s["warehouse_id"]: s["id"] for s in order["shipments"]}
    first, second = assign(client, by_warehouse["W1"], "K1"), assign(client, by_warehouse["W2"], "K2")
    assert (
        ok(client, "K1", event_id="a", waybill_no=first, type="picked_up", at=ago(50))["order_status"] == "in_transit"
    )
    assert (
        ok(client, "K2", event_id="b", waybill_no=second, type="picked_up", at=ago(40))["order_status"] == "in_transit"
    )
    part = ok(client, "K1", event_id="c", waybill_no=first, type="delivered", at=ago(20))
    assert part["shipment_status"] == "delivered" and part["order_status"] == "in_transit"
    whole = ok(client, "K2", event_id="d", waybill_no=second, type="delivered", at=ago(10))
    assert whole["order_status"] == "delivered"
    timeline = order_of(client, order["id"])["timeline"]
    steps = [(e["status"], e["reason_code"]) for e in timeline][-4:]
    assert steps == [
        ("in_transit", "shipment_picked_up"),
        ("in_transit", "shipment_picked_up"),
        ("in_transit", "shipment_delivered"),
        ("delivered", "delivered"),
    ]
    assert by_warehouse["W1"] in timeline[-4]["reason"] and by_warehouse["W2"] in timeline[-3]["reason"]
    assert by_warehouse["W1"] in timeline[-2]["reason"] and by_warehouse["W2"] in timeline[-2]["reason"]
    assert by_warehouse["W2"] in timeline[-1]["reason"]


def test_concurrent_copies_of_one_event_apply_it_once(client: TestClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from orders_core.transport.carrier_events import report_carrier_event
    from orders_core.transport.tracking import CarrierEvent, CarrierEventType

    order, waybill_no = one_shipment_order(client)
    container = client.app.state.container  # type: ignore[attr-defined]
    event = CarrierEvent(
        event_id="race-1", waybill_no=waybill_no, type=CarrierEventType.PICKED_UP, at=datetime.now(UTC)
    )

    def send(_: int) -> bool:
        result = report_carrier_event(container.uow, container.stock, container.carriers, "K1", event, actor="t")
        assert result.shipment_status == "picked_up" and result.order_status == "in_transit"
        return result.duplicate

    with ThreadPoolExecutor(max_workers=6) as pool:
        duplicates = list(pool.map(send, range(6)))
    assert sorted(duplicates) == [False] + [True] * 5
    assert [e["type"] for e in outbox(client, waybill_no)] == ["waybill.created", "waybill.updated"]
    assert [e["status"] for e in order_of(client, order["id"])["timeline"]].count("in_transit") == 1
