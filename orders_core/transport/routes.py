"""Delivery routes of one warehouse, their loading sheets, and the pick tasks released in loading order.

``plan_warehouse_routes`` takes the warehouse's assigned shipments that have not left (status
``assigned``): the vehicles are their carriers (one vehicle each, with the carrier's capacities), a stop
is a shipment at its order's drop-off with its weight and volume, and a shipment may only ride with its
own carrier. The plan is persisted (a route row per vehicle; each shipment gets its route, stop sequence
and loading position = 1 + its index in the loading order, the last stop loaded first); the warehouse's
earlier plans still ``planned`` are replaced.

``release_route_picks`` is the warehouse-transport link: the route's orders get their pick tasks in
loading order (``orders_core.picking.service.build_wave_in_sequence``), so what goes into the truck
first is picked first.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from foundation.clock import utc_now
from foundation.errors import Conflict, NotFound
from orders_core.carriers.repository import CarrierRepository
from orders_core.master_data.repository import MasterDataRepository
from orders_core.orders.tables import OrderRow, ShipmentRow
from orders_core.picking.model import PickTask
from orders_core.picking.service import WarehouseNotFound, build_wave_in_sequence
from orders_core.transport.model import ShipmentStatus
from orders_core.transport.repository import TransportRepository
from orders_core.transport.route_tables import DeliveryRouteRow
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory
from routing import plan_routes
from routing.matrices import LocationsError, configured_provider
from routing.model import MatrixProvider, Point, RoutingProblem, Stop, Vehicle
from routing.params import RoutingParams
from warehouse_picking.params import DEFAULT_PICKING_PARAMS, PickingParams
from warehouse_picking.waves import CartLimits

PLANNED = "planned"
REPLACED = "replaced"


class RouteNotFound(NotFound):
    """No planned route with this id at this warehouse."""

    code = "route_not_found"


class RouteReplaced(Conflict):
    """The route was replaced by a later plan: its loading order no longer holds."""

    code = "route_replaced"


@dataclass(frozen=True)
class SheetLine:
    """One shipment on a loading sheet, at its position in the vehicle (1 = loaded first)."""

    loading_position: int
    stop_sequence: int
    shipment_id: str
    order_id: str
    waybill_no: str | None
    weight_kg: float
    volume_m3: float
    pieces: int
    drop_off: Point
    address: str | None
    arrival_s: float
    pick_task_id: str | None


@dataclass(frozen=True)
class LoadingSheet:
    """A planned route as the warehouse loads it: its shipments first loaded first."""

    route_id: str
    warehouse_id: str
    vehicle_id: str
    status: str
    start_at: datetime
    distance_m: float
    duration_s: float
    load_kg: float
    load_m3: float
    lines: tuple[SheetLine, ...]

    @property
    def delivery_order(self) -> list[str]:
        """Shipment ids in the order the vehicle delivers them."""
        return [line.shipment_id for line in sorted(self.lines, key=lambda line: line.stop_sequence)]


@dataclass(frozen=True)
class WarehouseRoutes:
    """The routes planned for a warehouse and the shipments no route could take."""

    warehouse_id: str
    sheets: tuple[LoadingSheet, ...]
    unassigned: tuple[str, ...]
    replaced_routes: tuple[str, ...]


@dataclass(frozen=True)
class RoutePicks:
    """Pick tasks of a route in release order (loading order), with the shipment each one picks."""

    route_id: str
    tasks: tuple[tuple[SheetLine, PickTask], ...]


def _shipments_to_route(uow: UnitOfWork, warehouse_id: str) -> list[tuple[ShipmentRow, OrderRow]]:
    rows = uow.session.execute(
        select(ShipmentRow, OrderRow)
        .join(OrderRow, OrderRow.id == ShipmentRow.order_id)
        .where(
            ShipmentRow.warehouse_id == warehouse_id,
            ShipmentRow.status == ShipmentStatus.ASSIGNED.value,
            ShipmentRow.carrier_id.is_not(None),
        )
        .order_by(ShipmentRow.id)
        .with_for_update(of=ShipmentRow)
    ).all()
    return [(shipment, order) for shipment, order in rows]


def _vehicles(uow: UnitOfWork, carrier_ids: Sequence[str]) -> tuple[Vehicle, ...]:
    repository = CarrierRepository(uow.session)
    vehicles = []
    for carrier_id in carrier_ids:
        carrier = repository.get(carrier_id)
        if carrier is not None:
            vehicles.append(Vehicle(carrier_id, carrier.capacity_kg, carrier.capacity_m3))
    return tuple(vehicles)


def _stops(uow: UnitOfWork, shipments: Sequence[tuple[ShipmentRow, OrderRow]]) -> tuple[Stop, ...]:
    transport = TransportRepository(uow.session)
    missing = [s.id for s, _ in shipments if s.weight_kg is None or s.volume_m3 is None]
    lines = transport.shipment_lines(missing) if missing else {}
    stops = []
    for shipment, order in shipments:
        if shipment.weight_kg is None or shipment.volume_m3 is None:
            load = transport.load_of(lines.get(shipment.id, []))
            weight, volume = load.weight_kg, load.volume_m3
        else:
            weight, volume = shipment.weight_kg, shipment.volume_m3
        stops.append(
            Stop(
                id=shipment.id,
                location=Point(order.delivery_lat, order.delivery_lng),
                demand_kg=weight,
                volume_m3=volume,
                allowed_vehicles=frozenset({shipment.carrier_id or ""}),
            )
        )
    return tuple(stops)


def _replace_planned(uow: UnitOfWork, warehouse_id: str) -> list[str]:
    """Mark the warehouse's planned routes replaced and clear their shipments' route fields."""
    old = list(
        uow.session.scalars(
            select(DeliveryRouteRow)
            .where(DeliveryRouteRow.warehouse_id == warehouse_id, DeliveryRouteRow.status == PLANNED)
            .with_for_update()
        )
    )
    ids = [route.id for route in old]
    for route in old:
        route.status = REPLACED
    if ids:
        for shipment in uow.session.scalars(select(ShipmentRow).where(ShipmentRow.route_id.in_(ids))):
            shipment.route_id = None
            shipment.stop_sequence = None
            shipment.loading_position = None
    return ids


def plan_warehouse_routes(
    new_uow: UnitOfWorkFactory,
    warehouse_id: str,
    *,
    params: RoutingParams,
    actor: str,
    time_limit_s: float | None = None,
    provider: MatrixProvider | None = None,
) -> WarehouseRoutes:
    """Plan and persist the delivery routes of a warehouse's assigned shipments (see the module)."""
    with new_uow() as uow:
        warehouse = MasterDataRepository(uow.session).get_warehouse(warehouse_id)
        if warehouse is None:
            raise WarehouseNotFound(f"no warehouse with id {warehouse_id!r}")
        shipments = _shipments_to_route(uow, warehouse_id)
        replaced = _replace_planned(uow, warehouse_id)
        vehicles = _vehicles(uow, sorted({s.carrier_id for s, _ in shipments if s.carrier_id}))
        known = {v.id for v in vehicles}
        shipments = [(s, o) for s, o in shipments if s.carrier_id in known]
        stops = _stops(uow, shipments)
        depot = Point(warehouse.lat, warehouse.lng)
        if not stops:
            uow.commit()
            return WarehouseRoutes(warehouse_id, (), (), tuple(replaced))
        labels = ["warehouse", *(f"shipment {s.id!r}" for s in stops)]
        try:
            matrix = (provider or configured_provider(params)).matrix([depot, *(s.location for s in stops)])
        except LocationsError as error:
            raise error.named(labels) from None
        problem = RoutingProblem(depot=depot, vehicles=vehicles, stops=stops, matrix=matrix)
        plan = plan_routes(problem, solver=params.solver, time_limit_s=params.capped_time_limit_s(time_limit_s))
        start_at = utc_now()
        by_id = {s.id: (s, o) for s, o in shipments}
        for route in plan.routes:
            route_id = "rt_" + secrets.token_hex(8)
            loading = {shipment_id: k + 1 for k, shipment_id in enumerate(route.loading_order)}
            stop_rows = []
            for sequence, scheduled in enumerate(route.stops, start=1):
                shipment, order = by_id[scheduled.stop_id]
                shipment.route_id = route_id
                shipment.stop_sequence = sequence
                shipment.loading_position = loading[scheduled.stop_id]
                shipment.updated_at = start_at
                stop_rows.append(
                    {
                        "shipment_id": shipment.id,
                        "order_id": order.id,
                        "sequence": sequence,
                        "arrival_s": scheduled.arrival_s,
                        "start_s": scheduled.start_s,
                        "departure_s": scheduled.departure_s,
                        "loading_position": loading[scheduled.stop_id],
                        "pick_task_id": None,
                    }
                )
            uow.session.add(
                DeliveryRouteRow(
                    id=route_id,
                    warehouse_id=warehouse_id,
                    vehicle_id=route.vehicle_id,
                    status=PLANNED,
                    start_at=start_at,
                    distance_m=route.distance_m,
                    duration_s=route.duration_s,
                    load_kg=route.load_kg,
                    load_m3=route.load_m3,
                    stops=stop_rows,
                    created_by=actor,
                    created_at=start_at,
                )
            )
        uow.session.flush()
        sheets = tuple(_sheets(uow, warehouse_id, status=PLANNED))
        uow.commit()
    return WarehouseRoutes(warehouse_id, sheets, plan.unassigned, tuple(replaced))


def _sheet(uow: UnitOfWork, route: DeliveryRouteRow) -> LoadingSheet:
    shipment_ids = [stop["shipment_id"] for stop in route.stops]
    shipments = {s.id: s for s in TransportRepository(uow.session).shipment_rows(shipment_ids)}
    orders = {
        o.id: o
        for o in uow.session.scalars(select(OrderRow).where(OrderRow.id.in_([s["order_id"] for s in route.stops])))
    }
    lines = []
    for stop in route.stops:
        shipment = shipments[stop["shipment_id"]]
        order = orders[stop["order_id"]]
        lines.append(
            SheetLine(
                loading_position=int(stop["loading_position"]),
                stop_sequence=int(stop["sequence"]),
                shipment_id=shipment.id,
                order_id=order.id,
                waybill_no=shipment.waybill_no,
                weight_kg=float(shipment.weight_kg or 0.0),
                volume_m3=float(shipment.volume_m3 or 0.0),
                pieces=int(shipment.pieces or 1),
                drop_off=Point(order.delivery_lat, order.delivery_lng),
                address=order.delivery_address,
                arrival_s=float(stop["arrival_s"]),
                pick_task_id=stop.get("pick_task_id"),
            )
        )
    lines.sort(key=lambda line: line.loading_position)
    return LoadingSheet(
        route_id=route.id,
        warehouse_id=route.warehouse_id,
        vehicle_id=route.vehicle_id,
        status=route.status,
        start_at=route.start_at,
        distance_m=route.distance_m,
        duration_s=route.duration_s,
        load_kg=route.load_kg,
        load_m3=route.load_m3,
        lines=tuple(lines),
    )


def _sheets(uow: UnitOfWork, warehouse_id: str, *, status: str) -> list[LoadingSheet]:
    routes = uow.session.scalars(
        select(DeliveryRouteRow)
        .where(DeliveryRouteRow.warehouse_id == warehouse_id, DeliveryRouteRow.status == status)
        .order_by(DeliveryRouteRow.vehicle_id, DeliveryRouteRow.id)
    )
    return [_sheet(uow, route) for route in routes]


def loading_sheets(new_uow: UnitOfWorkFactory, warehouse_id: str) -> list[LoadingSheet]:
    """The loading sheets of the warehouse's current (planned) routes, by vehicle."""
    with new_uow() as uow:
        if MasterDataRepository(uow.session).get_warehouse(warehouse_id) is None:
            raise WarehouseNotFound(f"no warehouse with id {warehouse_id!r}")
        return _sheets(uow, warehouse_id, status=PLANNED)


def _route_row(uow: UnitOfWork, warehouse_id: str, route_id: str, *, for_update: bool = False) -> DeliveryRouteRow:
    query = select(DeliveryRouteRow).where(DeliveryRouteRow.id == route_id)
    if for_update:
        query = query.with_for_update()
    route = uow.session.scalars(query).first()
    if route is None or route.warehouse_id != warehouse_id:
        raise RouteNotFound(f"no route {route_id!r} at warehouse {warehouse_id!r}")
    return route


def loading_sheet(new_uow: UnitOfWorkFactory, warehouse_id: str, route_id: str) -> LoadingSheet:
    """One route's loading sheet (a replaced route too: it says so in ``status``)."""
    with new_uow() as uow:
        return _sheet(uow, _route_row(uow, warehouse_id, route_id))


def release_route_picks(
    new_uow: UnitOfWorkFactory,
    warehouse_id: str,
    route_id: str,
    cart: CartLimits,
    *,
    actor: str,
    time_limit_s: float | None = None,
    params: PickingParams = DEFAULT_PICKING_PARAMS,
) -> RoutePicks:
    """Release the pick tasks of a planned route's orders in loading order (first loaded, first picked)."""
    with new_uow() as uow:
        route = _route_row(uow, warehouse_id, route_id, for_update=True)
        if route.status != PLANNED:
            raise RouteReplaced(f"route {route_id!r} was replaced by a later plan; pick by the current one")
        sheet = _sheet(uow, route)
        order_ids = [line.order_id for line in sheet.lines]  # loading order: the sheet's order
        wave = build_wave_in_sequence(
            uow, warehouse_id, order_ids, cart, actor=actor, time_limit_s=time_limit_s, params=params
        )
        task_of_order = {task.order_ids[0]: task for task in wave.tasks}
        stops = []
        for stop in route.stops:
            task = task_of_order.get(stop["order_id"])
            stops.append({**stop, "pick_task_id": task.id if task else stop.get("pick_task_id")})
        route.stops = stops  # a new list: SQLAlchemy sees the JSON change
        released = tuple((line, task_of_order[line.order_id]) for line in sheet.lines if line.order_id in task_of_order)
        uow.commit()
    return RoutePicks(route_id=route_id, tasks=released)
