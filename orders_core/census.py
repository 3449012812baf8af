"""How many of each resource the store holds: the demo loader's "is this database empty?" question and the
orders-by-status gauge of ``/metrics``."""

from __future__ import annotations

from sqlalchemy import func, select

from orders_core.carriers.tables import CarrierRow
from orders_core.master_data.tables import CustomerRow, SkuRow, WarehouseRow
from orders_core.orders.model import OrderStatus
from orders_core.orders.tables import OrderRow
from orders_core.unit_of_work import UnitOfWorkFactory

_COUNTED = {
    "warehouses": WarehouseRow,
    "skus": SkuRow,
    "customers": CustomerRow,
    "carriers": CarrierRow,
    "orders": OrderRow,
}


def stored_resources(new_uow: UnitOfWorkFactory) -> dict[str, int]:
    """Rows per resource kind (warehouses, skus, customers, carriers, orders), in one read-only transaction."""
    with new_uow() as uow:
        return {
            kind: int(uow.session.scalar(select(func.count()).select_from(table)) or 0)
            for kind, table in _COUNTED.items()
        }


def orders_by_status(new_uow: UnitOfWorkFactory) -> dict[str, int]:
    """How many orders are in each status now (every status of the contract, 0 included), in one query."""
    with new_uow() as uow:
        rows = uow.session.execute(select(OrderRow.status, func.count()).group_by(OrderRow.status)).all()
    counts = {status.value: 0 for status in OrderStatus}
    counts.update({str(status): int(n) for status, n in rows})
    return counts
