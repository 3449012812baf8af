"""Seeded exceptions with known attributes for the root-cause Pareto tests (API and browser), and an
independent count of them in plain Python (never the service's SQL).

``seed(database_url)`` writes master data, orders with lines and shipments, and exceptions (some outside the
period) straight into the tables, deterministic from a seed; ``expected_counts`` counts the same records
from the Python structures that were written.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shapely.geometry import Point

from infra.db import make_engine, make_session_factory
from orders_core.master_data.tables import CustomerRow, SkuRow, WarehouseRow
from orders_core.orders.tables import ExceptionRow, OrderLineRow, ShipmentRow, TimelineRow
from tests.order_rows import order_row

START = datetime(2026, 3, 1, tzinfo=UTC)
END = datetime(2026, 3, 8, tzinfo=UTC)
PERIOD = {"from": "2026-03-01T08:00:00+08:00", "to": "2026-03-08T08:00:00+08:00"}
WAREHOUSES = ("W1", "W2", "W3")
CUSTOMERS = ("C1", "C2", "C3", "C4")
SKUS = ("S1", "S2", "S3", "S4", "S5")
CARRIERS = ("K1", "K2", None)
#: Skewed on purpose, so that the Pareto's order is not an accident of ties.
CAUSES = ("supplier_lead_time",) * 6 + ("address",) * 4 + ("price_rule",) * 3 + ("credit", "carrier_late")


@dataclass(frozen=True)
class SeededOrder:
    id: str
    customer: str
    skus: frozenset[str]
    #: (warehouse, carrier) per shipment.
    shipments: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class SeededException:
    id: str
    order: SeededOrder
    root_cause: str
    created_at: datetime

    @property
    def in_period(self) -> bool:
        return START <= self.created_at < END


def _orders(rng: random.Random, count: int) -> list[SeededOrder]:
    orders = []
    for i in range(count):
        warehouses = rng.sample(WAREHOUSES, rng.choice([0, 1, 1, 1, 2]))
        orders.append(
            SeededOrder(
                id=f"ord_seed{i:04d}",
                customer=rng.choice(CUSTOMERS),
                skus=frozenset(rng.sample(SKUS, rng.randint(1, 3))),
                shipments=tuple((w, rng.choice(CARRIERS)) for w in warehouses),
            )
        )
    return orders


#: The main line after placement with the (min, max) minutes each step takes in the seed's timelines.
STEPS = (
    ("credit_review", 1, 5),
    ("stock_locked", 1, 30),
    ("allocated", 1, 60),
    ("picking", 30, 600),
    ("loaded", 20, 300),
    ("in_transit", 10, 240),
    ("delivered", 30, 900),
)


def seed(
    database_url: str, *, orders: int = 60, random_seed: int = 10, timelines: bool = False
) -> list[SeededException]:
    """Write the seeded records (with ``timelines``: a main-line timeline per order, stopping at a random node,
    for the stage timings); answers every exception written (in and out of the period)."""
    rng = random.Random(random_seed)
    seeded_orders = _orders(rng, orders)
    exceptions = []
    for order in seeded_orders:
        for n in range(rng.choice([0, 1, 1, 2])):
            # Mostly inside the week; some a day before it or exactly at its end (excluded).
            offset = rng.choice([timedelta(hours=rng.randint(0, 167))] * 5 + [timedelta(days=-1), END - START])
            exceptions.append(SeededException(f"exc_{order.id}_{n}", order, rng.choice(CAUSES), START + offset))
    now = START - timedelta(days=2)
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        for w in WAREHOUSES:
            session.add(
                WarehouseRow(
                    id=w, name=w, lat=31.2, lng=121.5, location=Point(121.5, 31.2), created_at=now, updated_at=now
                )
            )
        for c in CUSTOMERS:
            session.add(
                CustomerRow(
                    id=c,
                    name=f"Customer {c}",
                    credit_limit=Decimal("100000"),
                    overdue_amount=Decimal("0"),
                    prepaid=False,
                    created_at=now,
                    updated_at=now,
                )
            )
        for s in SKUS:
            session.add(
                SkuRow(
                    sku=s,
                    name=s,
                    unit_price=Decimal("1"),
                    weight_kg=1.0,
                    volume_m3=0.01,
                    created_at=now,
                    updated_at=now,
                )
            )
        session.flush()
        for i, order in enumerate(seeded_orders):
            placed = now + timedelta(hours=2 * i)  # spread over days, for the trend
            session.add(
                order_row(order.id, order.customer, placed, status="allocated" if order.shipments else "on_hold")
            )
        session.flush()
        for order in seeded_orders:
            for line_no, sku in enumerate(sorted(order.skus), start=1):
                session.add(
                    OrderLineRow(
                        order_id=order.id,
                        line_no=line_no,
                        sku=sku,
                        qty=1,
                        unit_price=Decimal("1"),
                        catalogue_price=Decimal("1"),
                    )
                )
            for n, (warehouse, carrier) in enumerate(order.shipments):
                session.add(
                    ShipmentRow(
                        id=f"shp_{order.id}_{n}",
                        order_id=order.id,
                        warehouse_id=warehouse,
                        carrier_id=carrier,
                        created_at=now,
                    )
                )
        if timelines:
            for i, order in enumerate(seeded_orders):
                at = now + timedelta(hours=2 * i)
                session.add(TimelineRow(order_id=order.id, status="placed", at=at, actor="seed"))
                for status, low, high in STEPS[: rng.randint(2, len(STEPS))]:
                    at += timedelta(minutes=rng.randint(low, high))
                    session.add(TimelineRow(order_id=order.id, status=status, at=at, actor="seed"))
        for e in exceptions:
            session.add(
                ExceptionRow(
                    id=e.id,
                    order_id=e.order.id,
                    kind="seeded",
                    root_cause=e.root_cause,
                    status="open",
                    message="seeded",
                    details={},
                    created_at=e.created_at,
                )
            )
        session.commit()
    engine.dispose()
    return exceptions


def keys_of(exception: SeededException, by: str, scope: str | None = None) -> set[str | None]:
    """The bars one exception counts under (``scope``: a warehouse token's warehouse)."""
    order = exception.order
    shipments = [s for s in order.shipments if scope is None or s[0] == scope]
    if by == "cause":
        return {exception.root_cause}
    if by == "customer":
        return {order.customer}
    if by == "sku":
        return set(order.skus)
    if by == "warehouse":
        return {w for w, _ in shipments} or {None}
    return {c for _, c in shipments} or {None}


def expected_counts(
    exceptions: list[SeededException], by: str, *, cause: str | None = None, scope: str | None = None
) -> dict[str | None, tuple[int, int]]:
    """key -> (exceptions, distinct orders) of the period's exceptions, counted here from the seed."""
    found: dict[str | None, set[str]] = defaultdict(set)
    orders: dict[str | None, set[str]] = defaultdict(set)
    for e in exceptions:
        if not e.in_period or (cause is not None and e.root_cause != cause):
            continue
        if scope is not None and scope not in {w for w, _ in e.order.shipments}:
            continue
        for key in keys_of(e, by, scope):
            found[key].add(e.id)
            orders[key].add(e.order.id)
    return {key: (len(ids), len(orders[key])) for key, ids in found.items()}


def expected_orders(
    exceptions: list[SeededException], by: str, key: str | None, *, cause: str | None = None, scope: str | None = None
) -> set[str]:
    """The orders behind one bar, from the seed."""
    return {
        e.order.id
        for e in exceptions
        if e.in_period
        and (cause is None or e.root_cause == cause)
        and (scope is None or scope in {w for w, _ in e.order.shipments})
        and key in keys_of(e, by, scope)
    }
