"""`make run`'s demo data set loads through the API, twice without change, and is usable end to end."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.demo import load_demo_data
from infra.settings import Settings

ADMIN = {"Authorization": "Bearer demo-admin"}


def test_demo_data_loads_idempotently_and_serves_orders_matches_and_pick_routes(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.sqlite3'}", admin_token="demo-admin", log_json=False)
    app = create_app(settings)
    with TestClient(app) as client:
        first = load_demo_data(app, "demo-admin")
        assert first.counts["warehouses"] == 3
        assert first.counts["skus"] == 50
        assert first.counts["customers"] == 20
        assert first.counts["carriers"] == 40
        levels_before = client.get("/v1/warehouses/WH-YUHANG/stock/SKU-0007", headers=ADMIN).json()

        second = load_demo_data(app, "demo-admin")
        assert "stock levels" not in second.counts  # existing stock is never overwritten
        assert client.get("/v1/warehouses/WH-YUHANG/stock/SKU-0007", headers=ADMIN).json() == levels_before

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
