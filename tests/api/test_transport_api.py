"""Carrier assignment and e-waybills over HTTP on both backends: best-carrier and manual assignment,
re-assignment, no carrier in range and its retry, automatic batch assignment, waybill reads scoped to
the carrier, master/child waybills, the label PDF, and 4xx answers that change nothing."""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from orders_core.transport.waybill_numbers import is_valid

from .factories import ADMIN, make_token, put_master_data

W1 = {"lat": 52.52, "lng": 13.405}
DROP_LAT, DROP_LNG = 52.50, 13.42
DROP: dict[str, Any] = {"lat": DROP_LAT, "lng": DROP_LNG, "address": "Hauptstr. 1"}


def _now() -> str:
    return datetime.now(UTC).isoformat()


def put_carrier(client: TestClient, carrier_id: str, **fields: Any) -> None:
    body = {"name": carrier_id, "vehicle_type": "van", "capacity_kg": 500, "capacity_m3": 5, "coverage": None, **fields}
    answer = client.put(f"/v1/carriers/{carrier_id}", json=body, headers=ADMIN)
    assert answer.status_code in (200, 201), answer.text


def move_carrier(client: TestClient, carrier_id: str, lat: float, lng: float) -> None:
    body = {"positions": [{"carrier_id": carrier_id, "lat": lat, "lng": lng, "ts": _now()}]}
    answer = client.post("/v1/carriers/positions", json=body, headers=ADMIN)
    assert answer.status_code == 200, answer.text


def place_order(client: TestClient, qty: int = 2, sku: str = "S1", **delivery: Any) -> dict[str, Any]:
    body = {
        "customer_id": "C1",
        "lines": [{"sku": sku, "qty": qty, "unit_price": 10}],
        "delivery": {**DROP, **delivery},
    }
    answer = client.post("/v1/orders", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    order = answer.json()
    assert order["status"] == "allocated", order
    return order


def outbox(client: TestClient, aggregate_id: str) -> list[dict[str, Any]]:
    from orders_core.orders.repository import OrderRepository

    with client.app.state.container.uow() as uow:  # type: ignore[attr-defined]
        return OrderRepository(uow.session).outbox_events(aggregate_id)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """Manual assignment only (no background sweep): each test decides when assignment runs."""
    test_client = make_client(transport={"assign_at": "manual", "retry_interval_s": 0})
    put_master_data(
        test_client,
        warehouses={"W1": {"name": "Main depot", "location": W1}},
        skus={
            "S1": {"name": "Small box", "unit_price": 10, "weight_kg": 2, "volume_m3": 0.01},
            "HEAVY": {"name": "Anvil", "unit_price": 10, "weight_kg": 40, "volume_m3": 0.05},
        },
        customers={"C1": {"name": "Ada Shop", "credit_limit": 1_000_000, "phone": "13812345678"}},
        stock={("W1", "S1"): 1000, ("W1", "HEAVY"): 100},
    )
    return test_client


def test_order_view_lists_shipment_ids_and_transport_state(client: TestClient) -> None:
    order = place_order(client)
    [shipment] = order["shipments"]
    assert shipment["id"].startswith("shp_")
    assert shipment["warehouse_id"] == "W1"
    assert shipment["status"] == "ready"
    assert shipment.get("carrier_id") is None and shipment.get("waybill_no") is None


def test_best_carrier_gets_the_shipment_and_a_waybill(client: TestClient) -> None:
    put_carrier(client, "near")
    put_carrier(client, "far")
    move_carrier(client, "near", 52.521, 13.405)  # ~110 m
    move_carrier(client, "far", 52.535, 13.405)  # ~1.7 km
    order = place_order(client, qty=3)
    shipment_id = order["shipments"][0]["id"]
    answer = client.post(f"/v1/shipments/{shipment_id}/assign", json={}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["shipment_id"] == shipment_id and body["carrier_id"] == "near"
    assert is_valid(body["waybill_no"])
    view = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    [shipment] = view["shipments"]
    assert shipment["carrier_id"] == "near" and shipment["waybill_no"] == body["waybill_no"]
    assert shipment["status"] == "assigned"
    assert shipment["weight_kg"] == pytest.approx(6.0)
    assert view["timeline"][-1]["reason_code"] == "carrier_assigned"
    waybill = client.get(f"/v1/waybills/{body['waybill_no']}", headers=ADMIN).json()
    assert waybill["waybill_no"] == body["waybill_no"]
    assert waybill["shipment_id"] == shipment_id and waybill["order_id"] == order["id"]
    assert waybill["carrier_id"] == "near" and waybill["status"] == "issued"
    assert waybill["sender"]["name"] == "Main depot" and waybill["sender"]["location"] == W1
    assert waybill["receiver"]["name"] == "Ada Shop" and waybill["receiver"]["phone"] == "138****5678"
    assert waybill["receiver"]["address"] == DROP["address"]
    assert waybill["items"][0]["sku"] == "S1" and waybill["items"][0]["qty"] == 3
    assert waybill["weight_kg"] == pytest.approx(6.0) and waybill["volume_m3"] == pytest.approx(0.03)
    assert waybill["pieces"] == 1 and waybill["kind"] == "single"
    assert waybill["cash_on_delivery"] is None
    assert waybill["route_id"] is None and waybill["loading_position"] is None
    [event] = outbox(client, body["waybill_no"])
    assert event["topic"] == "carrier.webhook" and event["type"] == "waybill.created"
    assert event["carrier_id"] == "near" and event["data"] == waybill


def test_manual_assignment_needs_a_reason_and_goes_on_the_timeline(client: TestClient) -> None:
    put_carrier(client, "far-away")
    move_carrier(client, "far-away", 53.5, 10.0)  # Hamburg: out of every radius
    order = place_order(client)
    shipment_id = order["shipments"][0]["id"]
    url = f"/v1/shipments/{shipment_id}/assign"
    no_reason = client.post(url, json={"carrier_id": "far-away"}, headers=ADMIN)
    assert no_reason.status_code == 422 and no_reason.json()["error"]["code"] == "reason_required"
    blank = client.post(url, json={"carrier_id": "far-away", "reason": "  "}, headers=ADMIN)
    assert blank.status_code == 422
    ok = client.post(url, json={"carrier_id": "far-away", "reason": "driver is coming back anyway"}, headers=ADMIN)
    assert ok.status_code == 200, ok.text
    assert ok.json()["carrier_id"] == "far-away"
    view = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    note = view["timeline"][-1]
    assert note["reason_code"] == "carrier_assigned_manually"
    assert "driver is coming back anyway" in note["reason"] and note["actor"] == "admin:admin"


def test_reassignment_cancels_the_old_waybill_and_tells_the_old_carrier(client: TestClient) -> None:
    put_carrier(client, "first")
    put_carrier(client, "second")
    move_carrier(client, "first", 52.521, 13.405)
    move_carrier(client, "second", 52.525, 13.405)
    order = place_order(client)
    url = f"/v1/shipments/{order['shipments'][0]['id']}/assign"
    first = client.post(url, json={}, headers=ADMIN).json()
    assert first["carrier_id"] == "first"
    second = client.post(url, json={"carrier_id": "second", "reason": "first one broke down"}, headers=ADMIN)
    assert second.status_code == 200, second.text
    assert second.json()["waybill_no"] != first["waybill_no"]
    old = client.get(f"/v1/waybills/{first['waybill_no']}", headers=ADMIN).json()
    assert old["status"] == "cancelled" and old["cancelled_at"] is not None
    old_events = outbox(client, first["waybill_no"])
    assert [(e["type"], e["carrier_id"]) for e in old_events] == [
        ("waybill.created", "first"),
        ("waybill.cancelled", "first"),
    ]
    assert old_events[-1]["data"]["status"] == "cancelled"
    new_events = outbox(client, second.json()["waybill_no"])
    assert [(e["type"], e["carrier_id"]) for e in new_events] == [("waybill.created", "second")]
    # Re-assigning without a carrier picks the best one other than the current holder.
    third = client.post(url, json={}, headers=ADMIN)
    assert third.status_code == 200 and third.json()["carrier_id"] == "first"
    view = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    assert view["timeline"][-1]["reason_code"] == "carrier_reassigned"


def test_waybill_is_visible_to_its_carrier_only(client: TestClient) -> None:
    put_carrier(client, "mine")
    put_carrier(client, "other")
    move_carrier(client, "mine", 52.521, 13.405)
    order = place_order(client)
    waybill_no = client.post(f"/v1/shipments/{order['shipments'][0]['id']}/assign", headers=ADMIN).json()["waybill_no"]
    own = client.get(f"/v1/waybills/{waybill_no}", headers=make_token(client, "carrier", "mine"))
    assert own.status_code == 200 and own.json()["carrier_id"] == "mine"
    other = client.get(f"/v1/waybills/{waybill_no}", headers=make_token(client, "carrier", "other"))
    assert other.status_code == 404 and other.json()["error"]["code"] == "waybill_not_found"
    label = client.get(f"/v1/waybills/{waybill_no}/label.pdf", headers=make_token(client, "carrier", "other"))
    assert label.status_code == 404
    customer = client.get(f"/v1/waybills/{waybill_no}", headers=make_token(client, "customer", "C1"))
    assert customer.status_code == 403
    dispatcher = client.get(f"/v1/waybills/{waybill_no}", headers=make_token(client, "dispatcher"))
    assert dispatcher.status_code == 200
    assert client.get("/v1/waybills/DW0000000000000", headers=ADMIN).status_code == 404


def test_assignment_4xx_change_nothing(client: TestClient) -> None:
    put_carrier(client, "tiny", capacity_kg=5, capacity_m3=5)
    put_carrier(client, "off", active=False)
    put_carrier(
        client, "elsewhere", coverage={"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    )
    move_carrier(client, "tiny", 52.521, 13.405)
    order = place_order(client, qty=5)  # 10 kg
    shipment_id = order["shipments"][0]["id"]
    url = f"/v1/shipments/{shipment_id}/assign"
    before = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    cases = [
        ("/v1/shipments/shp_unknown/assign", {}, 404, "shipment_not_found"),
        (url, {"carrier_id": "ghost", "reason": "r"}, 422, "unknown_carrier"),
        (url, {"carrier_id": "tiny", "reason": "r"}, 409, "carrier_cannot_carry"),
        (url, {"carrier_id": "off", "reason": "r"}, 409, "carrier_inactive"),
        (url, {"carrier_id": "elsewhere", "reason": "r"}, 409, "carrier_cannot_carry"),
        (url, {"carrier_id": "tiny"}, 422, "reason_required"),
        (url, {"carrier_id": ""}, 422, "validation_error"),
    ]
    for path, body, status, code in cases:
        answer = client.post(path, json=body, headers=ADMIN)
        assert answer.status_code == status, (body, answer.text)
        assert answer.json()["error"]["code"] == code
    after = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    assert after == before
    warehouse_token = make_token(client, "warehouse", "w")
    assert client.post(url, json={}, headers=warehouse_token).status_code == 403


def test_no_carrier_in_range_opens_an_exception_and_the_retry_assigns_later(client: TestClient) -> None:
    put_carrier(client, "late")
    move_carrier(client, "late", 53.5, 10.0)  # ~270 km away
    order = place_order(client)
    shipment_id = order["shipments"][0]["id"]
    answer = client.post(f"/v1/shipments/{shipment_id}/assign", json={}, headers=ADMIN)
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "no_carrier_in_range"
    view = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    assert view["status"] == "allocated"  # not held: the warehouse may go on picking
    [exception] = [e for e in view["exceptions"] if e["kind"] == "no_carrier_in_range"]
    assert exception["status"] == "open" and exception["details"]["shipment_id"] == shipment_id
    actions = [o["action"] for o in exception["details"]["strategy"]["options"]]
    assert actions == ["assign_by_hand", "retry_later"]
    assert exception["details"]["radii_m"][0] == 3000.0
    container = client.app.state.container  # type: ignore[attr-defined]
    assert not container.retry_no_carrier().assigned  # still nobody: stays open
    again = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    assert [e["status"] for e in again["exceptions"] if e["kind"] == "no_carrier_in_range"] == ["open"]
    move_carrier(client, "late", 52.53, 13.405)  # the carrier moves into range
    outcome = container.retry_no_carrier()
    assert outcome.assigned == {shipment_id: "late"}
    done = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
    assert done["shipments"][0]["carrier_id"] == "late"
    [closed] = [e for e in done["exceptions"] if e["kind"] == "no_carrier_in_range"]
    assert closed["status"] == "closed" and closed["resolved_at"] is not None


def test_fallback_radius_finds_a_carrier_beyond_3_km(client: TestClient) -> None:
    put_carrier(client, "wider")
    move_carrier(client, "wider", 52.56, 13.405)  # ~4.4 km: only the 5 km fallback reaches it
    order = place_order(client)
    answer = client.post(f"/v1/shipments/{order['shipments'][0]['id']}/assign", json={}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    assert answer.json()["carrier_id"] == "wider"


def test_failed_assignment_writes_no_webhook_event(client: TestClient) -> None:
    put_carrier(client, "tiny", capacity_kg=1, capacity_m3=5)
    order = place_order(client)
    shipment_id = order["shipments"][0]["id"]
    refused = client.post(
        f"/v1/shipments/{shipment_id}/assign", json={"carrier_id": "tiny", "reason": "r"}, headers=ADMIN
    )
    assert refused.status_code == 409
    nobody = client.post(f"/v1/shipments/{shipment_id}/assign", json={}, headers=ADMIN)  # "tiny" has no position
    assert nobody.status_code == 409 and nobody.json()["error"]["code"] == "no_carrier_in_range"
    from sqlalchemy import func, select

    from orders_core.orders.tables import OutboxRow

    with client.app.state.container.uow() as uow:  # type: ignore[attr-defined]
        count = uow.session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.topic == "carrier.webhook")
        )
    assert count == 0


def test_shipment_of_several_packages_has_master_and_child_waybills(client: TestClient) -> None:
    put_carrier(client, "truck", capacity_kg=1000)
    move_carrier(client, "truck", 52.521, 13.405)
    order = place_order(client, qty=3, sku="HEAVY")  # 3 x 40 kg: over the 30 kg package limit each
    master_no = client.post(f"/v1/shipments/{order['shipments'][0]['id']}/assign", headers=ADMIN).json()["waybill_no"]
    master = client.get(f"/v1/waybills/{master_no}", headers=ADMIN).json()
    assert master["kind"] == "master" and master["pieces"] == 3
    assert len(master["child_waybill_nos"]) == 3 and len(master["packages"]) == 3
    for index, child_no in enumerate(master["child_waybill_nos"], start=1):
        assert is_valid(child_no) and child_no.startswith(master_no + "-")
        child = client.get(f"/v1/waybills/{child_no}", headers=ADMIN).json()
        assert child["kind"] == "child" and child["parent_waybill_no"] == master_no
        assert child["package_index"] == index and child["pieces"] == 1
        assert child["weight_kg"] == pytest.approx(40.0)
        assert child["items"] == [{"sku": "HEAVY", "qty": 1}]
        assert child["receiver"] == master["receiver"]


def test_cash_on_delivery_and_contact_on_the_waybill(client: TestClient) -> None:
    put_carrier(client, "near")
    move_carrier(client, "near", 52.521, 13.405)
    order = place_order(client, qty=4, contact_name="Bob", contact_phone="+49 170 1234567", cash_on_delivery=True)
    waybill_no = client.post(f"/v1/shipments/{order['shipments'][0]['id']}/assign", headers=ADMIN).json()["waybill_no"]
    waybill = client.get(f"/v1/waybills/{waybill_no}", headers=ADMIN).json()
    assert waybill["receiver"]["name"] == "Bob"
    assert waybill["receiver"]["phone"] == "491*****4567"
    assert Decimal(waybill["cash_on_delivery"]["amount"]) == Decimal("40")


def _pdf_text(pdf: bytes) -> bytes:
    """Every content stream of a reportlab PDF, decoded (ASCII85 + Flate)."""
    out = b""
    for match in re.finditer(rb"\nstream\r?\n(.*?)endstream", pdf, re.S):
        raw = match.group(1).strip()
        if raw.endswith(b"~>"):
            raw = base64.a85decode(raw[:-2])
        out += zlib.decompress(raw)
    return out


def _decode_code128(content: bytes, bar_height: float) -> str:
    """Read the Code 128 symbol drawn as filled rectangles of ``bar_height`` back into its text (module widths
    -> the standard's symbol patterns -> values; checksum verified), so the test checks what a scanner reads."""
    from reportlab.graphics.barcode.code128 import _patterns  # the standard's 107 bar/space patterns

    rects = [
        (float(x), float(w))
        for x, w, h in re.findall(rb"n ([\d.]+) 0 ([\d.]+) ([\d.]+) re f", content)
        if abs(float(h) - bar_height) < 0.01
    ]
    rects.sort()
    module = min(w for _, w in rects)
    widths: list[int] = []
    for i, (x, w) in enumerate(rects):
        widths.append(round(w / module))
        if i + 1 < len(rects):
            widths.append(round((rects[i + 1][0] - x - w) / module))
    symbol_of = {pattern: value for value, pattern in _patterns.items()}
    values = []
    while len(widths) >= 6:
        letters = "".join(chr((65 if k % 2 == 0 else 97) + n - 1) for k, n in enumerate(widths[:7]))
        if letters == _patterns[106]:  # the stop: 7 elements, the only symbol with a 4th bar
            values.append(106)
            break
        values.append(symbol_of[letters[:6]])
        widths = widths[6:]
    start, *data, check, stop = values
    assert stop == 106 and start in (103, 104, 105)
    assert (start + sum(i * v for i, v in enumerate(data, start=1))) % 103 == check
    code, text = {103: "A", 104: "B", 105: "C"}[start], ""
    for v in data:
        if code == "C":  # 0-99 are digit pairs ("99" included); 100 and 101 switch to B and A
            if v < 100:
                text += f"{v:02d}"
            else:
                code = {100: "B", 101: "A"}[v]
        elif v == 99 or (code, v) in (("A", 100), ("B", 101)):
            code = {99: "C", 100: "B", 101: "A"}[v]
        elif code == "B":
            text += chr(v + 32)
        else:
            text += chr(v + 32) if v < 64 else chr(v - 64)
    return text


def test_label_is_a_pdf_with_the_number_barcode_and_qr(client: TestClient) -> None:
    put_carrier(client, "near")
    move_carrier(client, "near", 52.521, 13.405)
    order = place_order(client)
    waybill_no = client.post(f"/v1/shipments/{order['shipments'][0]['id']}/assign", headers=ADMIN).json()["waybill_no"]
    answer = client.get(f"/v1/waybills/{waybill_no}/label.pdf", headers=make_token(client, "carrier", "near"))
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF-")
    content = _pdf_text(answer.content)
    assert f"({waybill_no}) Tj".encode() in content
    assert b"138****5678" in content
    assert _decode_code128(content, bar_height=16 * 72 / 25.4) == waybill_no
    squares = re.findall(rb"n [\d.]+ [\d.]+ ([\d.]+) ([\d.]+) re f", content)
    assert len([1 for w, h in squares if w == h]) > 20  # the QR code's dark modules (runs merge into rectangles)


@pytest.mark.parametrize(
    "waybill_no",
    ["DW4917041326999", "DW990099009900X", "DW123456789012-0017", "DW000000000000-1239"],
)
def test_label_barcode_reads_back_whatever_code_sets_the_number_needs(waybill_no: str) -> None:
    """Digit pairs such as "99" are data in code set C, not a switch: every number reads back exactly."""
    from orders_core.transport.labels import waybill_label_pdf

    content = _pdf_text(waybill_label_pdf({"waybill_no": waybill_no}))
    assert _decode_code128(content, bar_height=16 * 72 / 25.4) == waybill_no
