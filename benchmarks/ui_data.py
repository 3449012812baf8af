"""Realistic history for the UI benchmark, written in bulk straight into the database (not through the API).

A regional distributor in East China: warehouses around Hangzhou, Shanghai, Suzhou and Ningbo, SKUs with
stock, store customers in those cities, carriers with coverage areas and recent positions, and ``orders``
orders placed over the last ``DAYS`` days whose timelines walk the main line (placed ... delivered) with
plausible step times; some wait on an exception (price, credit, shortage, no carrier, failed delivery,
far address) that a person resolved or that is still open, some are cancelled, some are late. Every row is
what the pipeline would have written (H3 cells of the delivery point included); the seed fixes it all.

Rows go in with one multi-row ``executemany`` per table and chunk (SQLAlchemy Core), ``COPY``-free so that
both backends take the same path; on PostgreSQL the tables are then ``VACUUM ANALYZE``d, as autovacuum
would do after such a load.
"""

from __future__ import annotations

import math
import random
import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from shapely.geometry import Point, Polygon
from sqlalchemy import Engine, Table, insert, text

from orders_core.carriers.tables import CarrierPositionRow, CarrierRow
from orders_core.master_data.tables import CustomerRow, SkuRow, WarehouseRow
from orders_core.orders.milestones import furthest_node
from orders_core.orders.root_causes import root_cause_of_kind
from orders_core.orders.stage_durations import rebuild_stage_durations
from orders_core.orders.tables import (
    ExceptionRow,
    OrderLineRow,
    OrderRow,
    ShipmentLineRow,
    ShipmentRow,
    TimelineRow,
    delivery_cell_columns,
)
from orders_core.stock.tables import StockLevelRow

#: Orders are spread over this many days before now.
DAYS = 90
#: Rows per executemany.
CHUNK = 5_000
SKUS = 300
CUSTOMERS = 1_500
CARRIERS = 200
LEAD_TIME = timedelta(hours=24)
#: Warehouses: id, name, lat, lng (East China).
WAREHOUSES: tuple[tuple[str, str, float, float], ...] = (
    ("WH-XIAOSHAN", "Hangzhou Xiaoshan", 30.18, 120.27),
    ("WH-YUHANG", "Hangzhou Yuhang", 30.42, 120.30),
    ("WH-JIADING", "Shanghai Jiading", 31.38, 121.25),
    ("WH-SUZHOU", "Suzhou Industrial Park", 31.32, 120.72),
    ("WH-NINGBO", "Ningbo Beilun", 29.90, 121.84),
)
#: Store districts: centre lat, lng, spread (degrees), share of customers.
CITIES: tuple[tuple[float, float, float, float], ...] = (
    (30.27, 120.16, 0.12, 0.35),  # Hangzhou
    (31.23, 121.47, 0.15, 0.35),  # Shanghai
    (31.30, 120.60, 0.10, 0.15),  # Suzhou
    (29.87, 121.55, 0.10, 0.15),  # Ningbo
)
#: Exception kinds with their share among orders that had one, and the node the order was held before.
EXCEPTIONS: tuple[tuple[str, float, str], ...] = (
    ("stock_shortage", 0.41, "stock_locked"),
    ("address_far_from_customer", 0.28, "placed"),
    ("price_conflict", 0.19, "placed"),
    ("credit_limit_exceeded", 0.06, "credit_review"),
    ("no_carrier_in_range", 0.04, "allocated"),
    ("delivery_failed", 0.02, "in_transit"),
)
MAIN_LINE = ("placed", "credit_review", "stock_locked", "allocated", "picking", "loaded", "in_transit", "delivered")
#: Typical seconds of each step (log-normal around these medians).
STEP_MEDIAN_S = {
    "credit_review": 20,
    "stock_locked": 40,
    "allocated": 90,
    "picking": 3_600,
    "loaded": 3_000,
    "in_transit": 1_800,
    "delivered": 5_400,
}


@dataclass
class Generated:
    """What was written: rows per table, the ids a benchmark asks for, and how long it took."""

    rows: dict[str, int] = field(default_factory=dict)
    order_ids: list[str] = field(default_factory=list)
    tracking_tokens: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def _write(engine: Engine, table: Table, rows: Sequence[dict[str, Any]], counts: dict[str, int]) -> None:
    keys = {key for row in rows for key in row}  # one statement for all rows: absent values are NULL
    with engine.begin() as connection:
        for chunk in _chunks(rows):
            connection.execute(insert(table), [{key: row.get(key) for key in keys} for row in chunk])
    counts[table.name] = counts.get(table.name, 0) + len(rows)


def _square(lat: float, lng: float, half_deg: float) -> Polygon:
    return Polygon(
        [
            (lng - half_deg, lat - half_deg),
            (lng + half_deg, lat - half_deg),
            (lng + half_deg, lat + half_deg),
            (lng - half_deg, lat + half_deg),
        ]
    )


def _master_data(rng: random.Random, now: datetime) -> dict[str, list[dict[str, Any]]]:
    warehouses = [
        {"id": w, "name": name, "lat": lat, "lng": lng, "location": Point(lng, lat), "layout": None}
        for w, name, lat, lng in WAREHOUSES
    ]
    skus = [
        {
            "sku": f"SKU-{n:04d}",
            "name": f"Item {n}",
            "unit_price": Decimal(rng.randint(200, 20_000)) / 100,
            "weight_kg": round(rng.uniform(0.2, 12.0), 2),
            "volume_m3": round(rng.uniform(0.001, 0.05), 4),
        }
        for n in range(SKUS)
    ]
    customers = []
    weights = [c[3] for c in CITIES]
    for n in range(CUSTOMERS):
        lat0, lng0, spread, _ = rng.choices(CITIES, weights)[0]
        customers.append(
            {
                "id": f"CUST-{n:05d}",
                "name": f"Store {n}",
                "credit_limit": Decimal(rng.choice((20_000, 50_000, 100_000, 500_000))),
                "overdue_amount": Decimal(0),
                "prepaid": False,
                "lat": lat0 + rng.gauss(0, spread / 2),
                "lng": lng0 + rng.gauss(0, spread / 2),
            }
        )
    stock = [
        {"warehouse_id": w[0], "sku": s["sku"], "on_hand": rng.randint(500, 5_000), "reserved": 0}
        for w in WAREHOUSES
        for s in skus
    ]
    carriers, positions = [], []
    # Delivery zones: two per warehouse, each carrier serves one (the demo's fleet is organised the same way).
    zones = [
        _square(w[2] + dlat, w[3] + dlng, 0.15) for w in WAREHOUSES for dlat, dlng in ((0.08, -0.08), (-0.08, 0.08))
    ]
    for n in range(CARRIERS):
        w = WAREHOUSES[n % len(WAREHOUSES)]
        zone = zones[(n % len(WAREHOUSES)) * 2 + (n // len(WAREHOUSES)) % 2]
        base_lat, base_lng = w[2] + rng.gauss(0, 0.05), w[3] + rng.gauss(0, 0.05)
        carriers.append(
            {
                "id": f"CAR-{n:04d}",
                "name": f"Fleet {n}",
                "vehicle_type": ("van", "light_truck", "truck")[n % 3],
                "capacity_kg": (800.0, 2_000.0, 8_000.0)[n % 3],
                "capacity_m3": (6.0, 15.0, 40.0)[n % 3],
                "coverage": zone,
                "active": rng.random() > 0.03,
                "rate_per_km": Decimal("2.50"),
                "base_fare": Decimal("30.00"),
                "on_time_rate": round(rng.uniform(0.8, 0.99), 3),
                "rating": round(rng.uniform(3.5, 5.0), 2),
            }
        )
        positions.append(
            {
                "carrier_id": f"CAR-{n:04d}",
                "lat": base_lat + rng.gauss(0, 0.05),
                "lng": base_lng + rng.gauss(0, 0.05),
                "ts_s": now.timestamp() - rng.uniform(5, 1_500),  # a few older than the 900 s match limit
            }
        )
    stamped = {"created_at": now, "updated_at": now}
    return {
        "warehouses": [{**r, **stamped} for r in warehouses],
        "skus": [{**r, **stamped} for r in skus],
        "customers": [{**r, **stamped} for r in customers],
        "stock_levels": [{**r, "updated_at": now} for r in stock],
        "carriers": [{**r, **stamped} for r in carriers],
        "carrier_positions": positions,
    }


def _step_s(rng: random.Random, status: str) -> float:
    return STEP_MEDIAN_S[status] * math.exp(rng.gauss(0, 0.5))


def _nearest_warehouse(lat: float, lng: float) -> str:
    return min(WAREHOUSES, key=lambda w: (w[2] - lat) ** 2 + ((w[3] - lng) * 0.87) ** 2)[0]


def generate(engine: Engine, orders: int, *, seed: int = 10, now: datetime | None = None) -> Generated:
    """Write the master data and ``orders`` orders with their lines, timelines, exceptions and shipments."""
    started = time.perf_counter()
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    result = Generated()
    master = _master_data(rng, now)
    for table, key in (
        (WarehouseRow.__table__, "warehouses"),
        (SkuRow.__table__, "skus"),
        (CustomerRow.__table__, "customers"),
        (StockLevelRow.__table__, "stock_levels"),
        (CarrierRow.__table__, "carriers"),
        (CarrierPositionRow.__table__, "carrier_positions"),
    ):
        _write(engine, table, master[key], result.rows)  # type: ignore[arg-type]
    skus = master["skus"]
    customers = master["customers"]
    carrier_ids = [c["id"] for c in master["carriers"]]
    kinds = [e[0] for e in EXCEPTIONS]
    kind_weights = [e[1] for e in EXCEPTIONS]
    held_before = {e[0]: e[2] for e in EXCEPTIONS}
    order_rows: list[dict[str, Any]] = []
    line_rows: list[dict[str, Any]] = []
    timeline_rows: list[dict[str, Any]] = []
    exception_rows: list[dict[str, Any]] = []
    shipment_rows: list[dict[str, Any]] = []
    shipment_line_rows: list[dict[str, Any]] = []
    for n in range(orders):
        placed = now - timedelta(seconds=rng.uniform(0, DAYS * 86_400))
        customer = rng.choice(customers)
        lat = customer["lat"] + rng.gauss(0, 0.004)
        lng = customer["lng"] + rng.gauss(0, 0.004)
        order_id = f"ord_{n:08d}{secrets.token_hex(4)}"
        token = secrets.token_urlsafe(24)
        chosen = rng.sample(skus, k=rng.randint(1, 4))
        lines = [
            {"order_id": order_id, "line_no": i + 1, "sku": s["sku"], "qty": rng.randint(1, 24)}
            for i, s in enumerate(chosen)
        ]
        total = Decimal(0)
        for line, sku in zip(lines, chosen, strict=True):
            line["unit_price"] = line["catalogue_price"] = sku["unit_price"]
            total += sku["unit_price"] * line["qty"]
        exception = rng.choices(kinds, kind_weights)[0] if rng.random() < 0.07 else None
        slow = rng.random() < 0.12  # the warehouse or the carrier runs late: delivery misses the promise
        cancelled = rng.random() < 0.02
        # Walk the main line until now.
        at = placed
        reached: list[tuple[str, datetime, str | None, str | None]] = [("placed", placed, None, None)]
        status = "placed"
        held_from: str | None = None
        open_exception = False
        for step in MAIN_LINE[1:]:
            if exception is not None and held_before[exception] == status:
                hold_at = at + timedelta(seconds=rng.uniform(5, 120))
                decided = hold_at + timedelta(seconds=rng.uniform(600, 6 * 3_600))
                exception_row: dict[str, Any] = {
                    "id": f"exc_{n:08d}{secrets.token_hex(3)}",
                    "order_id": order_id,
                    "kind": exception,
                    "root_cause": root_cause_of_kind(exception).value,
                    "message": exception.replace("_", " "),
                    "details": {},
                    "created_at": hold_at,
                }
                if hold_at > now:
                    break
                reached.append(("on_hold", hold_at, exception, f"held: {exception.replace('_', ' ')}"))
                if decided > now:
                    status, held_from, open_exception = "on_hold", status, True
                    exception_rows.append({**exception_row, "status": "open"})
                    break
                exception_rows.append(
                    {**exception_row, "status": "approved", "resolved_at": decided, "resolved_by": "dispatcher:desk"}
                )
                reached.append((status, decided, None, "released after approval"))
                at = decided
            delay = _step_s(rng, step)
            if slow and step in ("picking", "delivered"):
                delay += rng.uniform(6, 20) * 3_600
            nxt = at + timedelta(seconds=delay)
            if nxt > now:
                break
            if cancelled and step == "picking":
                reached.append(("cancelled", nxt, "customer_request", "cancelled by the customer"))
                status = "cancelled"
                break
            code = "carrier_late" if slow and step == "delivered" else None
            reached.append((step, nxt, code, None))
            status, at = step, nxt
        warehouse = _nearest_warehouse(lat, lng)
        firsts: dict[str, datetime] = {}
        for node, when, *_ in reached:
            if node in MAIN_LINE:
                firsts.setdefault(f"first_{node}_at", when)  # what the timeline writer keeps (milestones)
        furthest = furthest_node(firsts)
        order_rows.append(
            {
                "id": order_id,
                "customer_id": customer["id"],
                "status": status,
                "held_from": held_from,
                "price_ok": exception != "price_conflict" or not open_exception,
                "credit_ok": exception != "credit_limit_exceeded" or not open_exception,
                "total": total,
                "payment_status": "not_required",
                "delivery_lat": lat,
                "delivery_lng": lng,
                "delivery_address": f"{rng.randint(1, 999)} Store Road, district {rng.randint(1, 40)}",
                "delivery_location": Point(lng, lat),
                **delivery_cell_columns(lat, lng),
                "promised_by": placed + LEAD_TIME,
                "created_at": placed,
                "updated_at": reached[-1][1],
                "tracking_token": token,
                "furthest_node": furthest,
                **firsts,
            }
        )
        line_rows.extend(lines)
        for node, when, code, reason in reached:
            timeline_rows.append(
                {
                    "order_id": order_id,
                    "status": node,
                    "at": when,
                    "actor": "system" if reason is None else "dispatcher:desk",
                    "reason_code": code,
                    "reason": reason,
                    "expected_next_at": None,
                }
            )
        nodes = {node for node, *_ in reached}
        if "allocated" in nodes:
            allocated_at = next(when for node, when, *_ in reached if node == "allocated")
            shipment_status = (
                "delivered"
                if status == "delivered"
                else "picked_up"
                if status == "in_transit"
                else "cancelled"
                if status == "cancelled"
                else "assigned"
                if "picking" in nodes
                else "ready"
            )
            carrier = rng.choice(carrier_ids) if shipment_status != "ready" else None
            shipment_id = f"shp_{n:08d}{secrets.token_hex(4)}"
            shipment_rows.append(
                {
                    "id": shipment_id,
                    "order_id": order_id,
                    "warehouse_id": warehouse,
                    "created_at": allocated_at,
                    "status": shipment_status,
                    "carrier_id": carrier,
                    "weight_kg": round(sum(line["qty"] * 1.0 for line in lines), 1),
                    "volume_m3": 0.02 * len(lines),
                    "pieces": len(lines),
                    "assignment_mode": "auto" if carrier else None,
                    "assigned_by": "system" if carrier else None,
                    "assigned_at": allocated_at if carrier else None,
                    "assign_attempts": 0,
                    "updated_at": reached[-1][1],
                }
            )
            shipment_line_rows.extend(
                {"shipment_id": shipment_id, "sku": line["sku"], "qty": line["qty"]} for line in lines
            )
        result.order_ids.append(order_id)
        result.tracking_tokens.append(token)
    for table, rows in (
        (OrderRow.__table__, order_rows),
        (OrderLineRow.__table__, line_rows),
        (TimelineRow.__table__, timeline_rows),
        (ExceptionRow.__table__, exception_rows),
        (ShipmentRow.__table__, shipment_rows),
        (ShipmentLineRow.__table__, shipment_line_rows),
    ):
        _write(engine, table, rows, result.rows)  # type: ignore[arg-type]
    with engine.begin() as connection:  # the stage-timing counts the pipeline keeps as it goes
        rebuild_stage_durations(connection)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    result.seconds = time.perf_counter() - started
    return result
