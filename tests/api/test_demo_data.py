"""`make run`'s demo data set: loaded in-process through the API's own schemas and use cases, twice without
change, on both stores, and usable end to end (orders, matches that weigh price and punctuality, pick routes)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

import api.demo
from api.app import create_app
from api.container import Container
from api.demo import DemoDataRejected, DemoWriter, load_demo_data
from api.settings import Settings

ADMIN = {"Authorization": "Bearer demo-admin"}


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    """The service on a fresh, empty store of the backend under test (SQLite file or PostGIS)."""
    app = create_app(Settings(database_url=database_url, admin_token="demo-admin", log_format="console"), demo=True)
    with TestClient(app) as test_client:
        yield test_client


def _container(client: TestClient) -> Container:
    container: Container = client.app.state.container  # type: ignore[attr-defined]
    return container


def test_demo_loader_does_not_go_through_the_test_client() -> None:
    tree = ast.parse(Path(api.demo.__file__).read_text())
    imported = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not {name for name in imported if name and ("testclient" in name or name.startswith("httpx"))}


def test_demo_data_loads_idempotently_and_serves_orders_matches_and_pick_routes(client: TestClient) -> None:
    container = _container(client)
    first = load_demo_data(container)
    assert first.counts == {
        "warehouses": 3,
        "skus": 50,
        "stock levels": 150,
        "slots": 150,
        "customers": 20,
        "carriers": 40,
        "position batches": 1,
    }
    levels_before = client.get("/v1/warehouses/WH-YUHANG/stock/SKU-0007", headers=ADMIN).json()
    carrier_before = client.get("/v1/carriers/CAR-007", headers=ADMIN).json()

    second = load_demo_data(container)
    assert second.counts == {} and second.skipped is not None  # only into an empty database
    assert "not empty" in str(second) and "3 warehouses" in str(second)
    assert client.get("/v1/warehouses/WH-YUHANG/stock/SKU-0007", headers=ADMIN).json() == levels_before
    carrier_after = client.get("/v1/carriers/CAR-007", headers=ADMIN).json()
    assert {k: v for k, v in carrier_after.items() if not k.startswith("position")} == {
        k: v for k, v in carrier_before.items() if not k.startswith("position")
    }  # a restart writes nothing (the position's age grows meanwhile)

    price = client.get("/v1/skus/SKU-0003", headers=ADMIN).json()["unit_price"]
    order = client.post(
        "/v1/orders",
        json={
            "customer_id": "CUST-004",
            "lines": [{"sku": "SKU-0003", "qty": 1, "unit_price": price}],
            "delivery": {"lat": 30.26, "lng": 120.17, "address": "West Lake"},
        },
        headers={**ADMIN, "Idempotency-Key": "demo-order-1"},
    )
    assert order.status_code == 201, order.text

    warehouse = client.get("/v1/warehouses/WH-XIAOSHAN", headers=ADMIN).json()
    match = client.post(
        "/v1/match",
        json={
            "pickup": warehouse["location"],
            "dropoff": {"lat": 30.20, "lng": 120.25},
            "weight_kg": 50,
            "volume_m3": 0.5,
            "rank_by": "distance",
        },
        headers=ADMIN,
    )
    assert match.status_code == 200, match.text
    distances = [c["distance_m"] for c in match.json()["candidates"]]
    assert distances and distances == sorted(distances) and distances[-1] <= 3000

    route = client.post(
        "/v1/warehouses/WH-XIAOSHAN/pick-route", json={"slots": ["A01-L-002", "A07-R-015"]}, headers=ADMIN
    )
    assert route.status_code == 200, route.text
    assert sorted(route.json()["sequence"]) == ["A01-L-002", "A07-R-015"]


def test_demo_carriers_differ_in_price_rating_and_punctuality_and_matches_show_it(client: TestClient) -> None:
    load_demo_data(_container(client))
    carriers = [client.get(f"/v1/carriers/CAR-{i:03d}", headers=ADMIN).json() for i in range(1, 41)]
    for term in ("rate_per_km", "base_fare", "on_time_rate", "rating"):
        assert len({c[term] for c in carriers}) >= 10, term

    match = client.post(
        "/v1/match",
        json={
            "pickup": {"lat": 30.1870, "lng": 120.2640},  # Xiaoshan DC
            "dropoff": {"lat": 30.23, "lng": 120.21},
            "weight_kg": 50,
            "volume_m3": 0.5,
            "explain": True,
            "limit": 5,
        },
        headers=ADMIN,
    )
    assert match.status_code == 200, match.text
    candidates = match.json()["candidates"]
    assert len(candidates) >= 3
    scores = [c["score"] for c in candidates]
    assert scores == sorted(scores) and len(set(scores)) == len(scores)
    # Every term of the explanation varies between the top candidates, not only the pickup distance.
    for term in ("pickup_distance", "price", "lateness", "rating"):
        assert len({round(c["terms"][term], 6) for c in candidates}) > 1, term
    # ...and the ranking by score is not simply the ranking by distance.
    by_distance = sorted(candidates, key=lambda c: c["distance_m"])
    assert [c["carrier_id"] for c in by_distance] != [c["carrier_id"] for c in candidates]


def test_a_bad_demo_payload_is_refused_by_the_apis_own_validation(tmp_path: Path) -> None:
    container = Container(Settings(database_url=f"sqlite:///{tmp_path / 'demo.sqlite3'}", admin_token="demo-admin"))
    container.start()
    try:
        writer = DemoWriter(container)
        good_sku = {"name": "Green tea", "unit_price": "3.50", "weight_kg": 0.5, "volume_m3": 0.001}
        writer.sku("SKU-OK", good_sku)
        with pytest.raises(DemoDataRejected, match="unit_price"):  # SkuIn: money must be >= 0
            writer.sku("SKU-NEG", {**good_sku, "unit_price": "-1.00"})
        with pytest.raises(DemoDataRejected, match="sku bad id"):  # the path id pattern of the routers
            writer.sku("bad id", good_sku)
        with pytest.raises(DemoDataRejected, match="lat"):  # WarehouseIn: WGS-84 ranges
            writer.warehouse("WH-X", {"name": "X", "location": {"lat": 91.0, "lng": 120.0}})
        with pytest.raises(DemoDataRejected, match="coverage"):  # the carriers router's polygon parser
            writer.carrier(
                "CAR-X",
                {
                    "name": "X",
                    "vehicle_type": "van",
                    "capacity_kg": 800,
                    "capacity_m3": 6,
                    "coverage": {"type": "Point"},
                },
            )
        with pytest.raises(DemoDataRejected, match="has no layout"):  # the picking use case
            writer.warehouse("WH-NOLAYOUT", {"name": "Y", "location": {"lat": 30.0, "lng": 120.0}})
            writer.slot("WH-NOLAYOUT", "SKU-OK", {"slot": "A01-L-002"})
        assert writer.summary.counts == {"skus": 1, "warehouses": 1}
    finally:
        container.close()
