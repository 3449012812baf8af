"""Reading exceptions by root cause for the Pareto chart and its drill-down, in SQL, through indexes.

The population is the exceptions **opened** in ``[start, end)`` (optionally of one root cause). Each is
attributed through its order (docs/ROOT_CAUSES.md, "Pareto"):

* ``cause``: its stored ``root_cause``; ``customer``: the order's customer;
* ``warehouse`` / ``carrier``: the warehouses its order ships from / the carriers of those shipments; an order
  with no shipment (or no carrier yet) counts under None;
* ``sku``: the SKUs of its order's lines.

An order shipping from two warehouses (or with three SKUs) counts its exception under each of them, once
per value (``COUNT(DISTINCT)``), so the bars of those dimensions may add up to more than the exceptions.

Indexes (migration 0019): ``order_exceptions (created_at, root_cause, order_id)`` and ``(root_cause,
created_at, order_id)`` pick the period (and cause) and carry the order id; ``shipments (order_id,
warehouse_id, carrier_id)`` and ``order_lines (order_id, sku)`` answer the joins from the index alone; the
orders' primary key gives the customer. Nothing is read per order in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Exists, Select, and_, exists, func, select
from sqlalchemy.orm import aliased

from infra.pagination import Page, PageRequest, keyset_page
from orders_core.orders.model import OrderView
from orders_core.orders.repository import OrderRepository
from orders_core.orders.tables import ExceptionRow, OrderLineRow, OrderRow, ShipmentRow
from orders_core.unit_of_work import UnitOfWorkFactory


class Dimension(StrEnum):
    """What the Pareto's bars are."""

    CAUSE = "cause"
    WAREHOUSE = "warehouse"
    CUSTOMER = "customer"
    SKU = "sku"
    CARRIER = "carrier"


@dataclass(frozen=True)
class CauseFilter:
    """Which exceptions count: opened in ``[start, end)``, of ``cause`` (None: any), and seen by a token
    scoped to ``scope_warehouse`` (None: unscoped; else only orders shipping from it, and only that
    warehouse's shipments in the warehouse and carrier dimensions)."""

    start: datetime
    end: datetime
    cause: str | None = None
    scope_warehouse: str | None = None


@dataclass(frozen=True)
class DrillDown:
    """The drill-down's selectors: each None means any; ``""`` for warehouse or carrier means none (orders
    without a shipment, or whose shipments have no carrier), as the Pareto's None bar."""

    warehouse: str | None = None
    customer: str | None = None
    sku: str | None = None
    carrier: str | None = None


#: The shipments a probe looks at (an alias: the Pareto's own join to shipments stays apart from it).
_PROBED = aliased(ShipmentRow)


def _probe(*clauses: ColumnElement[bool]) -> Exists:
    """EXISTS over ``clauses``, correlated to the exception only (an index probe per exception)."""
    return exists().where(*clauses).correlate(ExceptionRow)


def _ships_from(warehouse_id: str) -> ColumnElement[bool]:
    """The exception's order has a shipment from ``warehouse_id`` (a probe of the (order_id, warehouse_id,
    carrier_id) index per exception, not a list of every order the warehouse ever shipped)."""
    return _probe(_PROBED.order_id == ExceptionRow.order_id, _PROBED.warehouse_id == warehouse_id)


def _exceptions(where: CauseFilter) -> list[ColumnElement[bool]]:
    clauses = [ExceptionRow.created_at >= where.start, ExceptionRow.created_at < where.end]
    if where.cause is not None:
        clauses.append(ExceptionRow.root_cause == where.cause)
    if where.scope_warehouse is not None:
        clauses.append(_ships_from(where.scope_warehouse))
    return clauses


def _shipment_join(where: CauseFilter) -> ColumnElement[bool]:
    on = ShipmentRow.order_id == ExceptionRow.order_id
    if where.scope_warehouse is not None:
        on = and_(on, ShipmentRow.warehouse_id == where.scope_warehouse)
    return on


def _grouped(dimension: Dimension, where: CauseFilter) -> Select[Any]:
    # One row per exception for cause and customer (COUNT(*)); the other joins may repeat it (DISTINCT).
    once = dimension in (Dimension.CAUSE, Dimension.CUSTOMER)
    counted = (
        func.count() if once else func.count(ExceptionRow.id.distinct()),
        func.count(ExceptionRow.order_id.distinct()),
    )
    if dimension is Dimension.CAUSE:
        key: Any = ExceptionRow.root_cause
        query = select(key, *counted)
    elif dimension is Dimension.CUSTOMER:
        key = OrderRow.customer_id
        query = select(key, *counted).join(OrderRow, OrderRow.id == ExceptionRow.order_id)
    elif dimension is Dimension.SKU:
        key = OrderLineRow.sku
        query = select(key, *counted).join(OrderLineRow, OrderLineRow.order_id == ExceptionRow.order_id)
    else:
        key = ShipmentRow.warehouse_id if dimension is Dimension.WAREHOUSE else ShipmentRow.carrier_id
        query = select(key, *counted).outerjoin(ShipmentRow, _shipment_join(where))
    return query.select_from(ExceptionRow).where(*_exceptions(where)).group_by(key)


def root_cause_counts(
    new_uow: UnitOfWorkFactory, dimension: Dimension, where: CauseFilter
) -> tuple[int, dict[str | None, tuple[int, int]]]:
    """(exceptions in the population, ``key -> (exceptions, distinct orders)`` along ``dimension``)."""
    total = select(func.count()).select_from(ExceptionRow).where(*_exceptions(where))
    with new_uow() as uow:
        population = int(uow.session.execute(total).scalar_one())
        counts = {row[0]: (int(row[1]), int(row[2])) for row in uow.session.execute(_grouped(dimension, where))}
    return population, counts


def _matching_exceptions(where: CauseFilter, drill: DrillDown) -> Select[Any]:
    """Order ids of the population's exceptions that match every selector of ``drill`` (each an index probe
    per exception of the period)."""
    query = select(ExceptionRow.order_id).where(*_exceptions(where))
    if drill.customer is not None:
        query = query.where(_probe(OrderRow.id == ExceptionRow.order_id, OrderRow.customer_id == drill.customer))
    if drill.sku is not None:
        query = query.where(_probe(OrderLineRow.order_id == ExceptionRow.order_id, OrderLineRow.sku == drill.sku))
    in_scope: list[ColumnElement[bool]] = [_PROBED.order_id == ExceptionRow.order_id]
    if where.scope_warehouse is not None:
        in_scope.append(_PROBED.warehouse_id == where.scope_warehouse)
    if drill.warehouse:
        query = query.where(_probe(*in_scope, _PROBED.warehouse_id == drill.warehouse))
    elif drill.warehouse == "":  # no shipment (in scope) at all
        query = query.where(~_probe(*in_scope))
    if drill.carrier:
        query = query.where(_probe(*in_scope, _PROBED.carrier_id == drill.carrier))
    elif drill.carrier == "":  # a shipment (in scope) without a carrier, or no shipment at all
        query = query.where(_probe(*in_scope, _PROBED.carrier_id.is_(None)) | ~_probe(*in_scope))
    return query


def orders_query(where: CauseFilter, drill: DrillDown) -> Select[Any]:
    """The orders behind a bar, unordered (the caller pages it by creation time). A join to the distinct
    matching ids rather than ``id IN (...)``: PostgreSQL then starts from the few matches and sorts them,
    instead of walking every order in creation order to fill a page."""
    matching = _matching_exceptions(where, drill).distinct().subquery("matching")
    return select(OrderRow).join(matching, matching.c.order_id == OrderRow.id)


def root_cause_orders(
    new_uow: UnitOfWorkFactory, request: PageRequest, where: CauseFilter, drill: DrillDown
) -> Page[OrderView]:
    """The orders behind a Pareto bar (or a combination of selectors), by creation time, one page."""
    with new_uow() as uow:
        rows, next_cursor = keyset_page(
            uow.session, orders_query(where, drill), (OrderRow.created_at, OrderRow.id), request
        )
        return Page(OrderRepository(uow.session)._views(rows), next_cursor)
