"""An order history for the forecast use case's tests, written as rows: 80 weeks of a generated SKU × region
demand turned into orders, two warehouses with stock, and the weekly sums a test expects (computed here
from what was written, not by the query under test)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from shapely.geometry import Point
from sqlalchemy.orm import Session

from forecasting.history import HistorySpec, weekly_history
from orders_core.master_data.tables import CustomerRow, SkuRow, WarehouseRow
from orders_core.orders.tables import OrderLineRow
from orders_core.stock.tables import StockLevelRow
from tests.order_rows import order_row

START = date(2024, 1, 1)  # a Monday
WEEKS = 80
#: Two delivery points in one H3 res-5 cell in Shanghai, one point in Hangzhou.
SHANGHAI = "8530995bfffffff"
HANGZHOU = "85309a57fffffff"
POINTS = {"A1": (31.2304, 121.4737), "A2": (31.2310, 121.4745), "B": (30.2741, 120.1551)}
CELL = {"A1": SHANGHAI, "A2": SHANGHAI, "B": HANGZHOU}
WAREHOUSES = {"W-SH": (31.10, 121.40), "W-HZ": (30.30, 120.10)}
#: The Monday after the history's last week + 2 days: the run's "now".
NOW = datetime.combine(START + timedelta(weeks=WEEKS, days=2), time(9), tzinfo=UTC)


@dataclass
class WrittenHistory:
    """What was written: expected units per (sku, region, Monday) and per (customer, sku, region, Monday)."""

    weekly: dict[tuple[str, str, date], int] = field(default_factory=lambda: defaultdict(int))
    by_customer: dict[tuple[str, str, str, date], int] = field(default_factory=lambda: defaultdict(int))
    skus: list[str] = field(default_factory=list)


def write_history(session: Session, weeks: int = WEEKS) -> WrittenHistory:
    """Master data, stock and ``weeks`` weeks of orders; commits. Region R01 of the generator is Shanghai
    (customer C1 on even weeks at point A1, C2 on odd weeks at A2, C2's orders late on Sunday), R02 Hangzhou
    (customer C3). A cancelled order of 999 units must not count."""
    generated = weekly_history(HistorySpec(skus=3, regions=2, weeks=weeks, seed=28, start=START))
    written = WrittenHistory(skus=sorted(generated["sku"].unique()))
    now = datetime(2023, 12, 1, tzinfo=UTC)
    for sku in written.skus:
        session.add(
            SkuRow(
                sku=sku,
                name=sku,
                unit_price=Decimal("2.00"),
                weight_kg=1.0,
                volume_m3=0.01,
                created_at=now,
                updated_at=now,
            )
        )
    for customer in ("C1", "C2", "C3"):
        session.add(
            CustomerRow(
                id=customer,
                name=customer,
                credit_limit=Decimal("1000000"),
                overdue_amount=Decimal("0"),
                prepaid=False,
                created_at=now,
                updated_at=now,
            )
        )
    for warehouse, (lat, lng) in WAREHOUSES.items():
        session.add(
            WarehouseRow(
                id=warehouse, name=warehouse, lat=lat, lng=lng, location=Point(lng, lat), created_at=now, updated_at=now
            )
        )
    session.flush()
    for n, sku in enumerate(written.skus):
        session.add(StockLevelRow(warehouse_id="W-SH", sku=sku, on_hand=40 * n, reserved=0))
        session.add(StockLevelRow(warehouse_id="W-HZ", sku=sku, on_hand=5, reserved=0))
    count = 0
    for row in generated.itertuples(index=False):
        qty = int(row.y)
        if qty <= 0:
            continue
        week = row.ds.date()
        index = (week - START).days // 7
        if row.region == "R01":
            customer, point = ("C1", "A1") if index % 2 == 0 else ("C2", "A2")
        else:
            customer, point = "C3", "B"
        placed = (
            datetime.combine(week + timedelta(days=6), time(23, 30), tzinfo=UTC)  # Sunday night: still this week
            if customer == "C2"
            else datetime.combine(week + timedelta(days=2), time(10), tzinfo=UTC)
        )
        count += 1
        _order(session, f"O{count:05d}", customer, point, placed, row.sku, qty, "delivered")
        written.weekly[(row.sku, CELL[point], week)] += qty
        written.by_customer[(customer, row.sku, CELL[point], week)] += qty
    _order(
        session,
        "CANCELLED",
        "C1",
        "A1",
        datetime.combine(START + timedelta(days=3), time(8), tzinfo=UTC),
        written.skus[0],
        999,
        "cancelled",
    )
    session.commit()
    return written


def _order(
    session: Session, order_id: str, customer: str, point: str, placed: datetime, sku: str, qty: int, status: str
) -> None:
    lat, lng = POINTS[point]
    session.add(order_row(order_id, customer, placed, status=status, total=Decimal(2 * qty), lat=lat, lng=lng))
    session.flush()
    session.add(
        OrderLineRow(
            order_id=order_id, line_no=1, sku=sku, qty=qty, unit_price=Decimal("2.00"), catalogue_price=Decimal("2.00")
        )
    )
