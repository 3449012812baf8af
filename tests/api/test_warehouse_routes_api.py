"""A warehouse's delivery routes over HTTP on both backends: planned from its assigned shipments (each
rides with its own carrier, capacities hold), persisted with loading positions, served as loading sheets
(JSON and printable HTML), and the link to the warehouse: the route's pick tasks are released in loading
order, so pick order == loading order == reverse delivery order."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from geo.distance import destination_point
from routing.params import RoutingParams

from .factories import ADMIN, make_token, put_master_data

W1 = {"lat": 52.52, "lng": 13.405}
LAYOUT = {
    "kind": "rectangular",
    "aisles": 4,
    "aisle_spacing_m": 3.0,
    "aisle_length_m": 20.0,
    "blocks": 1,
    "slots_per_side": 10,
    "depot_x_m": 0.0,
}
SLOTS = {"S1": "A01-L-003", "S2": "A03-R-008", "S3": "A04-L-010"}
CART = {"cart": {"max_items": 50, "max_weight_kg": 200, "max_volume_m3": 2}, "time_limit_s": 0.2}


def _drop(bearing_deg: float, distance_m: float, address: str) -> dict[str, Any]:
    lat, lng = destination_point(W1["lat"], W1["lng"], bearing_deg, distance_m)
    return {"lat": lat, "lng": lng, "address": address}


def _carrier(client: TestClient, carrier_id: str, capacity_kg: float = 500) -> None:
    body = {"name": carrier_id, "vehicle_type": "van", "capacity_kg": capacity_kg, "capacity_m3": 5, "coverage": None}
    assert client.put(f"/v1/carriers/{carrier_id}", json=body, headers=ADMIN).status_code == 201


def _order(client: TestClient, delivery: dict[str, Any], sku: str = "S1", qty: int = 2) -> dict[str, Any]:
    body = {"customer_id": "C1", "lines": [{"sku": sku, "qty": qty, "unit_price": 10}], "delivery": delivery}
    answer = client.post("/v1/orders", json=body, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    order: dict[str, Any] = answer.json()
    assert order["status"] == "allocated"
    return order


def _assign(client: TestClient, order: dict[str, Any], carrier_id: str) -> str:
    shipment_id: str = order["shipments"][0]["id"]
    body = {"carrier_id": carrier_id, "reason": "route test"}
    answer = client.post(f"/v1/shipments/{shipment_id}/assign", json=body, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return shipment_id


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    test_client = make_client(
        transport={"assign_at": "manual", "retry_interval_s": 0}, routing=RoutingParams(time_limit_s=0.3)
    )
    put_master_data(
        test_client,
        warehouses={"W1": {"name": "Main depot", "location": W1, "layout": LAYOUT}},
        skus={sku: {"name": sku, "unit_price": 10, "weight_kg": 4, "volume_m3": 0.02} for sku in SLOTS},
        customers={"C1": {"name": "Ada Shop", "credit_limit": 1_000_000}},
        stock={("W1", sku): 1000 for sku in SLOTS},
    )
    for sku, slot in SLOTS.items():
        assert test_client.put(f"/v1/warehouses/W1/slots/{sku}", json={"slot": slot}, headers=ADMIN).status_code == 200
    return test_client


@pytest.fixture
def fleet(client: TestClient) -> dict[str, str]:
    """Six shipments around the warehouse: four on van-a, two on van-b; shipment id -> carrier id."""
    _carrier(client, "van-a")
    _carrier(client, "van-b")
    plan = [(0, 2000, "S1", "van-a"), (60, 3000, "S2", "van-a"), (120, 1500, "S3", "van-a"), (200, 2500, "S1", "van-a")]
    plan += [(270, 1800, "S2", "van-b"), (320, 2200, "S3", "van-b")]
    carriers = {}
    for k, (bearing, distance, sku, carrier) in enumerate(plan):
        order = _order(client, _drop(bearing, distance, f"Street {k}"), sku=sku, qty=k + 1)
        carriers[_assign(client, order, carrier)] = carrier
    return carriers


def _plan(client: TestClient, headers: dict[str, str] = ADMIN) -> dict[str, Any]:
    answer = client.post("/v1/warehouses/W1/routes", json={"time_limit_s": 0.3}, headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_routes_carry_each_shipment_with_its_carrier_and_load_last_stop_first(
    client: TestClient, fleet: dict[str, str]
) -> None:
    result = _plan(client)
    assert result["unassigned"] == [] and result["replaced_routes"] == []
    routes = {r["vehicle_id"]: r for r in result["routes"]}
    assert set(routes) == {"van-a", "van-b"}
    for vehicle, route in routes.items():
        lines = route["shipments"]
        assert {line["shipment_id"] for line in lines} == {s for s, c in fleet.items() if c == vehicle}
        assert [line["loading_position"] for line in lines] == list(range(1, len(lines) + 1))
        # Loading order is the delivery order reversed: position 1 is the last stop.
        assert [line["shipment_id"] for line in lines] == list(reversed(route["delivery_order"]))
        assert [line["stop_sequence"] for line in lines] == list(range(len(lines), 0, -1))
        arrivals = [line["arrival_s"] for line in sorted(lines, key=lambda line: line["stop_sequence"])]
        assert arrivals == sorted(arrivals) and arrivals[0] > 0
        assert route["load_kg"] == pytest.approx(sum(line["weight_kg"] for line in lines))
        assert route["status"] == "planned" and route["distance_m"] > 0
        assert all(line["waybill_no"] and line["pieces"] >= 1 for line in lines)
    # The waybill and the order view read the same route stop.
    line = routes["van-a"]["shipments"][0]
    waybill = client.get(f"/v1/waybills/{line['waybill_no']}", headers=ADMIN).json()
    assert waybill["route_id"] == routes["van-a"]["route_id"] and waybill["loading_position"] == 1
    # The JSON loading sheets list the same routes.
    sheets = client.get("/v1/warehouses/W1/loading-sheets", headers=ADMIN).json()["items"]
    assert sorted(s["route_id"] for s in sheets) == sorted(r["route_id"] for r in result["routes"])


def test_a_vehicle_too_small_for_all_its_shipments_leaves_some_unassigned(client: TestClient) -> None:
    _carrier(client, "moped", capacity_kg=20)
    orders = [_order(client, _drop(45 * k, 1500, f"S{k}"), qty=4) for k in range(3)]  # 16 kg each
    ids = [_assign(client, order, "moped") for order in orders]
    result = _plan(client)
    (route,) = result["routes"]
    assert len(route["shipments"]) == 1 and route["load_kg"] <= 20
    assert sorted(result["unassigned"] + [route["shipments"][0]["shipment_id"]]) == sorted(ids)
    left_behind = [order for order in orders if order["shipments"][0]["id"] in result["unassigned"]]
    assert len(left_behind) == 2
    for order in left_behind:
        view = client.get(f"/v1/orders/{order['id']}", headers=ADMIN).json()
        waybill = client.get(f"/v1/waybills/{view['shipments'][0]['waybill_no']}", headers=ADMIN).json()
        assert waybill["route_id"] is None and waybill["loading_position"] is None


def test_printable_loading_sheet_lists_shipments_in_loading_order(client: TestClient, fleet: dict[str, str]) -> None:
    route = next(r for r in _plan(client)["routes"] if r["vehicle_id"] == "van-a")
    staff = make_token(client, "warehouse", "W1")
    for url in (
        f"/v1/warehouses/W1/loading-sheets/{route['route_id']}.html",
        f"/v1/warehouses/W1/loading-sheets/{route['route_id']}?format=html",
    ):
        page = client.get(url, headers=staff)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        html = page.text
        order_in_page = [m.group(1) for m in re.finditer(r"<td>(shp_[0-9a-z_]+)</td>", html)]
        assert order_in_page == [line["shipment_id"] for line in route["shipments"]]
        assert "van-a" in html and "position 1 goes in first" in html
    as_json = client.get(f"/v1/warehouses/W1/loading-sheets/{route['route_id']}", headers=staff).json()
    assert as_json["shipments"] == route["shipments"]


def test_pick_order_is_loading_order_is_reverse_delivery_order(client: TestClient, fleet: dict[str, str]) -> None:
    route = next(r for r in _plan(client)["routes"] if r["vehicle_id"] == "van-a")
    # the warehouse's stored cart serves a route wave that names none
    assert client.put("/v1/warehouses/W1/cart", json=CART["cart"], headers=ADMIN).status_code == 201
    path = f"/v1/warehouses/W1/routes/{route['route_id']}/pick-wave"
    answer = client.post(path, json={"time_limit_s": 0.2}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    tasks = answer.json()["tasks"]
    loading_order = [line["shipment_id"] for line in route["shipments"]]
    order_of = {line["shipment_id"]: line["order_id"] for line in route["shipments"]}
    # Released one task per shipment, first loaded first.
    assert [t["shipment_id"] for t in tasks] == loading_order == list(reversed(route["delivery_order"]))
    assert [t["release"] for t in tasks] == [1, 2, 3, 4] and [t["loading_position"] for t in tasks] == [1, 2, 3, 4]
    # Each task picks exactly its shipment's order; the orders picked first are the ones loaded first.
    picked = []
    for task in tasks:
        detail = client.get(f"/v1/pick-tasks/{task['task_id']}", headers=ADMIN).json()
        assert {step["order_id"] for step in detail["steps"]} == {order_of[task["shipment_id"]]}
        picked.append(detail["order_ids"][0])
    assert picked == [order_of[s] for s in loading_order]
    # The orders are now picking; van-b's orders are untouched.
    for shipment_id in loading_order:
        order = client.get(f"/v1/orders/{order_of[shipment_id]}", headers=ADMIN).json()
        assert order["status"] == "picking"
    # The loading sheet shows each shipment's pick task.
    sheet = client.get(f"/v1/warehouses/W1/loading-sheets/{route['route_id']}", headers=ADMIN).json()
    assert [line["pick_task_id"] for line in sheet["shipments"]] == [t["task_id"] for t in tasks]
    # A general wave has nothing left of van-a's orders to pick.
    rest = client.post("/v1/warehouses/W1/waves", json=CART, headers=ADMIN).json()
    assert not set(rest["tasks"][0]["order_ids"] if rest["tasks"] else []) & set(order_of.values())


def test_replanning_replaces_the_earlier_routes(client: TestClient, fleet: dict[str, str]) -> None:
    first = _plan(client)
    second = _plan(client)
    assert sorted(second["replaced_routes"]) == sorted(r["route_id"] for r in first["routes"])
    old = first["routes"][0]["route_id"]
    sheet = client.get(f"/v1/warehouses/W1/loading-sheets/{old}", headers=ADMIN).json()
    assert sheet["status"] == "replaced"
    assert "REPLACED" in client.get(f"/v1/warehouses/W1/loading-sheets/{old}.html", headers=ADMIN).text
    stale = client.post(f"/v1/warehouses/W1/routes/{old}/pick-wave", json=CART, headers=ADMIN)
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "route_replaced"
    current = client.get("/v1/warehouses/W1/loading-sheets", headers=ADMIN).json()["items"]
    assert sorted(s["route_id"] for s in current) == sorted(r["route_id"] for r in second["routes"])


def test_roles_and_unknown_ids(client: TestClient, fleet: dict[str, str]) -> None:
    staff = make_token(client, "warehouse", "W1")
    assert client.post("/v1/warehouses/W1/routes", json={}, headers=staff).status_code == 403
    carrier = make_token(client, "carrier", "van-a")
    assert client.get("/v1/warehouses/W1/loading-sheets", headers=carrier).status_code == 403
    assert _plan(client, make_token(client, "dispatcher"))["routes"]
    assert client.get("/v1/warehouses/W1/loading-sheets", headers=staff).status_code == 200
    missing = client.post("/v1/warehouses/NOPE/routes", json={}, headers=ADMIN)
    assert missing.status_code == 404
    unknown = client.get("/v1/warehouses/W1/loading-sheets/rt_nope", headers=ADMIN)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "route_not_found"


def test_a_warehouse_with_nothing_assigned_plans_no_route(client: TestClient) -> None:
    _order(client, _drop(0, 1000, "x"))  # allocated, but no carrier yet
    result = _plan(client)
    assert result["routes"] == [] and result["unassigned"] == []
