"""A realistic other-system order export with known, planted differences (tests, demos, the closing report).

``generate_orders`` makes our side: a period of orders around Hangzhou with lines, statuses, promises and
delivery times, from a fixed seed. ``plant_differences`` copies them into the other system's records and
plants differences, each listed in a :class:`Planted` (what the reconciliation must find) with nothing else
changed beyond tolerance, plus changes inside the tolerances (which it must not report). ``rough_export_rows`` then
roughens the raw rows of the written export the way real exports are rough, all of which the profile and the
field rules absorb: padded cells, full-width digits in addresses. Encoding, Chinese headers and status words,
Beijing time, GCJ-02 coordinates, thousands separators and alias codes come from writing through the profile.

The planted list is built here, by the planting itself; the test compares the reconciliation's findings with
it, never with the engine's own output.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from orders_core.integration.export_writer import ExportMapping
from orders_core.integration.failed_file import write_source_file
from orders_core.integration.profile import Profile
from orders_core.integration.profile_records import ITEMS

STREETS = ("文三路", "天目山路", "莫干山路", "延安路", "解放路", "庆春路", "凤起路", "江南大道", "滨盛路", "学院路")
DISTRICTS = ("西湖区", "拱墅区", "上城区", "滨江区", "余杭区")
NAMES = ("王芳", "李娜", "张伟", "刘洋", "陈静", "杨磊", "赵敏", "黄勇")
WAREHOUSES = ("WH-SH", "WH-BJ", "WH-HZ")
STATUSES = (
    "placed",
    "allocated",
    "picking",
    "loaded",
    "in_transit",
    "delivered",
    "delivered",
    "delivered",
    "cancelled",
)
PRIORITIES = ("normal", "normal", "normal", "high", "urgent", "low")
#: The default relative money tolerance (order_reconcile.DEFAULT_ORDER_RULES): plants stay well clear of it.
MONEY_REL_TOL = Decimal("0.0001")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass(frozen=True)
class Planted:
    """One difference planted on purpose: the reconciliation must report exactly these (key, cause, field, side)."""

    key: str
    cause: str
    field: str
    side: str
    what: str

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """What a found difference is matched on."""
        return (self.key, self.cause, self.field, self.side)


def generate_orders(seed: int, count: int, start: datetime) -> list[dict[str, Any]]:
    """``count`` canonical orders (with ``items``) placed over the week after ``start`` (UTC), reproducibly."""
    rng = random.Random(seed)
    orders = []
    for number in range(1, count + 1):
        placed = start + timedelta(seconds=rng.randrange(7 * 86400))
        status = rng.choice(STATUSES)
        skus = rng.sample(range(1, 31), rng.choice((1, 1, 2, 2, 3, 4)))
        items = [
            {
                "sku": f"SKU-{sku:04d}",
                "qty": rng.choice((1, 2, 3, 5, 6, 10, 12, 24, 48)),
                "unit_price": Decimal(rng.randrange(150, 250000)) / 100,
            }
            for sku in skus
        ]
        promised = (placed + timedelta(days=rng.choice((1, 2, 3)))).replace(minute=0, second=0, microsecond=0)
        orders.append(
            {
                "order_no": f"SO2026{number:06d}",
                "customer_id": f"C{rng.randrange(1, 21):04d}",
                "placed_at": placed.replace(microsecond=0),
                "status": status,
                "delivery_lat": round(30.20 + rng.random() * 0.15, 6),
                "delivery_lng": round(120.05 + rng.random() * 0.25, 6),
                "delivery_address": f"杭州市{rng.choice(DISTRICTS)}{rng.choice(STREETS)}{rng.randrange(1, 400)}号",
                "contact_name": rng.choice(NAMES),
                "contact_phone": f"13{rng.randrange(100000000, 999999999)}",
                "cash_on_delivery": rng.random() < 0.2,
                "promised_by": promised,
                "delivered_at": (placed + timedelta(hours=rng.randrange(6, 60))).replace(microsecond=0)
                if status == "delivered"
                else None,
                "priority": rng.choice(PRIORITIES),
                "warehouse_id": rng.choice(WAREHOUSES),
                ITEMS: items,
            }
        )
    return orders


def _value(order: dict[str, Any]) -> Decimal:
    """An order's value: the sum of its lines."""
    return sum((item["qty"] * item["unit_price"] for item in order[ITEMS]), Decimal(0))


def _copy(order: dict[str, Any]) -> dict[str, Any]:
    return {**order, ITEMS: [dict(item) for item in order.get(ITEMS) or []]}


def plant_differences(
    ours: list[dict[str, Any]], seed: int, *, duplicate_on_ours: bool = True
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Planted]]:
    """Their records and the planted list; ``ours`` is answered too (a duplicate may be planted on it).

    Every plant takes orders of its own (never two plants on one order), so each planted entry is the only
    difference of its kind on that key. ``duplicate_on_ours=False`` when ours come from a database whose keys
    are unique.
    """
    rng = random.Random(seed)
    ours = [_copy(order) for order in ours]
    theirs = [_copy(order) for order in ours]
    by_key = {order["order_no"]: order for order in theirs}
    free = [order["order_no"] for order in ours]
    rng.shuffle(free)
    planted: list[Planted] = []

    def take(predicate: Any = None) -> dict[str, Any]:
        for index, key in enumerate(free):
            if predicate is None or predicate(by_key[key]):
                free.pop(index)
                return by_key[key]
        raise ValueError("not enough orders to plant every difference; generate more")

    def plant(order: dict[str, Any], cause: str, field: str, what: str, side: str = "both") -> None:
        planted.append(Planted(order["order_no"], cause, field, side, what))

    # Beyond tolerance, one field each (money: well beyond the default 0.01 % of the order's value).
    order = take(lambda o: o[ITEMS][0]["qty"] * Decimal("1.00") > 2 * MONEY_REL_TOL * _value(o))
    order[ITEMS][0]["unit_price"] += Decimal("1.00")
    plant(order, "value_differs", "total", "a line's price 1.00 higher")
    order = take(lambda o: o[ITEMS][0]["unit_price"] > 2 * MONEY_REL_TOL * _value(o))
    order[ITEMS][0]["qty"] += 1
    plant(order, "value_differs", "units", "one more unit on a line")
    plant(order, "value_differs", "total", "one more unit on a line")
    order = take()
    order["placed_at"] += timedelta(minutes=10)
    plant(order, "value_differs", "placed_at", "placed 10 minutes later")
    order = take()
    order["status"] = "cancelled" if order["status"] != "cancelled" else "placed"
    plant(order, "value_differs", "status", "another status there")
    if any(by_key[key]["delivered_at"] is not None for key in free):
        order = take(lambda o: o["delivered_at"] is not None)
        order["delivered_at"] += timedelta(hours=2)
        plant(order, "value_differs", "delivered_at", "delivered two hours later there")
    order = take()
    order["customer_id"] = "C0021" if order["customer_id"] != "C0021" else "C0022"
    plant(order, "value_differs", "customer_id", "another customer")
    order = take()
    order["delivery_address"] = order["delivery_address"].replace("号", "弄7号")
    plant(order, "value_differs", "delivery_address", "another address")
    order = take()
    order["delivery_lat"] = round(order["delivery_lat"] + 0.005, 6)  # ~555 m north
    plant(order, "value_differs", "delivery_lat", "delivery point 555 m north")
    order = take(
        lambda o: (
            len(o[ITEMS]) >= 2 and o[ITEMS][-1]["qty"] * o[ITEMS][-1]["unit_price"] > 2 * MONEY_REL_TOL * _value(o)
        )
    )
    order[ITEMS].pop()
    for field in ("lines", "units", "total"):
        plant(order, "value_differs", field, "a line missing there")
    order = take(lambda o: o["promised_by"] is not None)
    order["promised_by"] = None
    plant(order, "value_differs", "promised_by", "no promised date there")
    order = take()
    order["warehouse_id"] = next(w for w in WAREHOUSES if w != order["warehouse_id"])
    plant(order, "value_differs", "warehouse_id", "shipped from another warehouse")

    # Inside tolerance: must not be reported.
    take()["placed_at"] += timedelta(seconds=20)
    order = take(lambda o: o[ITEMS][0]["qty"] <= 100)
    order[ITEMS][0]["unit_price"] += Decimal("0.0001")  # total moves by <= 0.01
    take()["delivery_lng"] += 0.00002  # ~2 m
    if any(by_key[key]["delivered_at"] is not None for key in free):
        order = take(lambda o: o["delivered_at"] is not None)
        order["delivered_at"] += timedelta(minutes=4)

    # Missing records, both ways.
    for _ in range(3):
        order = take()
        theirs.remove(order)
        plant(order, "missing_on_theirs", "", "not in their export", side="ours")
    for number in range(2):
        extra = _copy(ours[number])
        extra["order_no"] = f"SO2099{number:06d}"
        theirs.append(extra)
        planted.append(Planted(extra["order_no"], "missing_on_ours", "", "theirs", "only in their export"))

    # Duplicate keys: never paired by position.
    order = take()
    theirs.append(_copy(order))  # at the end of the file: not consecutive, so a record of its own
    plant(order, "duplicate_key", "", "exported twice", side="theirs")
    if duplicate_on_ours:
        key = take()["order_no"]
        ours.append(_copy(next(o for o in ours if o["order_no"] == key)))
        planted.append(Planted(key, "duplicate_key", "", "ours", "twice in ours"))

    # Values their file will hold in an unreadable form (written raw by add_noise).
    unparsable_time = take()
    unparsable_time["_raw"] = {"placed_at": "2026-02-30 25:61:00"}
    plant(unparsable_time, "unparsable", "placed_at", "an impossible time", side="theirs")
    unparsable_qty = take(lambda o: len(o[ITEMS]) == 1)
    unparsable_qty["_raw"] = {"qty": "三箱半"}
    plant(unparsable_qty, "unparsable", "units", "a quantity in words", side="theirs")
    plant(unparsable_qty, "unparsable", "total", "a quantity in words", side="theirs")
    return ours, theirs, planted


def rough_export_rows(profile: Profile, theirs: Iterable[dict[str, Any]], seed: int) -> Iterator[dict[str, Any]]:
    """Their records as the profile's raw rows, made rough as real exports are without changing any value.

    Pads text cells with spaces, writes some address digits full-width, and puts the planted unreadable
    values (a record's ``_raw``: field -> text) in their cells (in every line of the record for line fields).
    """
    rng = random.Random(seed)
    mapping = ExportMapping(profile)
    columns = {spec.name: spec.column for spec in profile.fields if spec.column is not None}
    line_level = {spec.name for spec in profile.line_fields}
    nested_lines = ".".join(profile.source.lines_path) if profile.source.format in ("json", "jsonl") else ""
    for record in theirs:
        for row in mapping.rows(record):
            for field, text in (record.get("_raw") or {}).items():
                if field not in columns:
                    continue
                if nested_lines and field in line_level:
                    for item in row.get(nested_lines.split(".")[0]) or []:
                        item[columns[field]] = text
                else:
                    row[columns[field]] = text
            for column, value in list(row.items()):
                if isinstance(value, str) and value and rng.random() < 0.15:
                    row[column] = f" {value}  "
            address = columns.get("delivery_address")
            if address in row and isinstance(row[address], str) and rng.random() < 0.3:
                row[address] = row[address].translate(FULL_WIDTH)
            yield row


def write_planted_export(profile: Profile, theirs: list[dict[str, Any]], path: str | Path, seed: int) -> int:
    """Write their records as the profile's file (encoding, headers, formats), roughened; answers the rows."""
    header = ExportMapping(profile).header()
    return write_source_file(profile, path, header, rough_export_rows(profile, theirs, seed))


def period_of(orders: list[dict[str, Any]]) -> tuple[datetime, datetime]:
    """The smallest ``[from, to)`` holding every order's placement (whole seconds, UTC)."""
    times = [order["placed_at"].astimezone(UTC) for order in orders]
    return min(times), max(times) + timedelta(seconds=1)
