"""The demo data set for ``make run``: a small distributor around Hangzhou.

It is loaded through the service's own HTTP API (in-process, no network), so it passes the same
validation as any client's data and stays correct as the internals change. Loading twice changes
nothing: every resource is an idempotent ``PUT``, and stock is only set where none exists yet.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

SEED = 20261125
HANGZHOU = (30.2741, 120.1551)
WAREHOUSES = {
    "WH-XIAOSHAN": ("Xiaoshan DC", 30.1870, 120.2640),
    "WH-YUHANG": ("Yuhang DC", 30.4190, 120.3010),
    "WH-BINJIANG": ("Binjiang DC", 30.2080, 120.2110),
}
DEMO_LAYOUT = {
    "kind": "rectangular",
    "aisles": 10,
    "aisle_spacing_m": 3.0,
    "aisle_length_m": 30.0,
    "blocks": 2,
    "slots_per_side": 20,
    "depot_x_m": 0.0,
}
VEHICLES = (("van", 800.0, 6.0), ("light_truck", 3000.0, 18.0), ("truck", 10000.0, 45.0))
PRODUCTS = ("Green tea", "Soy sauce", "Rice 5kg", "Instant noodles", "Mineral water", "Biscuits", "Cooking oil",
            "Dish soap", "Shampoo", "Tissue pack")  # fmt: skip


@dataclass
class DemoSummary:
    """What the loader touched, for the start-up banner."""

    counts: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        return ", ".join(f"{n} {kind}" for kind, n in self.counts.items())


def _offset(lat: float, lng: float, north_m: float, east_m: float) -> tuple[float, float]:
    """A point a few km away; a flat-earth offset is plenty for demo data."""
    return lat + north_m / 111_320.0, lng + east_m / (111_320.0 * math.cos(math.radians(lat)))


def _coverage(rng: random.Random, lat: float, lng: float) -> dict[str, Any]:
    """A star-shaped polygon of 8-25 km around a carrier's home base (GeoJSON, lng-lat, closed ring)."""
    radius_m = rng.uniform(8_000, 25_000)
    ring = []
    for i in range(10):
        angle = 2 * math.pi * i / 10
        r = radius_m * rng.uniform(0.7, 1.0)
        plat, plng = _offset(lat, lng, r * math.cos(angle), r * math.sin(angle))
        ring.append([round(plng, 6), round(plat, 6)])
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


class _Loader:
    def __init__(self, app: FastAPI, admin_token: str) -> None:
        self.client = TestClient(app, raise_server_exceptions=True)
        self.headers = {"Authorization": f"Bearer {admin_token}"}
        self.summary = DemoSummary()

    def send(self, method: str, kind: str, path: str, body: dict[str, Any]) -> None:
        """Send one request; demo data the service refuses is a bug, so it stops the start-up loudly."""
        response = self.client.request(method, path, json=body, headers=self.headers)
        if response.status_code >= 400:
            raise RuntimeError(f"demo data rejected: {method} {path} -> {response.status_code} {response.text}")
        self.summary.counts[kind] = self.summary.counts.get(kind, 0) + 1

    def exists(self, path: str) -> bool:
        return self.client.get(path, headers=self.headers).status_code == 200


def load_demo_data(app: FastAPI, admin_token: str) -> DemoSummary:
    """Load 3 warehouses, 50 SKUs with stock, 20 customers and 40 carriers with coverage and positions.

    Carriers are based near the warehouses (as in life: they wait where the freight is), so a match
    from a warehouse finds several of them within the default 3 km.
    """
    rng = random.Random(SEED)
    loader = _Loader(app, admin_token)
    for warehouse_id, (name, lat, lng) in WAREHOUSES.items():
        loader.send(
            "PUT",
            "warehouses",
            f"/v1/warehouses/{warehouse_id}",
            {"name": name, "location": {"lat": lat, "lng": lng}, "layout": DEMO_LAYOUT},
        )
    skus = []
    for i in range(50):
        sku = f"SKU-{i + 1:04d}"
        skus.append(sku)
        product = PRODUCTS[i % len(PRODUCTS)]
        loader.send(
            "PUT",
            "skus",
            f"/v1/skus/{sku}",
            {
                "name": f"{product} #{i // len(PRODUCTS) + 1}",
                "unit_price": f"{rng.uniform(3, 120):.2f}",
                "weight_kg": round(rng.uniform(0.2, 12.0), 2),
                "volume_m3": round(rng.uniform(0.001, 0.05), 4),
            },
        )
    for warehouse_id in WAREHOUSES:
        for index, sku in enumerate(skus):
            path = f"/v1/warehouses/{warehouse_id}/stock/{sku}"
            if not loader.exists(path):
                loader.send("PUT", "stock levels", path, {"on_hand": rng.randint(0, 400)})
            aisle, position = index % 10 + 1, index // 10 * 4 + 2
            loader.send(
                "PUT", "slots", f"/v1/warehouses/{warehouse_id}/slots/{sku}", {"slot": f"A{aisle:02d}-L-{position:03d}"}
            )
    for i in range(20):
        lat, lng = _offset(*HANGZHOU, rng.uniform(-15_000, 15_000), rng.uniform(-15_000, 15_000))
        loader.send(
            "PUT",
            "customers",
            f"/v1/customers/CUST-{i + 1:03d}",
            {
                "name": f"Store {i + 1:03d}",
                "credit_limit": f"{rng.choice([20_000, 50_000, 100_000])}.00",
                "location": {"lat": round(lat, 6), "lng": round(lng, 6)},
            },
        )
    positions = []
    now_s = time.time()
    for i in range(40):
        carrier_id = f"CAR-{i + 1:03d}"
        _, base_lat, base_lng = list(WAREHOUSES.values())[i % len(WAREHOUSES)]
        home_lat, home_lng = _offset(base_lat, base_lng, rng.uniform(-1_500, 1_500), rng.uniform(-1_500, 1_500))
        vehicle, capacity_kg, capacity_m3 = VEHICLES[i % len(VEHICLES)]
        loader.send(
            "PUT",
            "carriers",
            f"/v1/carriers/{carrier_id}",
            {
                "name": f"Carrier {i + 1:03d}",
                "vehicle_type": vehicle,
                "capacity_kg": capacity_kg,
                "capacity_m3": capacity_m3,
                "coverage": _coverage(rng, home_lat, home_lng),
            },
        )
        lat, lng = _offset(home_lat, home_lng, rng.uniform(-1_000, 1_000), rng.uniform(-1_000, 1_000))
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_s - rng.uniform(0, 120)))
        positions.append({"carrier_id": carrier_id, "lat": round(lat, 6), "lng": round(lng, 6), "ts": ts})
    loader.send("POST", "position batches", "/v1/carriers/positions", {"positions": positions})
    return loader.summary
