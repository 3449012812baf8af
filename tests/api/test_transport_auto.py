"""Automatic carrier assignment on both backends: after allocation (in the background, after intake
commits), batch assignment beating greedy, waiting for picks in ``picked`` mode, robustness, and
cancellation cancelling the waybill."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from matcher.batch import candidate_costs, greedy_assignment
from matcher.model import MatchQuery
from orders_core.transport import assignment

from .factories import ADMIN, put_master_data
from .test_transport_api import DROP_LAT, DROP_LNG, W1, move_carrier, outbox, place_order, put_carrier

LAYOUT = {
    "kind": "rectangular",
    "aisles": 2,
    "aisle_spacing_m": 3.0,
    "aisle_length_m": 10.0,
    "blocks": 1,
    "slots_per_side": 5,
    "depot_x_m": 0.0,
}


def _master_data(client: TestClient) -> TestClient:
    put_master_data(
        client,
        warehouses={"W1": {"name": "Main depot", "location": W1, "layout": LAYOUT}},
        skus={
            "S1": {"name": "Small box", "unit_price": 10, "weight_kg": 2, "volume_m3": 0.01},
            "HEAVY": {"name": "Crate", "unit_price": 10, "weight_kg": 40, "volume_m3": 0.05},
        },
        customers={"C1": {"name": "Ada Shop", "credit_limit": 1_000_000}},
        stock={("W1", "S1"): 1000, ("W1", "HEAVY"): 100},
    )
    return client


@pytest.fixture
def batch_client(make_client: Callable[..., TestClient]) -> TestClient:
    """Automatic assignment at allocation with no background thread: the test runs the sweep itself."""
    return _master_data(
        make_client(transport={"assign_at": "allocation", "sweep_interval_s": 0, "retry_interval_s": 0})
    )


def _container(client: TestClient) -> Any:
    return client.app.state.container  # type: ignore[attr-defined]


def _order(client: TestClient, order_id: str) -> dict[str, Any]:
    answer = client.get(f"/v1/orders/{order_id}", headers=ADMIN)
    assert answer.status_code == 200
    return dict(answer.json())


def test_shipments_ready_together_get_the_minimum_cost_assignment_not_greedy(batch_client: TestClient) -> None:
    client = batch_client
    put_carrier(client, "big-near", capacity_kg=500)  # the only one that can take the heavy shipment
    put_carrier(client, "small-far", capacity_kg=50)
    move_carrier(client, "big-near", 52.521, 13.405)  # ~110 m: cheapest for anybody
    move_carrier(client, "small-far", 52.535, 13.405)  # ~1.7 km
    light = place_order(client, qty=1)  # 2 kg, placed first
    heavy = place_order(client, qty=3, sku="HEAVY")  # 120 kg
    # Greedy in arrival order would give the light shipment the near big carrier and leave the heavy one
    # without anybody (the same costs the batch solves, from the live index):
    container = _container(client)
    queries = [
        MatchQuery(W1["lat"], W1["lng"], DROP_LAT, DROP_LNG, weight_kg=2.0, volume_m3=0.01),
        MatchQuery(W1["lat"], W1["lng"], DROP_LAT, DROP_LNG, weight_kg=120.0, volume_m3=0.15),
    ]
    greedy = greedy_assignment(candidate_costs(container.carriers.index, queries))
    assert greedy.assignments == {0: "big-near"} and greedy.unserved == [1]
    outcome = container.assign_ready()
    light_id, heavy_id = light["shipments"][0]["id"], heavy["shipments"][0]["id"]
    assert outcome.assigned == {light_id: "small-far", heavy_id: "big-near"}
    assert outcome.unserved == []
    assert _order(client, light["id"])["shipments"][0]["carrier_id"] == "small-far"
    assert _order(client, heavy["id"])["shipments"][0]["carrier_id"] == "big-near"
    # Both waybills were announced to their carriers.
    for order, carrier in ((light, "small-far"), (heavy, "big-near")):
        waybill_no = _order(client, order["id"])["shipments"][0]["waybill_no"]
        assert [(e["type"], e["carrier_id"]) for e in outbox(client, waybill_no)] == [("waybill.created", carrier)]
    assert not container.assign_ready()  # nothing left to do


def test_a_failing_batch_leaves_the_shipments_ready_for_the_next_sweep(
    batch_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = batch_client
    put_carrier(client, "near")
    move_carrier(client, "near", 52.521, 13.405)
    order = place_order(client)
    real_issue = assignment.issue_waybill

    def broken_issue(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("waybill service down")

    monkeypatch.setattr(assignment, "issue_waybill", broken_issue)
    assert not _container(client).assign_ready()  # logged, nothing committed
    view = _order(client, order["id"])
    assert view["shipments"][0]["status"] == "ready" and view["shipments"][0].get("carrier_id") is None
    assert view["exceptions"] == []
    monkeypatch.setattr(assignment, "issue_waybill", real_issue)
    assert _container(client).assign_ready().assigned == {order["shipments"][0]["id"]: "near"}


def test_nobody_in_range_during_the_sweep_opens_one_exception(batch_client: TestClient) -> None:
    client = batch_client
    order = place_order(client)
    assert _container(client).assign_ready().unserved == [order["shipments"][0]["id"]]
    assert not _container(client).assign_ready()  # tried once: the retry job owns it now
    kinds = [e["kind"] for e in _order(client, order["id"])["exceptions"]]
    assert kinds == ["no_carrier_in_range"]
    assert _container(client).retry_no_carrier().unserved == [order["shipments"][0]["id"]]
    assert [e["kind"] for e in _order(client, order["id"])["exceptions"]] == ["no_carrier_in_range"]


def test_assignment_runs_in_the_background_after_intake(make_client: Callable[..., TestClient]) -> None:
    client = _master_data(
        make_client(
            transport={"assign_at": "allocation", "sweep_interval_s": 3600, "batch_window_s": 0, "retry_interval_s": 0}
        )
    )
    put_carrier(client, "near")
    move_carrier(client, "near", 52.521, 13.405)
    order = place_order(client)
    assert order["shipments"][0].get("carrier_id") is None  # intake answers before assignment runs
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        shipment = _order(client, order["id"])["shipments"][0]
        if shipment.get("carrier_id"):
            break
        time.sleep(0.1)
    assert shipment["carrier_id"] == "near" and shipment["status"] == "assigned"


def test_picked_mode_waits_until_the_order_is_picked(make_client: Callable[..., TestClient]) -> None:
    client = _master_data(make_client(transport={"assign_at": "picked", "sweep_interval_s": 0, "retry_interval_s": 0}))
    put_carrier(client, "near")
    move_carrier(client, "near", 52.521, 13.405)
    order = place_order(client, qty=2)
    container = _container(client)
    assert not container.assign_ready()  # allocated is not ready in this mode
    assert client.put("/v1/warehouses/W1/slots/S1", json={"slot": "A01-L-002"}, headers=ADMIN).status_code == 200
    cart = {"cart": {"max_items": 50, "max_weight_kg": 100, "max_volume_m3": 1}}
    [task] = client.post("/v1/warehouses/W1/waves", json=cart, headers=ADMIN).json()["tasks"]
    assert not container.assign_ready()  # picking: still not ready
    picks = {"picks": [{"step": 1, "picked_qty": 2}]}
    assert client.post(f"/v1/pick-tasks/{task['id']}/confirm", json=picks, headers=ADMIN).status_code == 200
    assert _order(client, order["id"])["status"] == "loaded"
    assert container.assign_ready().assigned == {order["shipments"][0]["id"]: "near"}


def test_manual_mode_never_assigns_on_its_own(make_client: Callable[..., TestClient]) -> None:
    client = _master_data(make_client(transport={"assign_at": "manual", "sweep_interval_s": 0, "retry_interval_s": 0}))
    put_carrier(client, "near")
    move_carrier(client, "near", 52.521, 13.405)
    place_order(client)
    assert not _container(client).assign_ready()


def test_cancelling_the_order_cancels_its_waybill_and_tells_the_carrier(batch_client: TestClient) -> None:
    client = batch_client
    put_carrier(client, "near")
    move_carrier(client, "near", 52.521, 13.405)
    order = place_order(client)
    shipment_id = order["shipments"][0]["id"]
    waybill_no = client.post(f"/v1/shipments/{shipment_id}/assign", headers=ADMIN).json()["waybill_no"]
    assert client.post(f"/v1/orders/{order['id']}/cancel", headers=ADMIN).status_code == 200
    view = _order(client, order["id"])
    assert view["shipments"][0]["status"] == "cancelled"
    assert client.get(f"/v1/waybills/{waybill_no}", headers=ADMIN).json()["status"] == "cancelled"
    assert [e["type"] for e in outbox(client, waybill_no)] == ["waybill.created", "waybill.cancelled"]
    late = client.post(f"/v1/shipments/{shipment_id}/assign", headers=ADMIN)
    assert late.status_code == 409 and late.json()["error"]["code"] == "shipment_not_assignable"
    assert not _container(client).assign_ready()


def test_batch_widens_the_radius_only_for_the_shipments_still_unserved(batch_client: TestClient) -> None:
    client = batch_client
    put_carrier(client, "near")
    put_carrier(client, "wider")
    move_carrier(client, "near", 52.521, 13.405)  # ~110 m
    move_carrier(client, "wider", 52.56, 13.405)  # ~4.4 km: reached by the 5 km fallback only
    first, second = place_order(client), place_order(client)
    outcome = _container(client).assign_ready()
    assert sorted(outcome.assigned.values()) == ["near", "wider"]
    assert set(outcome.assigned) == {first["shipments"][0]["id"], second["shipments"][0]["id"]}


def test_per_carrier_capacity_lets_one_carrier_take_several_shipments(make_client: Callable[..., TestClient]) -> None:
    settings = {"assign_at": "allocation", "sweep_interval_s": 0, "retry_interval_s": 0, "per_carrier_capacity": 2}
    client = _master_data(make_client(transport=settings))
    put_carrier(client, "near")
    put_carrier(client, "wider")
    move_carrier(client, "near", 52.521, 13.405)
    move_carrier(client, "wider", 52.56, 13.405)
    place_order(client)
    place_order(client)
    place_order(client)
    outcome = _container(client).assign_ready()
    assert sorted(outcome.assigned.values()) == ["near", "near", "wider"]
