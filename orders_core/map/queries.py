"""The live map's reads, each one indexed query: a day's orders, carriers with their load, heat per H3 cell.

Lateness is decided in SQL with the rule of ``model.is_late``; a delivered order's delivery time is its
first ``delivered`` timeline entry, read through the timeline's (order_id, status, at) index. The heat
counts group the stored cell column of the resolution asked for (migration 0024), over the orders'
(created_at, cells...) index: the database counts, Python only receives one row per cell.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from orders_core.carriers.model import position_age
from orders_core.carriers.tables import CarrierRow
from orders_core.map.model import CarrierMapStatus, CarrierPoint, HeatCell, HeatKind, OrderPoint
from orders_core.master_data.tables import WarehouseRow
from orders_core.orders.tables import OrderRow, ShipmentRow, TimelineRow, heat_cell_column
from orders_core.unit_of_work import UnitOfWorkFactory

#: Shipment states in which a carrier is carrying or about to carry goods.
ACTIVE_SHIPMENT_STATES = ("assigned", "picked_up")
#: A carrier's newest fix as (lat, lng, ts_s), from the live index.
PositionLookup = Callable[[str], tuple[float, float, float] | None]


def _delivered_at() -> Any:
    """The first time an order reached ``delivered`` (a correlated MIN over the timeline index)."""
    return (
        select(func.min(TimelineRow.at))
        .where(TimelineRow.order_id == OrderRow.id, TimelineRow.status == "delivered")
        .scalar_subquery()
    )


def late_predicate(now: datetime) -> ColumnElement[bool]:
    """SQL form of ``model.is_late`` for ``orders`` rows."""
    return and_(
        OrderRow.promised_by.is_not(None),
        or_(
            and_(OrderRow.status == "delivered", _delivered_at() > OrderRow.promised_by),
            and_(OrderRow.status.not_in(["delivered", "cancelled"]), OrderRow.promised_by < now),
        ),
    )


def _shipped_from(warehouse_id: str) -> ColumnElement[bool]:
    return OrderRow.id.in_(select(ShipmentRow.order_id).where(ShipmentRow.warehouse_id == warehouse_id))


def orders_placed_between(
    new_uow: UnitOfWorkFactory,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    warehouse_id: str | None = None,
    limit: int,
) -> tuple[list[OrderPoint], int]:
    """Orders placed in ``[start, end)`` (newest first, at most ``limit``) with their late flag, and how many
    there are in all; ``warehouse_id``: only orders with a shipment from it."""
    conditions = [OrderRow.created_at >= start, OrderRow.created_at < end]
    if warehouse_id is not None:
        conditions.append(_shipped_from(warehouse_id))
    late = late_predicate(now).label("late")
    query = (
        select(
            OrderRow.id,
            OrderRow.customer_id,
            OrderRow.status,
            OrderRow.delivery_lat,
            OrderRow.delivery_lng,
            OrderRow.delivery_address,
            OrderRow.created_at,
            OrderRow.promised_by,
            late,
        )
        .where(*conditions)
        .order_by(OrderRow.created_at.desc(), OrderRow.id.desc())
        .limit(limit)
    )
    count = select(func.count()).select_from(OrderRow).where(*conditions)
    with new_uow() as uow:
        total = int(uow.session.execute(count).scalar_one())
        points = [
            OrderPoint(
                order_id=row.id,
                customer_id=row.customer_id,
                status=row.status,
                lat=row.delivery_lat,
                lng=row.delivery_lng,
                address=row.delivery_address,
                placed_at=row.created_at,
                promised_by=row.promised_by,
                late=bool(row.late),
            )
            for row in uow.session.execute(query)
        ]
    return points, total


def heat_query(
    kind: HeatKind, res: int, start: datetime, end: datetime, now: datetime, *, warehouse_id: str | None = None
) -> Select[*tuple[Any, ...]]:
    """The grouped count behind ``heat_cells`` (also EXPLAINed by ``dispatch bench ui --explain``)."""
    cell = heat_cell_column(res)
    conditions: list[ColumnElement[bool]] = [OrderRow.created_at >= start, OrderRow.created_at < end, cell.is_not(None)]
    if kind is HeatKind.LATE:
        conditions.append(late_predicate(now))
    if warehouse_id is not None:
        conditions.append(_shipped_from(warehouse_id))
    counted = func.count().label("n")
    return select(cell, counted).where(*conditions).group_by(cell).order_by(counted.desc(), cell)


def heat_cells(
    new_uow: UnitOfWorkFactory,
    kind: HeatKind,
    res: int,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    warehouse_id: str | None = None,
) -> list[HeatCell]:
    """Orders placed in ``[start, end)`` per H3 cell of their delivery point at ``res`` (``late``: only the
    late ones), hottest first; ``warehouse_id``: only orders with a shipment from it."""
    query = heat_query(kind, res, start, end, now, warehouse_id=warehouse_id)
    with new_uow() as uow:
        return [HeatCell(cell=int(row[0]), count=int(row[1])) for row in uow.session.execute(query)]


def carriers_on_map(
    new_uow: UnitOfWorkFactory,
    position_of: PositionLookup,
    max_position_age_s: float,
    *,
    warehouse_id: str | None = None,
    now_s: float | None = None,
) -> list[CarrierPoint]:
    """Every carrier (``warehouse_id``: those carrying a shipment from it) with its newest fix from the live
    index, the fix's age, its active shipments and a status for the map's legend."""
    # The few active shipments through the (status, warehouse_id) index, counted here: grouping in SQL lets
    # SQLite's planner walk every shipment by carrier_id instead (checked with EXPLAIN QUERY PLAN).
    loads = select(ShipmentRow.carrier_id).where(ShipmentRow.status.in_(ACTIVE_SHIPMENT_STATES))
    if warehouse_id is not None:
        loads = loads.where(ShipmentRow.warehouse_id == warehouse_id)
    columns = (CarrierRow.id, CarrierRow.name, CarrierRow.vehicle_type, CarrierRow.active)
    carriers = select(*columns).order_by(CarrierRow.id)
    with new_uow() as uow:
        active_shipments = Counter(c for c in uow.session.scalars(loads) if c is not None)
        rows = uow.session.execute(carriers).all()
    points = []
    for row in rows:
        if warehouse_id is not None and row.id not in active_shipments:
            continue
        points.append(
            _carrier_point(row, position_of(row.id), active_shipments.get(row.id, 0), max_position_age_s, now_s)
        )
    return points


def _carrier_point(
    row: Any, position: tuple[float, float, float] | None, shipments: int, max_age_s: float, now_s: float | None
) -> CarrierPoint:
    age = None if position is None else position_age(position[2], max_age_s, now_s)
    if not row.active:
        status = CarrierMapStatus.INACTIVE
    elif age is None:
        status = CarrierMapStatus.NO_POSITION
    elif age.stale:
        status = CarrierMapStatus.STALE
    else:
        status = CarrierMapStatus.BUSY if shipments else CarrierMapStatus.IDLE
    return CarrierPoint(
        carrier_id=row.id,
        name=row.name,
        vehicle_type=row.vehicle_type,
        status=status,
        lat=None if position is None else position[0],
        lng=None if position is None else position[1],
        fixed_at=None if age is None else age.fixed_at,
        age_s=None if age is None else age.age_s,
        active_shipments=shipments,
    )


def basemap_features(new_uow: UnitOfWorkFactory, *, warehouse_id: str | None = None) -> list[dict[str, Any]]:
    """The vector basemap as GeoJSON features: warehouses (points) and carrier coverage areas (polygons);
    ``warehouse_id``: that warehouse alone, and no coverage of carriers it does not use."""
    from shapely.geometry import mapping

    warehouses = select(WarehouseRow.id, WarehouseRow.name, WarehouseRow.lat, WarehouseRow.lng).order_by(
        WarehouseRow.id
    )
    coverages = select(CarrierRow.id, CarrierRow.name, CarrierRow.coverage).where(
        CarrierRow.coverage.is_not(None), CarrierRow.active.is_(True)
    )
    if warehouse_id is not None:
        warehouses = warehouses.where(WarehouseRow.id == warehouse_id)
        used = select(ShipmentRow.carrier_id).where(
            ShipmentRow.warehouse_id == warehouse_id, ShipmentRow.status.in_(ACTIVE_SHIPMENT_STATES)
        )
        coverages = coverages.where(CarrierRow.id.in_(used))
    features: list[dict[str, Any]] = []
    with new_uow() as uow:
        for row in uow.session.execute(warehouses):
            features.append(
                {
                    "type": "Feature",
                    "id": f"warehouse:{row.id}",
                    "geometry": {"type": "Point", "coordinates": [row.lng, row.lat]},
                    "properties": {"layer": "warehouse", "id": row.id, "name": row.name},
                }
            )
        for row in uow.session.execute(coverages.order_by(CarrierRow.id)):
            features.append(
                {
                    "type": "Feature",
                    "id": f"coverage:{row.id}",
                    "geometry": mapping(row.coverage),
                    "properties": {"layer": "coverage", "id": row.id, "name": row.name},
                }
            )
    return features
