"""What to match for an order or a shipment: pickup, drop-off, weight and volume the service already knows.

``POST /v1/match`` and ``/v1/match/batch`` may name an ``order_id`` or a ``shipment_id`` instead of
coordinates and loads. The job is derived as shipment assignment derives it (the contract's Transport
section): a shipment is picked up at its warehouse, dropped at its order's delivery point, and weighs what
its lines weigh (SKU master data). An order is matched through its shipment when it has exactly one (not
cancelled); with several, the caller must name one (422 ``ambiguous_order``, naming them). Before
allocation an order has no shipment: the pickup is then the warehouse nearest the delivery point that
can supply every line from available stock (as allocation would prefer), else the nearest holding any
of the lines; the load is the whole order. Nothing is written.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from foundation.errors import Conflict, InvalidInput
from geo.distance import haversine_m
from orders_core.master_data.repository import MasterDataRepository
from orders_core.orders.lifecycle import OrderNotFound
from orders_core.orders.model import OrderView
from orders_core.orders.repository import OrderRepository
from orders_core.transport.model import ShipmentNotFound, ShipmentStatus
from orders_core.transport.repository import TransportRepository
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory

PickupSource = Literal["shipment", "nearest_stocking_warehouse"]


class AmbiguousOrder(InvalidInput):
    """The order ships from several warehouses: a match needs one of its shipments."""

    code = "ambiguous_order"


class NoPickupKnown(Conflict):
    """The order has no shipment and no warehouse holds any of its lines."""

    code = "no_pickup_known"


class StockAvailability(Protocol):
    """The part of the stock service a pickup choice reads."""

    def available_by_warehouse(self, uow: UnitOfWork, skus: Collection[str]) -> dict[str, dict[str, int]]: ...


@dataclass(frozen=True)
class JobRef:
    """A match request's reference: an order, a shipment, or both (then the shipment must be the order's)."""

    order_id: str | None = None
    shipment_id: str | None = None


@dataclass(frozen=True)
class MatchJob:
    """A derived job: where to pick up and drop off, what it weighs, and where those came from."""

    order_id: str
    shipment_id: str | None
    warehouse_id: str
    pickup_source: PickupSource
    pickup_lat: float
    pickup_lng: float
    dropoff_lat: float
    dropoff_lng: float
    weight_kg: float
    volume_m3: float


def _order(uow: UnitOfWork, order_id: str) -> OrderView:
    view = OrderRepository(uow.session).view(order_id)
    if view is None:
        raise OrderNotFound(f"no order {order_id!r}")
    return view


def _shipment_job(uow: UnitOfWork, view: OrderView, shipment_id: str, warehouse_id: str) -> MatchJob:
    repository = TransportRepository(uow.session)
    load = repository.load_of(repository.shipment_lines([shipment_id])[shipment_id])
    warehouse = MasterDataRepository(uow.session).get_warehouse(warehouse_id)
    assert warehouse is not None  # shipments reference existing warehouses
    return MatchJob(
        order_id=view.id,
        shipment_id=shipment_id,
        warehouse_id=warehouse_id,
        pickup_source="shipment",
        pickup_lat=warehouse.lat,
        pickup_lng=warehouse.lng,
        dropoff_lat=view.delivery.lat,
        dropoff_lng=view.delivery.lng,
        weight_kg=round(load.weight_kg, 6),
        volume_m3=round(load.volume_m3, 6),
    )


def _unallocated_job(uow: UnitOfWork, stock: StockAvailability, view: OrderView) -> MatchJob:
    demand: dict[str, int] = {}
    for line in view.lines:
        demand[line.sku] = demand.get(line.sku, 0) + line.qty
    available = stock.available_by_warehouse(uow, sorted(demand))
    sites = MasterDataRepository(uow.session).warehouse_sites()

    def distance(warehouse_id: str) -> tuple[float, str]:
        lat, lng = sites[warehouse_id]
        return haversine_m(lat, lng, view.delivery.lat, view.delivery.lng), warehouse_id

    known = [w for w in sites if w in available]
    full = [w for w in known if all(available[w].get(sku, 0) >= qty for sku, qty in demand.items())]
    some = [w for w in known if any(available[w].get(sku, 0) > 0 for sku in demand)]
    candidates = full or some
    if not candidates:
        raise NoPickupKnown(
            f"order {view.id} has no shipment yet and no warehouse has any of its SKUs"
            f" ({', '.join(sorted(demand))}) available: give pickup explicitly"
        )
    warehouse_id = min(candidates, key=distance)
    load = TransportRepository(uow.session).load_of(sorted(demand.items()))
    lat, lng = sites[warehouse_id]
    return MatchJob(
        order_id=view.id,
        shipment_id=None,
        warehouse_id=warehouse_id,
        pickup_source="nearest_stocking_warehouse",
        pickup_lat=lat,
        pickup_lng=lng,
        dropoff_lat=view.delivery.lat,
        dropoff_lng=view.delivery.lng,
        weight_kg=round(load.weight_kg, 6),
        volume_m3=round(load.volume_m3, 6),
    )


def match_job(uow: UnitOfWork, stock: StockAvailability, ref: JobRef) -> MatchJob:
    """The job ``ref`` names (see the module docstring), read in ``uow``."""
    if ref.shipment_id is not None:
        shipment = TransportRepository(uow.session).shipment_row(ref.shipment_id)
        if shipment is None:
            raise ShipmentNotFound(f"no shipment {ref.shipment_id!r}")
        if ref.order_id is not None and ref.order_id != shipment.order_id:
            raise InvalidInput(f"shipment {shipment.id} belongs to order {shipment.order_id}, not {ref.order_id}")
        return _shipment_job(uow, _order(uow, shipment.order_id), shipment.id, shipment.warehouse_id)
    if ref.order_id is None:
        raise InvalidInput("name an order_id or a shipment_id")
    view = _order(uow, ref.order_id)
    shipments = [s for s in view.shipments if s.status != ShipmentStatus.CANCELLED.value]
    if len(shipments) > 1:
        raise AmbiguousOrder(
            f"order {view.id} ships from {len(shipments)} warehouses: match one of its shipments by shipment_id"
            f" ({', '.join(f'{s.id} from {s.warehouse_id}' for s in shipments)})",
            details={"shipment_ids": [s.id for s in shipments]},
        )
    if shipments:
        return _shipment_job(uow, view, shipments[0].id, shipments[0].warehouse_id)
    return _unallocated_job(uow, stock, view)


def match_jobs(new_uow: UnitOfWorkFactory, stock: StockAvailability, refs: Sequence[JobRef]) -> list[MatchJob]:
    """The jobs of several references in one read-only transaction, in the order given."""
    with new_uow() as uow:
        return [match_job(uow, stock, ref) for ref in refs]
