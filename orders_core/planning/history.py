"""The weekly demand history per SKU × region, read from the orders by one aggregate query.

The query sums the ordered quantity per SKU, week (Monday) and delivery point over the orders placed in
``[since, until)`` that were not cancelled: the database does the heavy part (one row per order line in,
one row per SKU × week × delivery point out). The H3 cell of each delivery point is then computed here,
once per distinct point, and the sums added up per cell: neither SQLite nor PostGIS without the h3-pg
extension can compute H3 in SQL. The week is the database's own: ``date(t, 'weekday 0', '-6 days')`` on
SQLite (times stored as UTC text), ``date_trunc('week', t AT TIME ZONE 'UTC')`` on PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import h3
from sqlalchemy import ColumnElement, Date, cast, func, select

from orders_core.orders.tables import OrderLineRow, OrderRow
from orders_core.unit_of_work import UnitOfWorkFactory

#: H3 resolution of a region (about 250 km² per cell); see the package docstring.
REGION_H3_RESOLUTION = 5


@dataclass(frozen=True)
class WeeklyDemand:
    """Units of one SKU ordered for delivery into one region in the week starting ``week`` (a Monday)."""

    sku: str
    region: str
    week: date
    qty: int


def region_of(lat: float, lng: float, resolution: int = REGION_H3_RESOLUTION) -> str:
    """The region of a delivery point: its H3 cell at ``resolution``."""
    return str(h3.latlng_to_cell(lat, lng, resolution))


def _week_of(created_at: Any, dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return func.date(created_at, "weekday 0", "-6 days")
    return cast(func.date_trunc("week", func.timezone("UTC", created_at)), Date)


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def weekly_sku_point_demand(
    new_uow: UnitOfWorkFactory, since: datetime, until: datetime, *, customer_id: str | None = None
) -> list[tuple[str, date, float, float, int]]:
    """``(sku, week, delivery_lat, delivery_lng, qty)`` summed over the orders placed in ``[since, until)``
    and not cancelled (only ``customer_id``'s when given): the one aggregate query."""
    with new_uow() as uow:
        dialect = uow.session.get_bind().dialect.name
        week = _week_of(OrderRow.created_at, dialect).label("week")
        query = (
            select(OrderLineRow.sku, week, OrderRow.delivery_lat, OrderRow.delivery_lng, func.sum(OrderLineRow.qty))
            .join(OrderRow, OrderRow.id == OrderLineRow.order_id)
            .where(OrderRow.created_at >= since, OrderRow.created_at < until, OrderRow.status != "cancelled")
            .group_by(OrderLineRow.sku, week, OrderRow.delivery_lat, OrderRow.delivery_lng)
        )
        if customer_id is not None:
            query = query.where(OrderRow.customer_id == customer_id)
        rows = uow.session.execute(query).all()
    return [(str(sku), _as_date(w), float(lat), float(lng), int(qty)) for sku, w, lat, lng, qty in rows]


def by_region(
    rows: Sequence[tuple[str, date, float, float, int]], resolution: int = REGION_H3_RESOLUTION
) -> list[WeeklyDemand]:
    """Delivery-point sums added up per SKU × region × week (region = H3 cell of the point)."""
    cells: dict[tuple[float, float], str] = {}
    totals: dict[tuple[str, str, date], int] = defaultdict(int)
    for sku, week, lat, lng, qty in rows:
        cell = cells.get((lat, lng))
        if cell is None:
            cell = cells[(lat, lng)] = region_of(lat, lng, resolution)
        totals[(sku, cell, week)] += qty
    return [WeeklyDemand(sku, region, week, qty) for (sku, region, week), qty in sorted(totals.items())]


def weekly_demand(
    new_uow: UnitOfWorkFactory, since: datetime, until: datetime, resolution: int = REGION_H3_RESOLUTION
) -> list[WeeklyDemand]:
    """The SKU × region × week demand of the orders placed in ``[since, until)`` (cancelled ones excluded)."""
    return by_region(weekly_sku_point_demand(new_uow, since, until), resolution)
