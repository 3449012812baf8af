"""The live map's data API on both backends (issue 10, item 2): carriers with their fix's age and status, a
day's orders with the late flag, H3 heat of demand and of late deliveries, the basemap, and scoping.

Orders are placed through the API (intake stores their cells); the test then moves some into the past, makes
some late and delivers some, by writing their rows as the pipeline would. Every heat count is checked
against ``h3.latlng_to_cell`` over the seeded points, independently of the stored cells.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import h3
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from infra.db import make_engine, make_session_factory
from orders_core.map.model import desk_today
from orders_core.orders.tables import OrderRow, ShipmentRow, TimelineRow

from .factories import ADMIN, make_token, put_master_data

W1 = {"lat": 30.27, "lng": 120.15}  # Hangzhou
W2 = {"lat": 30.18, "lng": 120.27}  # Xiaoshan
#: Orders placed two days ago: outside a one-day heat period and not on today's map.
OLD = {2, 5, 11}
#: Late, still on the road (promise passed).
LATE_OPEN = {0, 3, 7, 8, 15}
#: Delivered after the promise (late) and before it (on time).
DELIVERED_LATE = {4, 9}
DELIVERED_ON_TIME = {6, 10, 12}
#: Cancelled after the promise passed: never late.
CANCELLED = {13}
N_ORDERS = 24


def _points() -> list[tuple[float, float]]:
    rng = random.Random(10)
    return [(30.05 + rng.random() * 0.45, 119.95 + rng.random() * 0.5) for _ in range(N_ORDERS)]


POINTS = _points()


@pytest.fixture
def client(database_url: str, make_client: Any) -> Iterator[TestClient]:
    """The app with two warehouses, orders at ``POINTS`` (S1 ships from W1, S2 from W2) and three carriers."""
    app: TestClient = make_client()
    now = datetime.now(UTC)  # per test: a run of several minutes must not age the seeded times
    put_master_data(
        app,
        warehouses={"W1": {"name": "Hangzhou", "location": W1}, "W2": {"name": "Xiaoshan", "location": W2}},
        skus={s: {"name": s, "unit_price": 10, "weight_kg": 1, "volume_m3": 0.01} for s in ("S1", "S2")},
        customers={"C1": {"name": "Store", "credit_limit": 1_000_000}},
        stock={("W1", "S1"): 10_000, ("W2", "S2"): 10_000},
    )
    ids = []
    for i, (lat, lng) in enumerate(POINTS):
        body = {
            "customer_id": "C1",
            "lines": [{"sku": "S1" if i % 2 == 0 else "S2", "qty": 1, "unit_price": 10}],
            "delivery": {"lat": lat, "lng": lng, "address": f"Road {i}"},
        }
        answer = app.post("/v1/orders", json=body, headers=ADMIN)
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
    _reshape(database_url, ids, now)
    square: dict[str, Any] = {
        "type": "Polygon",
        "coordinates": [[[119.9, 30.0], [120.6, 30.0], [120.6, 30.6], [119.9, 30.6], [119.9, 30.0]]],
    }
    for carrier_id, coverage in (("K1", square), ("K2", None), ("K3", None)):
        carrier: dict[str, Any] = {
            "name": carrier_id,
            "vehicle_type": "van",
            "capacity_kg": 500,
            "capacity_m3": 5,
            "coverage": coverage,
        }
        assert app.put(f"/v1/carriers/{carrier_id}", json=carrier, headers=ADMIN).status_code == 201
    fixes = [
        {"carrier_id": "K1", "lat": 30.26, "lng": 120.16, "ts": (now - timedelta(seconds=30)).isoformat()},
        {"carrier_id": "K2", "lat": 30.20, "lng": 120.25, "ts": (now - timedelta(hours=2)).isoformat()},
    ]
    assert app.post("/v1/carriers/positions", json={"positions": fixes}, headers=ADMIN).status_code == 200
    shipment = _shipment_of(database_url, ids[1])  # an S2 order: ships from W2
    assert (
        app.post(
            f"/v1/shipments/{shipment}/assign", json={"carrier_id": "K1", "reason": "t"}, headers=ADMIN
        ).status_code
        == 200
    )
    app.ids = ids  # type: ignore[attr-defined]
    app.now = now  # type: ignore[attr-defined]
    yield app


def _reshape(database_url: str, ids: list[str], now: datetime) -> None:
    """Move orders in time and status the way the pipeline would have left them."""
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        for i, order_id in enumerate(ids):
            values: dict[str, Any] = {}
            if i in OLD:
                values["created_at"] = now - timedelta(days=2)
            if i in LATE_OPEN | DELIVERED_LATE | DELIVERED_ON_TIME | CANCELLED:
                values["promised_by"] = now - timedelta(hours=1)
            if i in DELIVERED_LATE | DELIVERED_ON_TIME:
                values["status"] = "delivered"
                at = now - timedelta(minutes=30 if i in DELIVERED_LATE else 90)
                session.add(TimelineRow(order_id=order_id, status="delivered", at=at, actor="test"))
            if i in CANCELLED:
                values["status"] = "cancelled"
            if values:
                session.execute(update(OrderRow).where(OrderRow.id == order_id).values(**values))
        session.commit()
    engine.dispose()


def _shipment_of(database_url: str, order_id: str) -> str:
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        shipment = session.execute(select(ShipmentRow.id).where(ShipmentRow.order_id == order_id)).scalar_one()
    engine.dispose()
    return str(shipment)


def _late(i: int) -> bool:
    return i in LATE_OPEN | DELIVERED_LATE


def _heat(client: TestClient, headers: dict[str, str] = ADMIN, **params: Any) -> dict[str, int]:
    answer = client.get("/v1/map/heat", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    counts = {f["properties"]["cell"]: f["properties"]["count"] for f in body["features"]}
    assert body["total"] == sum(counts.values()) and body["cells"] == len(counts)
    assert body["max_count"] == max(counts.values(), default=0)
    return counts


@pytest.mark.parametrize("resolution", [5, 6, 7, 8, 9])
def test_demand_heat_counts_each_cell_like_latlng_to_cell(client: TestClient, resolution: int) -> None:
    now: datetime = client.now  # type: ignore[attr-defined]
    expected = Counter(h3.latlng_to_cell(lat, lng, resolution) for i, (lat, lng) in enumerate(POINTS) if i not in OLD)
    period: dict[str, Any] = {
        "from": (now - timedelta(days=1)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat(),
    }
    assert _heat(client, kind="demand", resolution=resolution, **period) == dict(expected)
    # A period that takes in the old orders counts every point.
    wide: dict[str, Any] = {"from": (now - timedelta(days=3)).isoformat(), "to": period["to"]}
    assert _heat(client, resolution=resolution, **wide) == dict(
        Counter(h3.latlng_to_cell(a, b, resolution) for a, b in POINTS)
    )


@pytest.mark.parametrize("resolution", [7, 9])
def test_late_heat_counts_only_missed_promises(client: TestClient, resolution: int) -> None:
    now: datetime = client.now  # type: ignore[attr-defined]
    period: dict[str, Any] = {
        "from": (now - timedelta(days=3)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat(),
    }
    expected = Counter(h3.latlng_to_cell(lat, lng, resolution) for i, (lat, lng) in enumerate(POINTS) if _late(i))
    assert _heat(client, kind="late", resolution=resolution, **period) == dict(expected)


def test_heat_features_are_the_cells_hexagons_hottest_first(client: TestClient) -> None:
    body = client.get("/v1/map/heat", params={"resolution": 6}, headers=ADMIN).json()
    assert body["type"] == "FeatureCollection" and body["kind"] == "demand" and body["resolution"] == 6
    counts = [f["properties"]["count"] for f in body["features"]]
    assert counts == sorted(counts, reverse=True)
    for feature in body["features"]:
        ring = feature["geometry"]["coordinates"][0]
        boundary = h3.cell_to_boundary(feature["id"])
        assert feature["geometry"]["type"] == "Polygon" and ring[0] == ring[-1]
        flat = [coordinate for lng, lat in ring[:-1] for coordinate in (lat, lng)]
        assert flat == pytest.approx([coordinate for vertex in boundary for coordinate in vertex])
    limited = client.get("/v1/map/heat", params={"resolution": 9, "limit": 2}, headers=ADMIN).json()
    assert len(limited["features"]) == 2 and limited["cells"] > 2


def test_todays_orders_carry_status_and_late_flag(client: TestClient) -> None:
    now: datetime = client.now  # type: ignore[attr-defined]
    ids: list[str] = client.ids  # type: ignore[attr-defined]
    answer = client.get("/v1/map/orders", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["date"] == desk_today(now).isoformat() and body["time_zone"] == "Asia/Shanghai"
    shown = {o["order_id"]: o for o in body["orders"]}
    today = {ids[i]: i for i in range(N_ORDERS) if i not in OLD}
    assert set(shown) == set(today) and body["total"] == len(today)
    for order_id, i in today.items():
        assert shown[order_id]["late"] is _late(i), (i, shown[order_id])
        assert (shown[order_id]["lat"], shown[order_id]["lng"]) == pytest.approx(POINTS[i])
    assert shown[ids[4]]["status"] == "delivered" and shown[ids[13]]["status"] == "cancelled"
    assert body["late"] == sum(_late(i) for i in today.values())
    old = client.get("/v1/map/orders", params={"date": desk_today(now - timedelta(days=2)).isoformat()}, headers=ADMIN)
    assert {o["order_id"] for o in old.json()["orders"]} == {ids[i] for i in OLD}
    assert client.get("/v1/map/orders", params={"date": "2026-13-01"}, headers=ADMIN).status_code == 422
    for edge in ("0001-01-01", "9999-12-31"):  # no UTC bounds: a clear 422, never a 500
        answer = client.get("/v1/map/orders", params={"date": edge}, headers=ADMIN)
        assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_date", answer.text


def test_carriers_show_their_fix_age_and_status(client: TestClient) -> None:
    answer = client.get("/v1/map/carriers", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    carriers = {c["carrier_id"]: c for c in answer.json()["carriers"]}
    assert carriers["K1"]["status"] == "busy" and carriers["K1"]["active_shipments"] == 1
    assert 25 <= carriers["K1"]["position_age_s"] < 600
    assert carriers["K2"]["status"] == "stale" and carriers["K2"]["position_age_s"] >= 7200
    assert carriers["K3"]["status"] == "no_position" and carriers["K3"]["lat"] is None


def test_basemap_has_warehouses_and_coverage(client: TestClient) -> None:
    features = client.get("/v1/map/basemap", headers=ADMIN).json()["features"]
    assert {f["id"] for f in features} == {"warehouse:W1", "warehouse:W2", "coverage:K1"}
    w1 = next(f for f in features if f["id"] == "warehouse:W1")
    assert w1["geometry"] == {"type": "Point", "coordinates": [W1["lng"], W1["lat"]]}


def test_a_warehouse_token_sees_only_what_its_warehouse_ships(client: TestClient) -> None:
    now: datetime = client.now  # type: ignore[attr-defined]
    ids: list[str] = client.ids  # type: ignore[attr-defined]
    w2 = make_token(client, "warehouse", "W2")
    shipped_from_w2 = [i for i in range(N_ORDERS) if i % 2 == 1]  # the S2 orders
    orders = client.get("/v1/map/orders", headers=w2).json()["orders"]
    assert {o["order_id"] for o in orders} == {ids[i] for i in shipped_from_w2 if i not in OLD}
    wide: dict[str, Any] = {"from": (now - timedelta(days=3)).isoformat(), "to": (now + timedelta(hours=1)).isoformat()}
    expected = Counter(h3.latlng_to_cell(*POINTS[i], 8) for i in shipped_from_w2)
    assert _heat(client, headers=w2, resolution=8, **wide) == dict(expected)
    assert [c["carrier_id"] for c in client.get("/v1/map/carriers", headers=w2).json()["carriers"]] == ["K1"]
    w1 = make_token(client, "warehouse", "W1")
    assert client.get("/v1/map/carriers", headers=w1).json()["carriers"] == []
    assert {f["id"] for f in client.get("/v1/map/basemap", headers=w1).json()["features"]} == {"warehouse:W1"}
    for path in ("/v1/map/orders", "/v1/map/heat", "/v1/map/carriers", "/v1/map/basemap"):
        refused = client.get(path, params={"warehouse_id": "W1"}, headers=w2)
        assert refused.status_code == 403, (path, refused.text)
        assert refused.json()["error"]["code"] == "forbidden"
    # The desk may filter by warehouse itself.
    assert len(client.get("/v1/map/orders", params={"warehouse_id": "W2"}, headers=ADMIN).json()["orders"]) == len(
        orders
    )


@pytest.mark.parametrize("path", ["/v1/map/orders", "/v1/map/heat", "/v1/map/carriers", "/v1/map/basemap"])
def test_roles(client: TestClient, path: str) -> None:
    assert client.get(path, headers=make_token(client, "dispatcher")).status_code == 200
    for role, subject in (("customer", "C1"), ("carrier", "K1")):
        answer = client.get(path, headers=make_token(client, role, subject))
        assert answer.status_code == 403, answer.text
    assert client.get(path).status_code == 401


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"resolution": 4}, "invalid_resolution"),
        ({"resolution": 10}, "invalid_resolution"),
        ({"kind": "hot"}, "validation_error"),
        ({"from": "2026-03-02T00:00:00Z", "to": "2026-03-01T00:00:00Z"}, "invalid_period"),
        ({"from": "2026-03-02T00:00:00"}, "validation_error"),
    ],
)
def test_bad_heat_requests_are_422(client: TestClient, params: dict[str, Any], code: str) -> None:
    answer = client.get("/v1/map/heat", params=params, headers=ADMIN)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == code
