"""Carrier assignment of shipments: by hand, the best eligible carrier, and many at once.

Eligibility is the contract's matching semantics (``matcher``): pickup = the shipment's warehouse,
dropoff = the order's delivery point, load = the shipment's weight and volume from the SKU master data.
The radius starts at ``policy.radius_m`` (3 km) and widens through ``policy.fallback_radii_m``.

When nobody is eligible even at the widest radius, the order gets a ``no_carrier_in_range`` exception
(one per shipment, not holding the order: the warehouse may go on picking) whose details carry the
strategy: a dispatcher assigns by hand with a reason, or the retry job (``retry_no_carrier``) assigns the
shipment once a carrier comes in range, closing the exception.

Several shipments of one warehouse that become ready together are assigned by the minimum-cost
assignment (``matcher.batch.solve_assignment``), not greedily one at a time: radius by radius, the
shipments still unserved are solved together over the carriers not yet taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from foundation.clock import rfc3339, utc_now
from geo.distance import haversine_m
from matcher.model import MatchQuery
from orders_core.carriers.repository import CarrierRepository
from orders_core.dispatching import CarrierMatching
from orders_core.master_data.repository import MasterDataRepository
from orders_core.orders.exceptions_flow import open_exception
from orders_core.orders.lifecycle import load_order, record_order_event
from orders_core.orders.model import ExceptionStatus, OrderStatus
from orders_core.orders.repository import OrderRepository
from orders_core.orders.tables import ExceptionRow, OrderRow, ShipmentRow
from orders_core.transport.model import (
    ASSIGNABLE,
    AssignAt,
    Assignment,
    CarrierCannotCarry,
    CarrierInactive,
    Load,
    NoCarrierInRange,
    ReasonRequired,
    ShipmentNotAssignable,
    ShipmentNotFound,
    ShipmentStatus,
    UnknownCarrier,
)
from orders_core.transport.packaging import PackingLimits
from orders_core.transport.repository import TransportRepository
from orders_core.transport.waybills import WaybillPolicy, cancel_waybill, issue_waybill
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = structlog.get_logger("orders_core.transport.assignment")

NO_CARRIER = "no_carrier_in_range"
#: Order statuses in which a shipment may still get (or change) its carrier.
ORDER_ASSIGNABLE = frozenset({OrderStatus.ALLOCATED, OrderStatus.PICKING, OrderStatus.LOADED, OrderStatus.ON_HOLD})
#: Order statuses whose ready shipments automatic assignment takes, per ``AssignAt``.
AUTO_ORDER_STATUSES: dict[AssignAt, frozenset[str]] = {
    AssignAt.ALLOCATION: frozenset({OrderStatus.ALLOCATED.value, OrderStatus.PICKING.value, OrderStatus.LOADED.value}),
    AssignAt.PICKED: frozenset({OrderStatus.LOADED.value}),
    AssignAt.MANUAL: frozenset(),
}


@dataclass(frozen=True)
class TransportPolicy:
    """The knobs of assignment (from settings group ``transport``)."""

    assign_at: AssignAt = AssignAt.ALLOCATION
    radius_m: float = 3000.0
    fallback_radii_m: tuple[float, ...] = (5000.0, 8000.0, 12000.0)
    per_carrier_capacity: int = 1
    waybills: WaybillPolicy = field(default_factory=WaybillPolicy)

    @property
    def radii_m(self) -> list[float]:
        """The radii tried in order: the first, then each larger fallback."""
        return [self.radius_m, *sorted(r for r in self.fallback_radii_m if r > self.radius_m)]


def transport_policy(
    *,
    assign_at: str,
    radius_m: float,
    fallback_radii_m: Sequence[float],
    per_carrier_capacity: int,
    package_max_kg: float,
    package_max_m3: float,
    promise_s: float,
) -> TransportPolicy:
    """The policy from flat settings values (the composition root's one call)."""
    return TransportPolicy(
        assign_at=AssignAt(assign_at),
        radius_m=radius_m,
        fallback_radii_m=tuple(fallback_radii_m),
        per_carrier_capacity=per_carrier_capacity,
        waybills=WaybillPolicy(
            packing=PackingLimits(max_kg=package_max_kg, max_m3=package_max_m3), promise_s=promise_s
        ),
    )


@dataclass(frozen=True)
class BatchOutcome:
    """What a batch run did: shipment id -> carrier id, and the shipments nobody could take."""

    assigned: dict[str, str]
    unserved: list[str]

    def __bool__(self) -> bool:
        return bool(self.assigned or self.unserved)


# --- the shipment and its order ---------------------------------------------------------------------


def _locked_shipment(uow: UnitOfWork, shipment_id: str) -> tuple[ShipmentRow, OrderRow]:
    """The shipment and its order, both locked: the order first, as cancellation locks them (no deadlock)."""
    repository = TransportRepository(uow.session)
    shipment = repository.shipment_row(shipment_id)
    if shipment is None:
        raise ShipmentNotFound(f"no shipment {shipment_id!r}")
    order = load_order(uow, shipment.order_id)
    locked = repository.shipment_row(shipment_id, for_update=True)
    assert locked is not None  # shipments are never deleted
    return locked, order


def _check_assignable(shipment: ShipmentRow, order: OrderRow) -> None:
    if ShipmentStatus(shipment.status) not in ASSIGNABLE or OrderStatus(order.status) not in ORDER_ASSIGNABLE:
        raise ShipmentNotAssignable(
            f"shipment {shipment.id} is {shipment.status} (order {order.id} is {order.status}); a carrier can be"
            " assigned only before pickup, and not to a cancelled or delivered order"
        )


def _query(uow: UnitOfWork, shipment: ShipmentRow, order: OrderRow, load: Load, radius_m: float) -> MatchQuery:
    warehouse = MasterDataRepository(uow.session).get_warehouse(shipment.warehouse_id)
    assert warehouse is not None  # shipments reference existing warehouses
    return MatchQuery(
        pickup_lat=warehouse.lat,
        pickup_lng=warehouse.lng,
        dropoff_lat=order.delivery_lat,
        dropoff_lng=order.delivery_lng,
        weight_kg=load.weight_kg,
        volume_m3=load.volume_m3,
        radius_m=radius_m,
    )


# --- applying an assignment -------------------------------------------------------------------------


def _apply(
    uow: UnitOfWork,
    shipment: ShipmentRow,
    order: OrderRow,
    carrier_id: str,
    lines: list[tuple[str, int]],
    *,
    mode: str,
    reason: str | None,
    actor: str,
    policy: TransportPolicy,
) -> Assignment:
    """Cancel the old waybill (if any), issue the new one, record who and why, close no-carrier exceptions."""
    previous_carrier = shipment.carrier_id
    cancelled_no = None
    if shipment.waybill_no is not None:
        cancelled = cancel_waybill(uow, shipment.waybill_no, shipment)
        cancelled_no = None if cancelled is None else cancelled.waybill_no
    now = utc_now()
    waybill_no = issue_waybill(uow, shipment, order, carrier_id, lines, policy.waybills)
    shipment.carrier_id = carrier_id
    shipment.status = ShipmentStatus.ASSIGNED.value
    shipment.assignment_mode = mode
    shipment.assignment_reason = reason
    shipment.assigned_by = actor
    shipment.assigned_at = now
    shipment.updated_at = now
    _close_no_carrier_exceptions(uow, order.id, shipment.id, actor=actor, note=f"carrier {carrier_id} assigned")
    if previous_carrier is not None:
        code = "carrier_reassigned"
        text = f"shipment {shipment.id}: carrier {previous_carrier} -> {carrier_id}, waybill {waybill_no}"
    elif mode == "manual":
        code = "carrier_assigned_manually"
        text = f"shipment {shipment.id}: carrier {carrier_id} chosen by hand, waybill {waybill_no}"
    else:
        code = "carrier_assigned"
        text = f"shipment {shipment.id}: carrier {carrier_id} ({mode}), waybill {waybill_no}"
    if reason:
        text += f"; reason: {reason}"
    record_order_event(
        uow,
        order.id,
        actor=actor,
        reason_code=code,
        reason=text,
        payload={"shipment_id": shipment.id, "carrier_id": carrier_id, "waybill_no": waybill_no, "mode": mode},
    )
    uow.session.flush()
    return Assignment(
        shipment_id=shipment.id,
        carrier_id=carrier_id,
        waybill_no=waybill_no,
        previous_carrier_id=previous_carrier,
        cancelled_waybill_no=cancelled_no,
    )


def _open_no_carrier(uow: UnitOfWork, order_id: str) -> list[ExceptionRow]:
    return [
        row
        for row in OrderRepository(uow.session).exception_rows_of(order_id, status=ExceptionStatus.OPEN.value)
        if row.kind == NO_CARRIER
    ]


def _close_no_carrier_exceptions(uow: UnitOfWork, order_id: str, shipment_id: str, *, actor: str, note: str) -> None:
    now = utc_now()
    for row in _open_no_carrier(uow, order_id):
        if (row.details or {}).get("shipment_id") == shipment_id:
            row.status = ExceptionStatus.CLOSED.value
            row.resolved_at = now
            row.resolved_by = actor
            row.note = note


def _record_no_carrier(
    uow: UnitOfWork, shipment: ShipmentRow, order: OrderRow, load: Load, radii_m: Sequence[float], *, actor: str
) -> dict[str, Any]:
    """Count the failed attempt; open the shipment's no-carrier exception unless one is open already."""
    now = utc_now()
    shipment.assign_attempts = (shipment.assign_attempts or 0) + 1
    shipment.last_assign_attempt_at = now
    shipment.weight_kg = load.weight_kg
    shipment.volume_m3 = load.volume_m3
    details: dict[str, Any] = {
        "shipment_id": shipment.id,
        "warehouse_id": shipment.warehouse_id,
        "weight_kg": load.weight_kg,
        "volume_m3": load.volume_m3,
        "radii_m": list(radii_m),
        # No active carrier can take this load at any distance: a capacity problem (root cause carrier_capacity).
        "fits_no_active_carrier": not CarrierRepository(uow.session).any_active_fits(load.weight_kg, load.volume_m3),
        "strategy": {
            "options": [
                {
                    "action": "assign_by_hand",
                    "how": f"POST /v1/shipments/{shipment.id}/assign with carrier_id and reason",
                },
                {
                    "action": "retry_later",
                    "how": "retried automatically as carriers move; the exception closes when one is found",
                },
            ]
        },
    }
    already = [row for row in _open_no_carrier(uow, order.id) if (row.details or {}).get("shipment_id") == shipment.id]
    if already:
        already[0].details = {**details, "attempts": shipment.assign_attempts, "last_attempt_at": rfc3339(now)}
        return details
    open_exception(
        uow,
        order.id,
        NO_CARRIER,
        f"no eligible carrier within {radii_m[-1]:.0f} m of warehouse {shipment.warehouse_id} for shipment"
        f" {shipment.id} ({load.weight_kg:.1f} kg, {load.volume_m3:.3f} m3)",
        {**details, "attempts": shipment.assign_attempts, "last_attempt_at": rfc3339(now)},
        hold=False,
        actor=actor,
    )
    return details


# --- one shipment -----------------------------------------------------------------------------------


def _validate_manual(
    uow: UnitOfWork, carrier_id: str, reason: str | None, order: OrderRow, load: Load
) -> tuple[str, str]:
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired("choosing a carrier by hand needs a reason (it goes on the order's timeline)")
    carrier = CarrierRepository(uow.session).get(carrier_id)
    if carrier is None:
        raise UnknownCarrier(f"no carrier {carrier_id!r}")
    if not carrier.active:
        raise CarrierInactive(f"carrier {carrier_id} is not active")
    problems = []
    if carrier.capacity_kg < load.weight_kg:
        problems.append(f"{load.weight_kg:.1f} kg exceeds its capacity of {carrier.capacity_kg:.1f} kg")
    if carrier.capacity_m3 < load.volume_m3:
        problems.append(f"{load.volume_m3:.3f} m3 exceeds its capacity of {carrier.capacity_m3:.3f} m3")
    if carrier.coverage is not None:
        from shapely.geometry import Point

        if not carrier.coverage.covers(Point(order.delivery_lng, order.delivery_lat)):
            problems.append("the drop-off lies outside its coverage")
    if problems:
        raise CarrierCannotCarry(f"carrier {carrier_id} cannot take the shipment: " + "; ".join(problems))
    return carrier_id, reason


def _best_carrier(
    matching: CarrierMatching, query: MatchQuery, radii_m: Sequence[float], exclude: str | None
) -> tuple[str, float] | None:
    """The best-scored eligible carrier (other than ``exclude``) at the first radius that has one."""
    for radius_m in radii_m:
        rows = [r for r in matching.index.eligible_with_scores(replace(query, radius_m=radius_m)) if r[0] != exclude]
        if rows:
            best = min(rows, key=lambda r: (r[2], r[1], r[0]))
            return best[0], radius_m
    return None


def assign_shipment(
    new_uow: UnitOfWorkFactory,
    matching: CarrierMatching,
    shipment_id: str,
    *,
    actor: str,
    policy: TransportPolicy,
    carrier_id: str | None = None,
    reason: str | None = None,
) -> Assignment:
    """``POST /v1/shipments/{id}/assign``: the named carrier (a manual override: reason required, carrier
    checked) or the best eligible one; cancels a previous waybill and issues a new one.

    Nobody eligible: the attempt and the order's ``no_carrier_in_range`` exception are committed, then
    NoCarrierInRange (409) is raised. Any other refusal changes nothing.
    """
    with new_uow() as uow:
        shipment, order = _locked_shipment(uow, shipment_id)
        _check_assignable(shipment, order)
        repository = TransportRepository(uow.session)
        lines = repository.shipment_lines([shipment.id])[shipment.id]
        load = repository.load_of(lines)
        if carrier_id is not None:
            carrier_id, reason = _validate_manual(uow, carrier_id, reason, order, load)
            if carrier_id == shipment.carrier_id:
                return Assignment(shipment.id, carrier_id, shipment.waybill_no or "")
            assignment = _apply(
                uow, shipment, order, carrier_id, lines, mode="manual", reason=reason, actor=actor, policy=policy
            )
            uow.commit()
            return assignment
        query = _query(uow, shipment, order, load, policy.radius_m)
        best = _best_carrier(matching, query, policy.radii_m, exclude=shipment.carrier_id)
        if best is not None:
            chosen, radius_m = best
            note = (reason or "").strip() or None
            mode = "best" if radius_m == policy.radius_m else f"best@{radius_m:.0f}m"
            assignment = _apply(uow, shipment, order, chosen, lines, mode=mode, reason=note, actor=actor, policy=policy)
            uow.commit()
            return assignment
        details = _record_no_carrier(uow, shipment, order, load, policy.radii_m, actor=actor)
        uow.commit()
    raise NoCarrierInRange(
        f"no eligible carrier within {policy.radii_m[-1]:.0f} m of warehouse {shipment.warehouse_id}"
        f" for shipment {shipment_id}; radii tried: {', '.join(f'{r:.0f}' for r in policy.radii_m)} m",
        details=details,
    )


# --- many shipments of one warehouse ----------------------------------------------------------------


def assign_batch(
    new_uow: UnitOfWorkFactory,
    matching: CarrierMatching,
    shipment_ids: Sequence[str],
    *,
    policy: TransportPolicy,
    actor: str = "system",
) -> BatchOutcome:
    """Assign the ready, carrier-less shipments among ``shipment_ids`` (one warehouse's) together, with
    minimum total cost; those nobody can take get (or keep) their no-carrier exception. One transaction."""
    with new_uow() as uow:
        repository = TransportRepository(uow.session)
        # Orders first (sorted), then their shipments: the lock order cancellation uses, so no deadlock.
        for order_id in sorted({row.order_id for row in repository.shipment_rows(shipment_ids)}):
            load_order(uow, order_id)
        rows = repository.shipment_rows(shipment_ids, for_update=True)
        jobs: list[tuple[ShipmentRow, OrderRow, list[tuple[str, int]], Load, MatchQuery]] = []
        all_lines = repository.shipment_lines([row.id for row in rows])
        for shipment in rows:
            order = load_order(uow, shipment.order_id)
            if shipment.carrier_id is not None:
                continue
            try:
                _check_assignable(shipment, order)
            except ShipmentNotAssignable:
                _close_no_carrier_exceptions(
                    uow, order.id, shipment.id, actor=actor, note=f"shipment is {shipment.status}"
                )
                continue
            lines = all_lines.get(shipment.id, [])
            load = repository.load_of(lines)
            jobs.append((shipment, order, lines, load, _query(uow, shipment, order, load, policy.radius_m)))
        queries = [job[4] for job in jobs]
        radii_m = [list(policy.radii_m)] * len(queries)  # every shipment widens through the same radii
        assigned_idx = matching.match_batch_widening(
            queries, radii_m, per_carrier_capacity=policy.per_carrier_capacity
        ).assignments
        outcome = BatchOutcome(assigned={}, unserved=[])
        for i, (shipment, order, lines, load, query) in enumerate(jobs):
            carrier_id = assigned_idx.get(i)
            if carrier_id is None:
                _record_no_carrier(uow, shipment, order, load, policy.radii_m, actor=actor)
                outcome.unserved.append(shipment.id)
                continue
            position = matching.position_of(carrier_id)
            distance = (
                None if position is None else haversine_m(position[0], position[1], query.pickup_lat, query.pickup_lng)
            )
            _apply(
                uow,
                shipment,
                order,
                carrier_id,
                lines,
                mode="batch",
                reason=None if distance is None else f"batch assignment, {distance:.0f} m from the warehouse",
                actor=actor,
                policy=policy,
            )
            outcome.assigned[shipment.id] = carrier_id
        uow.commit()
    return outcome


def _by_warehouse(rows: Sequence[ShipmentRow]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for row in rows:
        groups.setdefault(row.warehouse_id, []).append(row.id)
    return groups


def assign_ready_shipments(
    new_uow: UnitOfWorkFactory, matching: CarrierMatching, *, policy: TransportPolicy, limit: int = 500
) -> BatchOutcome:
    """The automatic assignment sweep: ready shipments not tried yet (per ``policy.assign_at``), batched
    per warehouse. A warehouse whose batch fails is logged and left ready for the next sweep."""
    statuses = AUTO_ORDER_STATUSES[policy.assign_at]
    if not statuses:
        return BatchOutcome(assigned={}, unserved=[])
    with new_uow() as uow:
        groups = _by_warehouse(TransportRepository(uow.session).auto_assignable(statuses, limit))
    return _run_groups(new_uow, matching, groups, policy)


def _run_groups(
    new_uow: UnitOfWorkFactory, matching: CarrierMatching, groups: dict[str, list[str]], policy: TransportPolicy
) -> BatchOutcome:
    total = BatchOutcome(assigned={}, unserved=[])
    for warehouse_id, ids in sorted(groups.items()):
        try:
            outcome = assign_batch(new_uow, matching, ids, policy=policy)
        except Exception:  # one warehouse's failure must not stop the others; its shipments stay ready
            log.exception("shipment_batch_failed", warehouse_id=warehouse_id, shipments=len(ids))
            continue
        total.assigned.update(outcome.assigned)
        total.unserved.extend(outcome.unserved)
    return total


def retry_no_carrier(
    new_uow: UnitOfWorkFactory, matching: CarrierMatching, *, policy: TransportPolicy, limit: int = 500
) -> BatchOutcome:
    """The retry job: shipments with an open ``no_carrier_in_range`` exception are tried again (batched
    per warehouse); found ones are assigned and their exception closes, the others stay open."""
    with new_uow() as uow:
        exceptions = OrderRepository(uow.session).list_exceptions(
            status=ExceptionStatus.OPEN.value, kind=NO_CARRIER, limit=limit
        )
        ids = sorted({str(e.details["shipment_id"]) for e in exceptions if e.details.get("shipment_id")})
        groups = _by_warehouse(TransportRepository(uow.session).shipment_rows(ids)) if ids else {}
    return _run_groups(new_uow, matching, groups, policy)
