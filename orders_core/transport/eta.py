"""Carrier ETAs per order, read for the order's progress (``orders_core.orders.progress``): the earliest
pickup still ahead and the latest arrival at the drop-off among shipments still on their way."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from orders_core.orders.lifecycle import OrderNotFound
from orders_core.orders.model import OrderView
from orders_core.orders.progress import CarrierEtas
from orders_core.orders.repository import OrderRepository
from orders_core.orders.tables import ShipmentRow
from orders_core.transport.tracking_tables import ShipmentTrackingRow
from orders_core.unit_of_work import UnitOfWorkFactory

#: Shipments whose goods have not reached the customer yet and may still (``failed``: a re-attempt).
_ON_THE_WAY = frozenset({"assigned", "picked_up", "failed"})


def etas_of(session: Session, order_ids: Collection[str]) -> dict[str, CarrierEtas]:
    """Order id -> its carriers' ETAs (orders without any known ETA are left out)."""
    if not order_ids:
        return {}
    rows = session.execute(
        select(
            ShipmentRow.order_id,
            ShipmentRow.status,
            ShipmentTrackingRow.pickup_eta_at,
            ShipmentTrackingRow.eta_at,
            ShipmentTrackingRow.returned,
        )
        .join(ShipmentTrackingRow, ShipmentTrackingRow.shipment_id == ShipmentRow.id)
        .where(ShipmentRow.order_id.in_(sorted(order_ids)))
    )
    pickups: dict[str, list] = {}
    dropoffs: dict[str, list] = {}
    for order_id, status, pickup_eta, eta, returned in rows:
        if status not in _ON_THE_WAY or returned:
            continue
        if status == "assigned" and pickup_eta is not None:
            pickups.setdefault(order_id, []).append(pickup_eta)
        if eta is not None:
            dropoffs.setdefault(order_id, []).append(eta)
    return {
        order_id: CarrierEtas(
            pickup_at=min(pickups[order_id]) if order_id in pickups else None,
            dropoff_at=max(dropoffs[order_id]) if order_id in dropoffs else None,
        )
        for order_id in set(pickups) | set(dropoffs)
    }


def carrier_etas(new_uow: UnitOfWorkFactory, order_ids: Collection[str]) -> dict[str, CarrierEtas]:
    """``etas_of`` in its own read-only transaction."""
    with new_uow() as uow:
        return etas_of(uow.session, order_ids)


def order_with_etas(
    new_uow: UnitOfWorkFactory, order_id: str, *, customer_id: str | None = None
) -> tuple[OrderView, CarrierEtas]:
    """One order and its carriers' ETAs read together; OrderNotFound (404) when absent (or, with
    ``customer_id``, another customer's)."""
    with new_uow() as uow:
        view = OrderRepository(uow.session).view(order_id)
        if view is None or (customer_id is not None and customer_id != view.customer_id):
            raise OrderNotFound(f"no order {order_id!r}")
        return view, etas_of(uow.session, [order_id]).get(order_id, CarrierEtas())
