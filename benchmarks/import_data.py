"""A year of ERP orders, generated realistically with a fixed seed, as the files the example profiles read:
the customer master and item master (GB18030 CSV) and the order export (GB18030 CSV, Chinese headers, one
row per order line, consecutive rows of one order).

Realism that matters to an import: customers order with a skewed frequency (a few big accounts, a long
tail), SKUs with a Zipf-like popularity, 1-8 lines per order (mostly 1-3), quantities in pieces or in
cases, weekly (quiet Sundays) and yearly seasonality (Spring Festival dip, the November "Double 11"
peak, a December build-up), and GCJ-02 coordinates near each customer's registered location.
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from geo.crs import wgs84_to_gcj02

ORDER_HEADER = [
    "订单编号",
    "客户编码",
    "下单时间",
    "订单状态",
    "收货地址",
    "收货人",
    "联系电话",
    "纬度",
    "经度",
    "货到付款",
    "要求送达日期",
    "签收时间",
    "优先级",
    "发货仓库",
    "商品编码",
    "数量",
    "单位",
    "单价",
]
CITIES = (
    ("上海", 31.2304, 121.4737, "上海仓"),
    ("北京", 39.9042, 116.4074, "北京仓"),
    ("杭州", 30.2741, 120.1551, "上海仓"),
    ("南京", 32.0603, 118.7969, "上海仓"),
    ("天津", 39.3434, 117.3616, "北京仓"),
    ("苏州", 31.2989, 120.5853, "上海仓"),
)
PRODUCTS = ("矿泉水", "大米", "食用油", "酱油", "绿茶", "纸巾", "洗衣液", "牛奶", "面粉", "饼干")
WAREHOUSES = {"WH-SH": (31.2304, 121.4737), "WH-BJ": (39.9042, 116.4074)}
STATUSES = (("已签收", 0.93), ("已取消", 0.03), ("运输中", 0.02), ("已下单", 0.02))


@dataclass(frozen=True)
class GeneratedYear:
    """Where the generated files are and what they hold."""

    customers_csv: Path
    skus_csv: Path
    orders_csv: Path
    orders: int
    lines: int
    customers: int
    skus: int


def _day_weights(year: int) -> list[float]:
    """Relative order volume of each day of ``year``: weekly shape times a yearly curve."""
    weekday = (1.05, 1.1, 1.1, 1.05, 1.15, 0.8, 0.45)  # Monday..Sunday
    weights = []
    day = date(year, 1, 1)
    while day.year == year:
        doy = day.timetuple().tm_yday
        yearly = 1.0 + 0.15 * math.sin(2 * math.pi * (doy - 100) / 365)
        if 25 <= doy <= 45:  # Spring Festival
            yearly *= 0.45
        if day.month == 11 and 1 <= day.day <= 11:  # Double 11 build-up
            yearly *= 1.6
        if day.month == 12:
            yearly *= 1.25
        weights.append(weekday[day.weekday()] * yearly)
        day += timedelta(days=1)
    return weights


def generate_year(folder: Path, *, orders: int = 426_000, seed: int = 13, year: int = 2025) -> GeneratedYear:
    """Write the three files into ``folder`` (deterministic for a given seed); answers their description."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    n_customers = max(20, min(5000, orders // 85))
    n_skus = max(20, min(2000, orders // 850))
    customers = []
    for index in range(n_customers):
        city, lat, lng, warehouse = CITIES[index % len(CITIES)]
        lat += rng.uniform(-0.15, 0.15)
        lng += rng.uniform(-0.15, 0.15)
        customers.append((f"C{index + 1:05d}", f"{city}客户{index + 1}", lat, lng, city, warehouse))
    customer_weights = [1.0 / (rank + 1) ** 0.8 for rank in range(n_customers)]
    skus = []
    for index in range(n_skus):
        price = round(rng.lognormvariate(3.0, 0.9), 2) + 0.5
        pack = rng.choice((6, 10, 12, 20, 24))
        skus.append((f"SKU-{index + 1:05d}", f"{PRODUCTS[index % len(PRODUCTS)]}{index + 1}", price, pack))
    sku_weights = [1.0 / (rank + 1) ** 1.05 for rank in range(n_skus)]
    paths = GeneratedYear(
        folder / "customers.csv", folder / "skus.csv", folder / "orders.csv", orders, 0, n_customers, n_skus
    )
    with paths.customers_csv.open("w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["客户编码", "客户名称", "信用额度", "纬度", "经度", "电话", "预付款客户"])
        for code, name, lat, lng, _, _ in customers:
            gcj = wgs84_to_gcj02(lat, lng)
            writer.writerow(
                [
                    code,
                    name,
                    f"{rng.randrange(50, 5000) * 1000:,}.00",
                    f"{gcj[0]:.6f}",
                    f"{gcj[1]:.6f}",
                    f"1380000{rng.randrange(10000):04d}",
                    "否",
                ]
            )
    with paths.skus_csv.open("w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["商品编码", "商品名称", "单价", "单件重量kg", "单件体积m3", "箱规"])
        for code, name, price, pack in skus:
            writer.writerow(
                [code, name, f"{price:,.2f}", f"{rng.uniform(0.2, 8):.2f}", f"{rng.uniform(0.0005, 0.01):.4f}", pack]
            )
    weights = _day_weights(year)
    total_weight = sum(weights)
    per_day = [int(orders * w / total_weight) for w in weights]
    for index in range(orders - sum(per_day)):
        per_day[index % len(per_day)] += 1
    statuses = [status for status, _ in STATUSES]
    status_weights = [weight for _, weight in STATUSES]
    number = 0
    lines_written = 0
    customer_picks = rng.choices(range(n_customers), weights=customer_weights, k=orders)
    with paths.orders_csv.open("w", encoding="gb18030", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(ORDER_HEADER)
        start = datetime(year, 1, 1, tzinfo=UTC)
        for day_index, count in enumerate(per_day):
            day = start + timedelta(days=day_index)
            seconds = sorted(rng.randrange(7 * 3600, 22 * 3600) for _ in range(count))
            for second in seconds:
                code, _, lat, lng, city, warehouse = customers[customer_picks[number]]
                number += 1
                placed = day + timedelta(seconds=second)
                status = rng.choices(statuses, weights=status_weights)[0]
                delivered = placed + timedelta(hours=rng.randrange(18, 72)) if status == "已签收" else None
                gcj = wgs84_to_gcj02(lat + rng.uniform(-0.01, 0.01), lng + rng.uniform(-0.01, 0.01))
                n_lines = min(8, 1 + int(rng.expovariate(0.7)))
                picked = {rng.choices(range(n_skus), weights=sku_weights)[0] for _ in range(n_lines)}
                head = [
                    f"SO{year}{number:07d}",
                    code,
                    placed.strftime("%Y-%m-%d %H:%M:%S"),
                    status,
                    f"{city}市某区某路{rng.randrange(1, 999)}号",
                    f"收货人{rng.randrange(1000)}",
                    f"139{rng.randrange(10**8):08d}",
                    f"{gcj[0]:.6f}",
                    f"{gcj[1]:.6f}",
                    "是" if rng.random() < 0.1 else "否",
                    (placed + timedelta(days=3)).strftime("%Y-%m-%d"),
                    delivered.strftime("%Y-%m-%d %H:%M:%S") if delivered else "",
                    "加急" if rng.random() < 0.05 else "普通",
                    warehouse,
                ]
                for sku_index in sorted(picked):
                    sku, _, price, pack = skus[sku_index]
                    if rng.random() < 0.2:
                        writer.writerow([*head, sku, rng.randrange(1, 5), "箱", f"{price * pack:,.2f}"])
                    else:
                        writer.writerow([*head, sku, 1 + int(rng.expovariate(0.15)), "件", f"{price:,.2f}"])
                    lines_written += 1
    return GeneratedYear(
        paths.customers_csv, paths.skus_csv, paths.orders_csv, orders, lines_written, n_customers, n_skus
    )
