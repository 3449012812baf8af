"""Carrier callbacks (``POST /v1/carriers/{id}/events``): what a carrier reports moves its shipment, its
waybill and the order, in one transaction with the event's record and the waybill's webhook.

Rules (see ``tracking`` for the pure part):

* **Who**: only the carrier holding the waybill (another carrier's waybill, or a child label of it, is
  404). A child waybill number stands for its master: the shipment moves as a whole.
* **Duplicates**: events are unique per (carrier, ``event_id``); a repeat answers the first answer
  (``duplicate: true``) and changes nothing. Refused events (409/422) are not recorded, so a carrier may
  resend the same id once the problem is fixed.
* **Order of events**: events apply in ``at`` order. A delivery outcome (``delivered``/``failed``) that
  arrives before ``picked_up`` implies the pickup at its own time; the real ``picked_up`` arriving later,
  dated no later than the outcome, only corrects the pickup time (``applied: false``, ``superseded``).
  Any other status event older than the last one applied would rewrite history: 409. Positions older
  than the last position feed the carrier index (which ignores them) but not the ETA.
* **picked_up**: shipment and waybill ``picked_up``; goods the order still holds in stock at that
  warehouse leave it (consumed); the order, if not yet ``loaded``, walks through ``picking``/``loaded``
  (the transition table allows single steps; each walked step says why), then goes ``in_transit`` with
  its first shipment collected. An order on hold cannot leave: 409.
* **position**: feeds the live carrier index (as ``POST /v1/carriers/positions`` does) and the shipment's
  ETA: through the warehouse to the drop-off before pickup, straight to the drop-off after; the order's
  expected ``in_transit``/``delivered`` times follow it (``orders_core.orders.progress``).
* **delivered**: shipment and waybill ``delivered`` with the proof (signer, photo reference, location); a
  location further than the policy's tolerance from the drop-off opens a ``delivered_far_from_dropoff``
  exception on the order (it does not hold anything). The order is ``delivered`` when every shipment
  that was not cancelled is.
* **failed**: needs a ``reason``; ``strategy`` ``re_attempt`` (default) keeps the goods with the carrier,
  the shipment ``failed`` with its attempt count until a later ``delivered``/``failed``; ``return`` (or
  the last allowed attempt failing) sends the goods back: they are put back on hand at the warehouse, the
  shipment stays ``failed`` for good and the order (which cannot go back from ``in_transit``) gets an
  open ``shipment_returned`` exception for a dispatcher to re-ship or refund. Both leave the order's
  status as it is.
* Every shipment step is on the order's timeline, naming the shipment and waybill: as the reason of the
  order's own move, or as a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from foundation.clock import utc_now
from orders_core.carriers.model import PositionFix
from orders_core.carriers.service import record_positions
from orders_core.master_data.repository import MasterDataRepository
from orders_core.orders.exceptions_flow import open_exception
from orders_core.orders.lifecycle import advance_order, load_order, record_order_event
from orders_core.orders.model import OrderStatus
from orders_core.orders.repository import OrderRepository
from orders_core.orders.tables import OrderRow, ShipmentRow
from orders_core.stock.model import ReservationLine
from orders_core.transport.model import ShipmentStatus, WaybillNotFound, WaybillStatus
from orders_core.transport.repository import TransportRepository
from orders_core.transport.tables import WaybillRow
from orders_core.transport.tracking import (
    DEFAULT_CARRIER_EVENT_POLICY,
    CarrierEvent,
    CarrierEventPolicy,
    CarrierEventType,
    FailStrategy,
    ImpossibleCarrierEvent,
    delivery_distance_m,
    dropoff_eta,
    impossible_because,
    is_superseded_pickup,
)
from orders_core.transport.tracking_tables import CarrierEventRow, ShipmentTrackingRow
from orders_core.transport.waybill_numbers import is_valid
from orders_core.transport.waybills import iso_utc, set_waybill_status
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory

if TYPE_CHECKING:
    from orders_core.dispatching import CarrierMatching


class CallbackStock(Protocol):
    """What callbacks need from the stock service (``orders_core.stock.service.StockService``)."""

    def reservations_of(self, uow: UnitOfWork, order_id: str) -> list[ReservationLine]: ...

    def consume(self, uow: UnitOfWork, order_id: str, picked: Sequence[ReservationLine]) -> None: ...

    def level(self, uow: UnitOfWork, warehouse_id: str, sku: str) -> Any: ...

    def set_on_hand(self, uow: UnitOfWork, warehouse_id: str, sku: str, on_hand: int) -> Any: ...


@dataclass(frozen=True)
class CarrierEventResult:
    """The answer to a callback (stored with it: a duplicate gets the same, marked ``duplicate``)."""

    event_id: str
    waybill_no: str
    shipment_id: str
    order_id: str
    type: str
    applied: bool
    duplicate: bool
    shipment_status: str
    waybill_status: str
    order_status: str
    eta_at: str | None = None
    failed_attempts: int = 0
    flags: tuple[str, ...] = ()
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        """JSON form (what is stored and answered)."""
        answer = asdict(self)
        answer["flags"] = list(self.flags)
        return answer

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CarrierEventResult:
        """Inverse of ``as_json``."""
        return cls(**{**data, "flags": tuple(data.get("flags", ()))})


def report_carrier_event(
    new_uow: UnitOfWorkFactory,
    stock: CallbackStock,
    positions: CarrierMatching,
    carrier_id: str,
    event: CarrierEvent,
    *,
    actor: str,
    policy: CarrierEventPolicy = DEFAULT_CARRIER_EVENT_POLICY,
) -> CarrierEventResult:
    """Apply one callback in its own transaction (see the module docstring); a concurrent duplicate that
    commits first makes this one fail on the unique (carrier, event id): the retry answers its result."""
    event.check(utc_now(), policy)
    for attempt in range(2):
        try:
            with new_uow() as uow:
                result = apply_carrier_event(uow, stock, positions, carrier_id, event, actor=actor, policy=policy)
                uow.commit()
            return result
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _recorded(uow: UnitOfWork, carrier_id: str, event_id: str) -> CarrierEventRow | None:
    return uow.session.scalars(
        select(CarrierEventRow).where(CarrierEventRow.carrier_id == carrier_id, CarrierEventRow.event_id == event_id)
    ).first()


def _master_waybill(uow: UnitOfWork, carrier_id: str, waybill_no: str) -> WaybillRow:
    """The carrier's master waybill for ``waybill_no`` (a child stands for its master); 404 otherwise."""
    repository = TransportRepository(uow.session)
    row = repository.waybill_row(waybill_no) if is_valid(waybill_no) else None
    if row is not None and row.parent_no is not None:
        row = repository.waybill_row(row.parent_no)
    if row is None or row.carrier_id != carrier_id:
        raise WaybillNotFound(f"no waybill {waybill_no!r} for carrier {carrier_id!r}")
    return row


def _tracking(uow: UnitOfWork, shipment_id: str) -> ShipmentTrackingRow:
    row = uow.session.get(ShipmentTrackingRow, shipment_id)
    if row is None:
        row = ShipmentTrackingRow(
            shipment_id=shipment_id, pickup_implied=False, failed_attempts=0, returned=False, updated_at=utc_now()
        )
        uow.session.add(row)
    return row


def apply_carrier_event(
    uow: UnitOfWork,
    stock: CallbackStock,
    positions: CarrierMatching,
    carrier_id: str,
    event: CarrierEvent,
    *,
    actor: str,
    policy: CarrierEventPolicy = DEFAULT_CARRIER_EVENT_POLICY,
) -> CarrierEventResult:
    """``report_carrier_event`` inside the caller's unit of work (nothing committed)."""
    seen = _recorded(uow, carrier_id, event.event_id)
    if seen is not None:
        return CarrierEventResult.from_json({**seen.result, "duplicate": True})
    waybill = _master_waybill(uow, carrier_id, event.waybill_no)
    # The order before its shipment: the lock order of assignment and cancellation (no deadlock on PostGIS).
    order = load_order(uow, waybill.order_id)
    # Again under the lock: a concurrent copy of this event that held it first has committed by now.
    seen = _recorded(uow, carrier_id, event.event_id)
    if seen is not None:
        return CarrierEventResult.from_json({**seen.result, "duplicate": True})
    shipment = TransportRepository(uow.session).shipment_row(waybill.shipment_id, for_update=True)
    assert shipment is not None  # a waybill's shipment is never deleted
    tracking = _tracking(uow, shipment.id)
    waybill_status = waybill.status if shipment.waybill_no == waybill.waybill_no else WaybillStatus.CANCELLED.value
    step = _Step(uow, stock, positions, carrier_id, event, actor, policy, waybill, shipment, order, tracking)
    if is_superseded_pickup(event, shipment.status, tracking.picked_up_at) and waybill_status != "cancelled":
        result = step.correct_pickup_time()
    else:
        reason = impossible_because(
            event,
            shipment.status,
            waybill_status,
            returned=tracking.returned,
            last_status_at=tracking.last_status_at,
        )
        if reason is None and event.type is not CarrierEventType.POSITION and order.status == "on_hold":
            reason = f"order {order.id} is on hold; a dispatcher must release it before its goods move"
        if reason is None and order.status == OrderStatus.CANCELLED.value:
            reason = f"order {order.id} is cancelled"
        if reason is not None:
            raise ImpossibleCarrierEvent(reason)
        result = step.apply()
    uow.session.add(
        CarrierEventRow(
            carrier_id=carrier_id,
            event_id=event.event_id,
            waybill_no=event.waybill_no,
            shipment_id=shipment.id,
            type=event.type.value,
            at=event.at,
            event=event.fingerprint(),
            result=result.as_json(),
            received_at=utc_now(),
        )
    )
    uow.session.flush()  # a concurrent duplicate fails here (unique carrier + event id), not at commit
    return result


class _Step:
    """One event being applied: the rows it touches and the moves per event type."""

    def __init__(
        self,
        uow: UnitOfWork,
        stock: CallbackStock,
        positions: CarrierMatching,
        carrier_id: str,
        event: CarrierEvent,
        actor: str,
        policy: CarrierEventPolicy,
        waybill: WaybillRow,
        shipment: ShipmentRow,
        order: OrderRow,
        tracking: ShipmentTrackingRow,
    ) -> None:
        self.uow, self.stock, self.positions = uow, stock, positions
        self.carrier_id, self.event, self.actor, self.policy = carrier_id, event, actor, policy
        self.waybill, self.shipment, self.order, self.tracking = waybill, shipment, order, tracking
        self.flags: list[str] = []
        self.note: str | None = None
        self.applied = True

    # --- the answer ---------------------------------------------------------------------------------
    def result(self) -> CarrierEventResult:
        return CarrierEventResult(
            event_id=self.event.event_id,
            waybill_no=self.event.waybill_no,
            shipment_id=self.shipment.id,
            order_id=self.order.id,
            type=self.event.type.value,
            applied=self.applied,
            duplicate=False,
            shipment_status=self.shipment.status,
            waybill_status=self.waybill.status,
            order_status=self.order.status,
            eta_at=iso_utc(self.tracking.eta_at),
            failed_attempts=self.tracking.failed_attempts or 0,
            flags=tuple(self.flags),
            note=self.note,
        )

    @property
    def named(self) -> str:
        return f"shipment {self.shipment.id} (waybill {self.waybill.waybill_no})"

    def _at(self) -> datetime:
        """When to date the order's timeline entry: the event's time, never before the last entry (a
        carrier's clock may lag ours; the timeline stays in order)."""
        timeline = OrderRepository(self.uow.session).timeline(self.order.id)
        last = timeline[-1].at if timeline else None
        return self.event.at if last is None or self.event.at >= last else last

    def _note(self, reason_code: str, reason: str) -> None:
        record_order_event(
            self.uow,
            self.order.id,
            actor=self.actor,
            reason_code=reason_code,
            reason=reason,
            payload={"shipment_id": self.shipment.id, "waybill_no": self.waybill.waybill_no},
            at=self._at(),
        )

    def _advance(self, to_status: OrderStatus, reason_code: str, reason: str) -> None:
        advance_order(
            self.uow, self.order.id, to_status, actor=self.actor, reason_code=reason_code, reason=reason, at=self._at()
        )

    def _set_status(self, status: ShipmentStatus, waybill_status: WaybillStatus) -> None:
        self.shipment.status = status.value
        self.shipment.updated_at = utc_now()
        self.tracking.last_status_at = self.event.at
        self.tracking.updated_at = utc_now()
        set_waybill_status(self.uow, self.waybill.waybill_no, waybill_status)  # announces waybill.updated

    # --- the moves ----------------------------------------------------------------------------------
    def apply(self) -> CarrierEventResult:
        kind = self.event.type
        if kind is CarrierEventType.POSITION:
            self.position()
        elif kind is CarrierEventType.PICKED_UP:
            self.pickup(implied=False)
        elif kind is CarrierEventType.DELIVERED:
            if self.shipment.status == ShipmentStatus.ASSIGNED.value:
                self.pickup(implied=True)
            self.delivered()
        else:
            if self.shipment.status == ShipmentStatus.ASSIGNED.value:
                self.pickup(implied=True)
            self.failed()
        return self.result()

    def correct_pickup_time(self) -> CarrierEventResult:
        """A late ``picked_up`` dated before the outcome that implied it: keep its time, change nothing else."""
        self.tracking.picked_up_at = self.event.at
        self.tracking.pickup_implied = False
        self.tracking.updated_at = utc_now()
        self.applied = False
        self.note = "superseded: the pickup was implied by a later event; its time is corrected"
        return self.result()

    def position(self) -> None:
        assert self.event.location is not None  # checked with the event
        lat, lng = self.event.location
        record_positions(self.uow, self.positions, [PositionFix(self.carrier_id, lat, lng, self.event.at.timestamp())])
        tracking = self.tracking
        if tracking.position_at is not None and self.event.at <= tracking.position_at:
            self.applied = False
            self.note = "older than the last position: the ETA is kept"
            return
        tracking.position_lat, tracking.position_lng, tracking.position_at = lat, lng, self.event.at
        tracking.updated_at = utc_now()
        status = self.shipment.status
        if status in {ShipmentStatus.DELIVERED.value, ShipmentStatus.CANCELLED.value} or tracking.returned:
            return
        dropoff = (self.order.delivery_lat, self.order.delivery_lng)
        pickup = None
        if status == ShipmentStatus.ASSIGNED.value:
            warehouse = MasterDataRepository(self.uow.session).get_warehouse(self.shipment.warehouse_id)
            pickup = None if warehouse is None else (warehouse.lat, warehouse.lng)
        tracking.pickup_eta_at, tracking.eta_at = dropoff_eta(self.policy, self.event.at, (lat, lng), dropoff, pickup)

    def pickup(self, *, implied: bool) -> None:
        order = self.order
        status = OrderStatus(order.status)
        if status not in {OrderStatus.ALLOCATED, OrderStatus.PICKING, OrderStatus.LOADED, OrderStatus.IN_TRANSIT}:
            raise ImpossibleCarrierEvent(f"order {order.id} is {order.status}; its goods cannot be picked up")
        self._set_status(ShipmentStatus.PICKED_UP, WaybillStatus.PICKED_UP)
        self.tracking.picked_up_at = self.event.at
        self.tracking.pickup_implied = implied
        self.tracking.pickup_eta_at = None
        self._goods_leave()
        how = f"implied by its {self.event.type.value} report" if implied else "reported by the carrier"
        collected = f"{self.named} picked up by carrier {self.carrier_id} ({how})"
        if status is OrderStatus.ALLOCATED:
            self._advance(OrderStatus.PICKING, "picked_up_before_picking", f"{collected} before a pick wave started")
            status = OrderStatus.PICKING
        if status is OrderStatus.PICKING:
            self._advance(OrderStatus.LOADED, "loaded_by_pickup", f"{collected} before its picks were confirmed")
            status = OrderStatus.LOADED
        if status is OrderStatus.LOADED:
            self._advance(OrderStatus.IN_TRANSIT, "shipment_picked_up", collected)
        else:
            self._note("shipment_picked_up", collected)

    def _goods_leave(self) -> None:
        """What the order still holds at this shipment's warehouse leaves with the carrier (picks consumed
        their part already)."""
        lines = TransportRepository(self.uow.session).shipment_lines([self.shipment.id])[self.shipment.id]
        held: dict[str, int] = {}
        for line in self.stock.reservations_of(self.uow, self.order.id):
            if line.warehouse_id == self.shipment.warehouse_id:
                held[line.sku] = held.get(line.sku, 0) + line.qty
        leaving = [
            ReservationLine(self.shipment.warehouse_id, sku, min(qty, held.get(sku, 0)))
            for sku, qty in lines
            if min(qty, held.get(sku, 0)) > 0
        ]
        self.stock.consume(self.uow, self.order.id, leaving)

    def delivered(self) -> None:
        self._set_status(ShipmentStatus.DELIVERED, WaybillStatus.DELIVERED)
        tracking = self.tracking
        tracking.delivered_at = self.event.at
        tracking.eta_at = None
        distance = delivery_distance_m(self.event.location, (self.order.delivery_lat, self.order.delivery_lng))
        location = self.event.location
        tracking.proof = {
            **self.event.proof,
            "location": None if location is None else {"lat": location[0], "lng": location[1]},
        }
        tracking.delivered_distance_m = distance
        if distance is not None and distance > self.policy.delivery_tolerance_m:
            self.flags.append("delivered_far_from_dropoff")
            open_exception(
                self.uow,
                self.order.id,
                "delivered_far_from_dropoff",
                f"{self.named} was reported delivered {distance:.0f} m from the drop-off"
                f" (tolerance {self.policy.delivery_tolerance_m:.0f} m)",
                {
                    "shipment_id": self.shipment.id,
                    "waybill_no": self.waybill.waybill_no,
                    "distance_m": round(distance, 1),
                    "tolerance_m": self.policy.delivery_tolerance_m,
                    "location": tracking.proof["location"],
                    "signer": self.event.proof.get("signer"),
                },
                hold=False,
                actor=self.actor,
            )
        signer = self.event.proof.get("signer")
        done = f"{self.named} delivered" + (f", signed by {signer}" if signer else "")
        others = [
            s
            for s in TransportRepository(self.uow.session).shipments_of_order(self.order.id)
            if s.id != self.shipment.id and s.status != ShipmentStatus.CANCELLED.value
        ]
        remaining = [s.id for s in others if s.status != ShipmentStatus.DELIVERED.value]
        if remaining or self.order.status != OrderStatus.IN_TRANSIT.value:
            self._note(
                "shipment_delivered", done + (f"; still on the way: {', '.join(remaining)}" if remaining else "")
            )
        else:
            self._advance(OrderStatus.DELIVERED, "delivered", done)

    def failed(self) -> None:
        tracking = self.tracking
        tracking.failed_attempts = (tracking.failed_attempts or 0) + 1
        strategy = self.event.strategy or FailStrategy.RE_ATTEMPT
        if strategy is FailStrategy.RE_ATTEMPT and tracking.failed_attempts >= self.policy.max_delivery_attempts:
            strategy = FailStrategy.RETURN
            self.note = f"attempt {tracking.failed_attempts} of {self.policy.max_delivery_attempts} failed: returned"
        self._set_status(ShipmentStatus.FAILED, WaybillStatus.FAILED)
        tracking.eta_at = None
        attempt = f"{self.named}: delivery attempt {tracking.failed_attempts} failed ({self.event.reason})"
        if strategy is FailStrategy.RE_ATTEMPT:
            self._note("delivery_failed", f"{attempt}; the carrier will try again")
            return
        tracking.returned = True
        self._note("delivery_failed", f"{attempt}; the goods go back to warehouse {self.shipment.warehouse_id}")
        self._restock()
        open_exception(
            self.uow,
            self.order.id,
            "shipment_returned",
            f"{self.named} is returned to warehouse {self.shipment.warehouse_id} after"
            f" {tracking.failed_attempts} failed attempt(s) ({self.event.reason}); re-ship or refund",
            {
                "shipment_id": self.shipment.id,
                "waybill_no": self.waybill.waybill_no,
                "warehouse_id": self.shipment.warehouse_id,
                "reason": self.event.reason,
                "attempts": tracking.failed_attempts,
            },
            hold=False,
            actor=self.actor,
        )

    def _restock(self) -> None:
        """Returned goods count as on hand at their warehouse again (on the carrier's word; a stock count
        corrects it if they never arrive)."""
        lines = TransportRepository(self.uow.session).shipment_lines([self.shipment.id])[self.shipment.id]
        for sku, qty in lines:
            level = self.stock.level(self.uow, self.shipment.warehouse_id, sku)
            self.stock.set_on_hand(self.uow, self.shipment.warehouse_id, sku, int(level.on_hand) + qty)
