"""The demo data set for ``make run``: a small distributor around Hangzhou.

It is loaded in-process but not around the API's checks: every payload is validated with the API's own
request schemas (``api.schemas``) and written by the same ``orders_core`` use cases the routers call, one
transaction per resource as a request would. :class:`DemoWriter` is the one place that knows how; the
data itself is generated (seeded, so every first run sees the same demo) by :func:`load_demo_data`.
The demo is loaded only into an empty database (no warehouse, SKU, customer, carrier or order yet): a
restart never writes over what the user has changed since (a carrier's webhook URL, a customer's credit
limit, stock counts). Within one load every resource is an upsert, and stock is only set where none exists.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from api.schemas.carriers import CarrierIn, PositionsIn
from api.schemas.master_data import CustomerIn, PathId, SkuIn, WarehouseIn
from api.schemas.picking import SkuSlotIn
from api.schemas.stock import StockLevelIn
from foundation.errors import DispatchError
from orders_core.carriers.service import accept_positions, upsert_carrier
from orders_core.census import stored_resources
from orders_core.master_data.service import upsert_customer, upsert_sku, upsert_warehouse
from orders_core.picking.service import assign_sku_slot, sku_slots
from orders_core.stock.levels import set_stock_level, stocked_pairs

if TYPE_CHECKING:
    from api.container import Container

SEED = 20261125
HANGZHOU = (30.2741, 120.1551)
#: The demo fleet (``api.demo_fleet`` keeps their positions fresh while the demo runs).
DEMO_CARRIER_IDS = tuple(f"CAR-{i + 1:03d}" for i in range(40))
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
# Per-km rate and base fare by vehicle (a truck costs more to move): the demo's carriers differ in price,
# rating and punctuality around these, so a match's score and explanation have something to weigh.
TARIFFS = {"van": (1.8, 8.0), "light_truck": (2.6, 15.0), "truck": (3.8, 30.0)}

_path_id: TypeAdapter[str] = TypeAdapter(PathId)
Schema = TypeVar("Schema", bound=BaseModel)


class DemoDataRejected(RuntimeError):
    """The API's own validation refused a demo payload: a bug in the demo, so start-up stops loudly."""


@dataclass
class DemoSummary:
    """What the loader touched, for the start-up banner."""

    counts: dict[str, int] = field(default_factory=dict)
    #: Why nothing was loaded (the database already held data), or None when the demo was loaded.
    skipped: str | None = None

    def __str__(self) -> str:
        if self.skipped:
            return f"demo data not loaded: {self.skipped}"
        return ", ".join(f"{n} {kind}" for kind, n in self.counts.items())


class DemoWriter:
    """Writes demo payloads as the routers would: request schema first, then the same use case.

    Each method takes the path ids and the JSON body of the matching ``PUT``/``POST`` and raises
    :class:`DemoDataRejected` with the schema's or the use case's message when the API would refuse it.
    """

    def __init__(self, container: Container) -> None:
        self.container = container
        self.summary = DemoSummary()

    def _count(self, kind: str) -> None:
        self.summary.counts[kind] = self.summary.counts.get(kind, 0) + 1

    @staticmethod
    def _checked(what: str, schema: type[Schema], body: dict[str, Any], *ids: str) -> Schema:
        try:
            for resource_id in ids:
                _path_id.validate_python(resource_id)
            return schema.model_validate(body)
        except ValidationError as exc:
            raise DemoDataRejected(f"demo data rejected: {what}: {exc}") from exc

    def _run(self, what: str, kind: str, write: Callable[[], object]) -> None:
        try:
            write()  # a use case that owns its transaction, as the router calls it
        except DispatchError as exc:
            raise DemoDataRejected(f"demo data rejected: {what}: {exc.message}") from exc
        self._count(kind)

    def warehouse(self, warehouse_id: str, body: dict[str, Any]) -> None:
        """PUT /v1/warehouses/{warehouse_id}."""
        what = f"warehouse {warehouse_id}"
        data = self._checked(what, WarehouseIn, body, warehouse_id)
        warehouse = data.to_warehouse(warehouse_id)
        self._run(what, "warehouses", lambda: upsert_warehouse(self.container.uow, warehouse))

    def sku(self, sku: str, body: dict[str, Any]) -> None:
        """PUT /v1/skus/{sku}."""
        what = f"sku {sku}"
        data = self._checked(what, SkuIn, body, sku)
        item = data.to_sku(sku)
        self._run(what, "skus", lambda: upsert_sku(self.container.uow, item))

    def stocked(self, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (warehouse, sku) already have a stock level (GET .../stock/{sku} answers 200), in one read."""
        return stocked_pairs(self.container.uow, self.container.stock, keys)

    def stock(self, warehouse_id: str, sku: str, body: dict[str, Any]) -> None:
        """PUT /v1/warehouses/{warehouse_id}/stock/{sku}."""
        what = f"stock of {sku} at {warehouse_id}"
        data = self._checked(what, StockLevelIn, body)
        stock = self.container.stock
        self._run(
            what, "stock levels", lambda: set_stock_level(self.container.uow, stock, warehouse_id, sku, data.on_hand)
        )

    def slotted(self, warehouse_id: str, skus: list[str]) -> dict[str, str]:
        """The SKUs of a warehouse that already have a pick slot, with it (GET .../slots/{sku}), in one read."""
        return sku_slots(self.container.uow, warehouse_id, skus)

    def slot(self, warehouse_id: str, sku: str, body: dict[str, Any]) -> None:
        """PUT /v1/warehouses/{warehouse_id}/slots/{sku}."""
        what = f"slot of {sku} at {warehouse_id}"
        data = self._checked(what, SkuSlotIn, body)
        self._run(what, "slots", lambda: assign_sku_slot(self.container.uow, warehouse_id, sku, data.slot))

    def customer(self, customer_id: str, body: dict[str, Any]) -> None:
        """PUT /v1/customers/{customer_id}."""
        what = f"customer {customer_id}"
        data = self._checked(what, CustomerIn, body, customer_id)
        customer = data.to_customer(customer_id)
        self._run(what, "customers", lambda: upsert_customer(self.container.uow, customer))

    def carrier(self, carrier_id: str, body: dict[str, Any]) -> None:
        """PUT /v1/carriers/{carrier_id}."""
        what = f"carrier {carrier_id}"
        data = self._checked(what, CarrierIn, body, carrier_id)
        try:
            carrier = data.to_carrier(carrier_id)  # the coverage's GeoJSON is checked here, as for the API
        except DispatchError as exc:
            raise DemoDataRejected(f"demo data rejected: {what}: {exc.message}") from exc
        self._run(what, "carriers", lambda: upsert_carrier(self.container.uow, self.container.carriers, carrier))

    def positions(self, body: dict[str, Any]) -> None:
        """POST /v1/carriers/positions."""
        data = self._checked("positions", PositionsIn, body)
        fixes = data.to_fixes()
        self._run(
            "positions",
            "position batches",
            lambda: accept_positions(self.container.uow, self.container.carriers, fixes),
        )


def _offset(lat: float, lng: float, north_m: float, east_m: float) -> tuple[float, float]:
    """A point a few km away; a flat-earth offset is plenty for demo data."""
    return lat + north_m / 111_320.0, lng + east_m / (111_320.0 * math.cos(math.radians(lat)))


def _zone(rng: random.Random, lat: float, lng: float, radius_m: float) -> dict[str, Any]:
    """A star-shaped delivery zone of about ``radius_m`` around a point (GeoJSON, lng-lat, closed ring)."""
    ring = []
    for i in range(10):
        angle = 2 * math.pi * i / 10
        r = radius_m * rng.uniform(0.7, 1.0)
        plat, plng = _offset(lat, lng, r * math.cos(angle), r * math.sin(angle))
        ring.append([round(plng, 6), round(plat, 6)])
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def _delivery_zones(rng: random.Random) -> list[list[dict[str, Any]]]:
    """Per warehouse, a city zone (8-14 km) and a wide one (18-25 km) that its carriers deliver in.

    Carriers share zones as they do in life (the index builds one H3 cover per distinct polygon, which
    keeps start-up quick).
    """
    return [
        [_zone(rng, lat, lng, rng.uniform(8_000, 14_000)), _zone(rng, lat, lng, rng.uniform(18_000, 25_000))]
        for _, lat, lng in WAREHOUSES.values()
    ]


def _carrier_terms(rng: random.Random, vehicle: str) -> dict[str, Any]:
    """Price, punctuality and rating of one carrier: spread wide enough that they move its score."""
    rate, fare = TARIFFS[vehicle]
    return {
        "rate_per_km": f"{rate * rng.uniform(0.7, 1.5):.2f}",
        "base_fare": f"{fare * rng.uniform(0.5, 1.8):.2f}",
        "on_time_rate": round(rng.uniform(0.72, 0.99), 3),
        "rating": round(rng.uniform(3.2, 5.0), 1),
    }


def load_demo_data(container: Container) -> DemoSummary:
    """Load 3 warehouses, 50 SKUs with stock, 20 customers and 40 carriers with delivery zones and positions.

    Carriers are based near the warehouses (as in life: they wait where the freight is), so a match
    from a warehouse finds several of them within the default 3 km, at different prices, ratings and
    on-time rates.

    Only into an empty database: when any warehouse, SKU, customer, carrier or order is stored already,
    nothing is written and the summary says why (``skipped``).
    """
    present = {kind: n for kind, n in stored_resources(container.uow).items() if n}
    if present:
        held = ", ".join(f"{n} {kind}" for kind, n in present.items())
        return DemoSummary(skipped=f"the database is not empty ({held}); the demo loads only into an empty one")
    rng = random.Random(SEED)
    terms_rng = random.Random(SEED + 1)  # carriers' terms and zones draw from streams of their own
    zones = _delivery_zones(random.Random(SEED + 2))
    writer = DemoWriter(container)
    for warehouse_id, (name, lat, lng) in WAREHOUSES.items():
        writer.warehouse(warehouse_id, {"name": name, "location": {"lat": lat, "lng": lng}, "layout": DEMO_LAYOUT})
    skus = []
    for i in range(50):
        sku = f"SKU-{i + 1:04d}"
        skus.append(sku)
        product = PRODUCTS[i % len(PRODUCTS)]
        writer.sku(
            sku,
            {
                "name": f"{product} #{i // len(PRODUCTS) + 1}",
                "unit_price": f"{rng.uniform(3, 120):.2f}",
                "weight_kg": round(rng.uniform(0.2, 12.0), 2),
                "volume_m3": round(rng.uniform(0.001, 0.05), 4),
            },
        )
    stocked = writer.stocked([(warehouse_id, sku) for warehouse_id in WAREHOUSES for sku in skus])
    for warehouse_id in WAREHOUSES:
        slotted = writer.slotted(warehouse_id, skus)
        for index, sku in enumerate(skus):
            on_hand = rng.randint(0, 400)
            if (warehouse_id, sku) not in stocked:  # a restart keeps the counts orders have changed
                writer.stock(warehouse_id, sku, {"on_hand": on_hand})
            aisle, position = index % 10 + 1, index // 10 * 4 + 2
            slot = f"A{aisle:02d}-L-{position:03d}"
            if slotted.get(sku) != slot:  # a restart rewrites only what differs
                writer.slot(warehouse_id, sku, {"slot": slot})
    for i in range(20):
        lat, lng = _offset(*HANGZHOU, rng.uniform(-15_000, 15_000), rng.uniform(-15_000, 15_000))
        writer.customer(
            f"CUST-{i + 1:03d}",
            {
                "name": f"Store {i + 1:03d}",
                "credit_limit": f"{rng.choice([20_000, 50_000, 100_000])}.00",
                "location": {"lat": round(lat, 6), "lng": round(lng, 6)},
            },
        )
    positions = []
    now_s = time.time()
    for i, carrier_id in enumerate(DEMO_CARRIER_IDS):
        _, base_lat, base_lng = list(WAREHOUSES.values())[i % len(WAREHOUSES)]
        home_lat, home_lng = _offset(base_lat, base_lng, rng.uniform(-1_500, 1_500), rng.uniform(-1_500, 1_500))
        vehicle, capacity_kg, capacity_m3 = VEHICLES[i % len(VEHICLES)]
        writer.carrier(
            carrier_id,
            {
                "name": f"Carrier {i + 1:03d}",
                "vehicle_type": vehicle,
                "capacity_kg": capacity_kg,
                "capacity_m3": capacity_m3,
                "coverage": zones[i % len(WAREHOUSES)][i // len(WAREHOUSES) % 2],
                **_carrier_terms(terms_rng, vehicle),
            },
        )
        lat, lng = _offset(home_lat, home_lng, rng.uniform(-1_000, 1_000), rng.uniform(-1_000, 1_000))
        ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_s - rng.uniform(0, 120)))
        positions.append({"carrier_id": carrier_id, "lat": round(lat, 6), "lng": round(lng, 6), "ts": ts})
    writer.positions({"positions": positions})
    return writer.summary
