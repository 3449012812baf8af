"""The whole order flow over HTTP on both backends, from intake to ``delivered`` (issue 11, item 9):
master data, stock and slots, a carrier with a position, an order allocated at intake, a pick wave and its
confirmation (``loaded``), the automatic carrier assignment once picked (batch sweep) with its e-waybill,
then the carrier's callbacks: picked_up, a position (ETA), delivered with proof.

The final order must list every main-line node once, in order, with non-decreasing times, each with its due
time and delay fields; its shipment names the carrier and the waybill. The customer asks for delivery within
a few seconds (``delivery.promised_by``), so every node before delivery is due by then and is on time, the
carrier's ETA forecasts a late delivery, and the delivery, reported after the promise, is late because of
the carrier: the delay fields are checked both ways.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from orders_core.orders.delays import DelayCode, describe

from .factories import ADMIN, make_token, put_master_data

MAIN_LINE = ["placed", "credit_review", "stock_locked", "allocated", "picking", "loaded", "in_transit", "delivered"]
LAYOUT = {
    "kind": "rectangular",
    "aisles": 4,
    "aisle_spacing_m": 3.0,
    "aisle_length_m": 20.0,
    "blocks": 1,
    "slots_per_side": 10,
    "depot_x_m": 0.0,
}
WAREHOUSE = {"lat": 31.2304, "lng": 121.4737}
DROP = {"lat": 31.2196, "lng": 121.4450, "address": "静安区南京西路 1 号"}
#: Seconds from placement to the promised delivery: ample room for the flow up to pickup on a busy machine.
#: The carrier then reports the delivery as happening just after the promise (an event's ``at`` may lie a
#: little ahead of the service's clock), so no test waits for the promise to pass.
PROMISE_IN_S = 60.0


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def checked(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def wait_for_carrier(client: TestClient, order_id: str, timeout_s: float = 20.0) -> dict[str, Any]:
    """The order once the assignment sweep (woken by ``loaded``) gave its shipment a carrier."""
    deadline = time.monotonic() + timeout_s
    while True:
        order: dict[str, Any] = checked(client.get(f"/v1/orders/{order_id}", headers=ADMIN))
        if order["shipments"][0].get("waybill_no") or time.monotonic() > deadline:
            return order
        time.sleep(0.05)


def run_order_flow(client: TestClient, promise_in_s: float | None = PROMISE_IN_S) -> dict[str, Any]:
    """Drive one order from intake to delivered over HTTP; answers the order as ``GET`` returns it last.

    With ``promise_in_s`` the customer asks for delivery that soon and the carrier delivers just after it;
    without, the order gets the configured lead time and is delivered at once (on time).
    """
    put_master_data(
        client,
        warehouses={"SH1": {"name": "Shanghai Jing'an DC", "location": WAREHOUSE, "layout": LAYOUT}},
        skus={
            "TEA-250": {"name": "Longjing tea 250 g", "unit_price": 88, "weight_kg": 0.3, "volume_m3": 0.001},
            "CUP-6": {"name": "Tea cups, set of 6", "unit_price": 120, "weight_kg": 1.2, "volume_m3": 0.004},
        },
        customers={"CUST-1": {"name": "Jing'an Tea House", "credit_limit": 10_000, "location": DROP}},
        stock={("SH1", "TEA-250"): 50, ("SH1", "CUP-6"): 20},
    )
    staff = make_token(client, "warehouse", "SH1")
    for sku, slot in (("TEA-250", "A01-L-003"), ("CUP-6", "A03-R-007")):
        checked(client.put(f"/v1/warehouses/SH1/slots/{sku}", json={"slot": slot}, headers=staff))
    carrier = {"name": "Swift Van 7", "vehicle_type": "van", "capacity_kg": 800, "capacity_m3": 6, "coverage": None}
    checked(client.put("/v1/carriers/VAN-7", json=carrier, headers=ADMIN), 201)
    van = make_token(client, "carrier", "VAN-7")
    near_dc = {"carrier_id": "VAN-7", "lat": 31.2310, "lng": 121.4745, "ts": datetime.now(UTC).isoformat()}
    assert checked(client.post("/v1/carriers/positions", json={"positions": [near_dc]}, headers=van))["accepted"] == 1

    customer = make_token(client, "customer", "CUST-1")
    promise = None if promise_in_s is None else datetime.now(UTC) + timedelta(seconds=promise_in_s)
    body = {
        "customer_id": "CUST-1",
        "lines": [{"sku": "TEA-250", "qty": 4, "unit_price": 88}, {"sku": "CUP-6", "qty": 1, "unit_price": 120}],
        "delivery": {**DROP, **({} if promise is None else {"promised_by": promise.isoformat()})},
    }
    placed = checked(client.post("/v1/orders", json=body, headers={**customer, "Idempotency-Key": "flow-1"}), 201)
    assert placed["status"] == "allocated"
    order_id = placed["id"]

    cart = {"cart": {"max_items": 20, "max_weight_kg": 50, "max_volume_m3": 1}}
    (task,) = checked(client.post("/v1/warehouses/SH1/waves", json=cart, headers=staff))["tasks"]
    picks = [{"step": step["step"], "picked_qty": step["qty"]} for step in task["steps"]]
    done = checked(client.post(f"/v1/pick-tasks/{task['id']}/confirm", json={"picks": picks}, headers=staff))
    assert done["status"] == "completed"

    assigned = wait_for_carrier(client, order_id)
    (shipment,) = assigned["shipments"]
    assert shipment["carrier_id"] == "VAN-7" and shipment["waybill_no"], assigned["shipments"]
    waybill_no = shipment["waybill_no"]
    waybill = checked(client.get(f"/v1/waybills/{waybill_no}", headers=van))
    assert waybill["order_id"] == order_id and waybill["status"] == "issued"

    def event(event_id: str, kind: str, at: datetime | None = None, **fields: Any) -> dict[str, Any]:
        when = (at or datetime.now(UTC)).isoformat()
        payload = {"event_id": event_id, "waybill_no": waybill_no, "type": kind, "at": when}
        answer: dict[str, Any] = checked(
            client.post("/v1/carriers/VAN-7/events", json={**payload, **fields}, headers=van)
        )
        return answer

    assert event("van7-0001", "picked_up", location=near_dc)["order_status"] == "in_transit"
    on_the_way = event("van7-0002", "position", location={"lat": 31.2250, "lng": 121.4600})
    assert on_the_way["eta_at"] is not None
    in_transit = checked(client.get(f"/v1/orders/{order_id}", headers=ADMIN))
    assert not any(node["late"] for node in in_transit["progress"]), in_transit["progress"]
    expected_delivery = in_transit["progress"][-1]
    assert parse(expected_delivery["expected_at"]) == parse(on_the_way["eta_at"])
    if promise is not None:
        # ~3 km from the drop-off: the ETA is minutes away, past the promise: a late delivery is forecast.
        assert expected_delivery["forecast_late"] and expected_delivery["delay_reason_code"] == "carrier_late"
    delivered_at = None if promise is None else promise + timedelta(seconds=5)  # just after the promise
    proof = {"signer": "王女士", "photo_ref": "pod/van7/0003.jpg"}
    delivered = event(
        "van7-0003", "delivered", at=delivered_at, location={"lat": DROP["lat"], "lng": DROP["lng"]}, proof=proof
    )
    assert delivered["order_status"] == "delivered" and delivered["flags"] == []
    final: dict[str, Any] = checked(client.get(f"/v1/orders/{order_id}", headers=customer))
    return final


def test_an_order_flows_from_intake_to_delivered_over_http(make_client: Callable[..., TestClient]) -> None:
    client = make_client(transport={"assign_at": "picked", "sweep_interval_s": 30, "retry_interval_s": 0})
    order = run_order_flow(client)
    assert order["status"] == "delivered"

    nodes = [entry for entry in order["timeline"] if entry["expected_at"] is not None]
    assert [entry["status"] for entry in nodes] == MAIN_LINE
    times = [parse(entry["at"]) for entry in order["timeline"]]
    assert times == sorted(times)
    assert [e["reason_code"] for e in nodes][-3:] == ["picked", "shipment_picked_up", "delivered"]
    assert any(e["reason_code"] == "carrier_assigned" for e in order["timeline"])
    assert "王女士" in nodes[-1]["reason"]

    # The plan: every node due in turn, delivery due at the promise; only the delivery came late, the carrier's.
    progress = {node["status"]: node for node in order["progress"]}
    assert [node["status"] for node in order["progress"]] == MAIN_LINE
    dues = [parse(node["due_at"]) for node in order["progress"]]
    assert dues == sorted(dues) and dues[-1] == parse(order["promised_by"])
    assert all(node["reached_at"] is not None and not node["forecast_late"] for node in order["progress"])
    late = {status for status, node in progress.items() if node["late"]}
    assert late == {"delivered"}
    assert progress["delivered"]["delay_reason_code"] == DelayCode.CARRIER_LATE.value
    assert progress["delivered"]["delay_reason"] == describe(DelayCode.CARRIER_LATE, "zh")  # the customer's language
    assert progress["delivered"]["late_by_s"] > 0
    assert all(node["delay_reason_code"] is None for status, node in progress.items() if status != "delivered")
    for entry in nodes:
        node = progress[entry["status"]]
        assert entry["expected_at"] == node["due_at"] and entry["late"] == node["late"]
        assert entry["delay_reason_code"] == node["delay_reason_code"]
        assert parse(entry["at"]) == parse(node["reached_at"])

    (shipment,) = order["shipments"]
    assert shipment["carrier_id"] == "VAN-7" and shipment["status"] == "delivered"
    waybill = checked(client.get(f"/v1/waybills/{shipment['waybill_no']}", headers=ADMIN))
    assert waybill["status"] == "delivered" and waybill["shipment_id"] == shipment["id"]
    level = checked(client.get("/v1/warehouses/SH1/stock/TEA-250", headers=ADMIN))
    assert (level["on_hand"], level["reserved"]) == (46, 0)


def test_an_order_delivered_within_its_lead_time_is_late_nowhere(make_client: Callable[..., TestClient]) -> None:
    client = make_client(transport={"assign_at": "picked", "sweep_interval_s": 30, "retry_interval_s": 0})
    order = run_order_flow(client, promise_in_s=None)
    assert order["status"] == "delivered"
    assert parse(order["promised_by"]) == parse(order["created_at"]) + timedelta(hours=24)
    assert [node["status"] for node in order["progress"]] == MAIN_LINE
    assert not any(node["late"] or node["forecast_late"] or node["delay_reason"] for node in order["progress"])
    dues = [parse(node["due_at"]) for node in order["progress"]]
    assert dues == sorted(dues) and len(set(dues)) == len(dues)
