"""Amending an order before picking starts (issue 12): new lines and/or a new delivery point.

The amended order goes through intake's checks, and the amendment is all or nothing: it is applied only
when the amended order passes every one of them, otherwise it is refused and the order stays exactly as
it was (it keeps its stock, its shipments and its place in the queue):

* shape (422 ``invalid_order``): quantities, prices, coordinates, total; unknown SKUs (422 ``unknown_sku``,
  naming every one). A line without ``unit_price`` takes the catalogue price.
* price (409 ``amendment_price_conflict``): a quoted price that is new on the order (not the same SKU at
  the same price as a line already accepted) and deviates from the catalogue beyond the tolerance.
* credit (409 ``amendment_credit_refused``): when the total grows, or the order had not passed the credit
  check yet, the customer's open exposure plus the new total must fit its (effective) limit and nothing may
  be overdue.
* stock (409 ``amendment_stock_shortage``): allocation is re-planned over what is free plus what the order
  already holds; only the difference is reserved (atomically per warehouse) and what is no longer needed
  is released.

Only orders not yet picking can be amended: ``credit_review``, ``stock_locked``, ``allocated``, and
``on_hold`` when held before picking by exceptions an amendment answers (price, credit, stock shortage);
those exceptions are closed as superseded and the order goes on to ``allocated``. Anything else is 409
``order_not_amendable``; a paid order's total cannot change (409 ``order_already_paid``).

Shipments follow the new plan (``amendment_shipments``): a waybill whose load or drop-off changes is
cancelled and the shipment is assigned again. The amendment is recorded (``order_amendments``), on the
timeline (``order_amended``) and in the outbox. An ``Idempotency-Key`` makes a retry answer the order
without amending it twice; the same key with another body is 409 ``idempotency_key_reused``.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import delete, select

from foundation.clock import utc_now
from foundation.errors import Conflict
from foundation.money import MONEY_QUANTUM
from geo.distance import haversine_m
from orders_core.master_data.repository import MasterDataRepository
from orders_core.orders.allocation import AllocationPlan, describe_shortage, plan_allocation
from orders_core.orders.amendment_shipments import follow_plan
from orders_core.orders.amendment_tables import OrderAmendmentRow
from orders_core.orders.approval_terms import CREDIT_KINDS, PRICE_KIND, PaidOrderPriceChange, amount
from orders_core.orders.intake import IdempotencyKeyReused, UnknownSku, canonical_body_sha256, check_order_shape
from orders_core.orders.lifecycle import OrderNotFound, advance_order, load_order, record_order_event
from orders_core.orders.model import (
    DeliveryPoint,
    ExceptionStatus,
    OrderLine,
    OrderStatus,
    OrderView,
    PaymentStatus,
    PlaceOrder,
)
from orders_core.orders.pipeline import MAX_REPLANS, StockPort, credit_problem, price_conflicts
from orders_core.orders.repository import ORDER_LINES, OrderRepository, PricedLine, write_pending_history
from orders_core.orders.tables import OrderRow, delivery_cell_columns
from orders_core.stock.model import InsufficientStock, ReservationLine
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory

#: Statuses an order may be amended in (``on_hold`` counts when it was held in one of them).
AMENDABLE = frozenset({OrderStatus.CREDIT_REVIEW, OrderStatus.STOCK_LOCKED, OrderStatus.ALLOCATED})
#: Exceptions an amendment answers: it re-runs their check (closed as superseded when it passes).
SUPERSEDED_KINDS = frozenset({PRICE_KIND, "stock_shortage", *CREDIT_KINDS})
#: Exceptions that do not hold the order and belong to shipments an amendment may replace.
SHIPMENT_KINDS = frozenset({"no_carrier_in_range"})


class OrderNotAmendable(Conflict):
    """Picking has started (or the order is closed, or held for something an amendment does not answer)."""

    code = "order_not_amendable"


class AmendmentPriceConflict(Conflict):
    """A new quoted price deviates from the catalogue beyond the tolerance."""

    code = "amendment_price_conflict"


class AmendmentCreditRefused(Conflict):
    """The amended total does not fit the customer's credit, or the customer has overdue amounts."""

    code = "amendment_credit_refused"


class AmendmentStockShortage(Conflict):
    """The amended lines cannot be served from stock (free stock plus what the order holds)."""

    code = "amendment_stock_shortage"


class AmendStockPort(StockPort, Protocol):
    """What an amendment needs from the stock service beyond the pipeline's port."""

    def reservations_of(self, uow: UnitOfWork, order_id: str) -> list[ReservationLine]: ...

    def release_lines(
        self, uow: UnitOfWork, order_id: str, lines: Sequence[ReservationLine]
    ) -> list[ReservationLine]: ...


@dataclass(frozen=True)
class AmendLine:
    """A line of the amended order; ``unit_price`` None takes the catalogue price."""

    sku: str
    qty: int
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class AmendOrder:
    """The change: new lines (replacing all lines) and/or a new delivery point; at least one of them."""

    lines: tuple[AmendLine, ...] | None = None
    delivery: DeliveryPoint | None = None
    reason: str | None = None


@dataclass(frozen=True)
class AmendedOrder:
    """What ``amend`` answers: the order as stored, and whether this call changed it (False for a replay)."""

    order: OrderView
    amended: bool
    amendment_id: str


def amend(
    new_uow: UnitOfWorkFactory,
    stock: AmendStockPort,
    order_id: str,
    command: AmendOrder,
    *,
    actor: str,
    price_tolerance: Decimal,
    idempotency_key: str | None = None,
    customer_id: str | None = None,
) -> AmendedOrder:
    """Amend an order in its own transaction (see ``amend_order``) and answer it as stored.

    With ``customer_id`` the order must be that customer's (another customer's order is 404).
    """
    with new_uow() as uow:
        if customer_id is not None and load_order(uow, order_id).customer_id != customer_id:
            raise OrderNotFound(f"no order {order_id!r}")
        amendment_id, amended = amend_order(
            uow,
            stock,
            order_id,
            command,
            actor=actor,
            price_tolerance=price_tolerance,
            idempotency_key=idempotency_key,
        )
        view = OrderRepository(uow.session).view(order_id)
        uow.commit()
    assert view is not None  # locked and amended just above
    return AmendedOrder(order=view, amended=amended, amendment_id=amendment_id)


def amend_order(
    uow: UnitOfWork,
    stock: AmendStockPort,
    order_id: str,
    command: AmendOrder,
    *,
    actor: str,
    price_tolerance: Decimal,
    idempotency_key: str | None = None,
) -> tuple[str, bool]:
    """The body of ``amend`` for callers with a transaction; answers (amendment id, applied now).

    Every check runs before anything is written; a refusal raises and the caller's rollback undoes nothing
    because nothing was done (the stock reservation of the difference is the last step and compensated).
    """
    if command.lines is None and command.delivery is None:
        from orders_core.orders.intake import InvalidOrder

        raise InvalidOrder("an amendment needs lines and/or delivery")
    order = load_order(uow, order_id)
    body_sha256 = canonical_body_sha256(_command_body(command))
    if idempotency_key is not None:
        replay = _replay(uow, order_id, idempotency_key, body_sha256)
        if replay is not None:
            return replay, False
    _check_amendable(uow, order)
    repository = OrderRepository(uow.session)
    old_lines = repository.priced_lines(order_id)
    old_delivery = _delivery_of(order)
    delivery = command.delivery or old_delivery
    new_lines = _priced(uow, command.lines, old_lines) if command.lines is not None else old_lines
    total = check_order_shape(
        PlaceOrder(
            customer_id=order.customer_id,
            lines=tuple(OrderLine(line.sku, line.qty, line.unit_price) for line in new_lines),
            delivery=delivery,
        )
    ).quantize(MONEY_QUANTUM)
    old_total = Decimal(order.total)
    if total != old_total and order.payment_status == PaymentStatus.PAID.value:
        raise PaidOrderPriceChange(f"order {order_id} is paid ({old_total}); its total cannot change to {total}")
    _check_prices(new_lines, old_lines, price_tolerance)
    if not order.credit_ok or total > old_total:
        _check_credit(uow, order, total)
    plan = _reserve_difference(uow, stock, order_id, new_lines, delivery)
    # --- every check passed: write -------------------------------------------------------------
    amendment_id = "amd_" + secrets.token_hex(8)
    closed = _close_superseded(uow, order_id, actor=actor, note=f"superseded by amendment {amendment_id}")
    if command.lines is not None:
        _replace_order_lines(uow, order_id, new_lines)
    moved_m = haversine_m(old_delivery.lat, old_delivery.lng, delivery.lat, delivery.lng)
    _apply_delivery(order, delivery)
    order.total = total
    order.price_ok = True
    order.credit_ok = True
    order.updated_at = utc_now()
    shipment_notes = follow_plan(uow, order_id, plan, drop_off_moved=delivery != old_delivery)
    changes = _changes(old_lines, new_lines, old_total, total, old_delivery, delivery, moved_m)
    summary = "; ".join(
        [*changes["summary"], *shipment_notes, *(f"exception {e} closed" for e in closed)]
        + ([f"reason: {command.reason}"] if command.reason else [])
    )
    record_order_event(
        uow,
        order_id,
        actor=actor,
        reason_code="order_amended",
        reason=summary,
        payload={"amendment_id": amendment_id, "total": str(total), "previous_total": str(old_total)},
    )
    _walk_to_allocated(uow, order, actor=actor, amendment_id=amendment_id)
    uow.session.add(
        OrderAmendmentRow(
            id=amendment_id,
            order_id=order_id,
            idempotency_key=idempotency_key,
            body_sha256=body_sha256,
            actor=actor,
            changes={**changes, "shipments": shipment_notes, "closed_exceptions": closed, "reason": command.reason},
            created_at=utc_now(),
        )
    )
    uow.session.flush()
    return amendment_id, True


# --- checks -------------------------------------------------------------------------------------------


def _replay(uow: UnitOfWork, order_id: str, key: str, body_sha256: str) -> str | None:
    """The amendment this key already made on this order (409 if its body differed), or None."""
    row = uow.session.scalars(
        select(OrderAmendmentRow).where(
            OrderAmendmentRow.order_id == order_id, OrderAmendmentRow.idempotency_key == key
        )
    ).first()
    if row is None:
        return None
    if row.body_sha256 != body_sha256:
        raise IdempotencyKeyReused(f"Idempotency-Key {key!r} was already used with a different amendment")
    return row.id


def _check_amendable(uow: UnitOfWork, order: OrderRow) -> None:
    status = OrderStatus(order.status)
    held_in = OrderStatus(order.held_from) if status is OrderStatus.ON_HOLD and order.held_from else None
    if status not in AMENDABLE and held_in not in AMENDABLE:
        where = f"on hold in {held_in}" if held_in else str(status)
        raise OrderNotAmendable(
            f"order {order.id} is {where}; only orders not yet picking can be amended"
            " (credit_review, stock_locked, allocated, or on hold before picking)"
        )
    others = [
        e
        for e in OrderRepository(uow.session).exception_rows_of(order.id, status=ExceptionStatus.OPEN.value)
        if e.kind not in SUPERSEDED_KINDS | SHIPMENT_KINDS
    ]
    if others:
        listed = ", ".join(f"{e.id} ({e.kind})" for e in others)
        raise OrderNotAmendable(f"order {order.id} has open exceptions an amendment does not resolve: {listed}")


def _priced(uow: UnitOfWork, lines: Sequence[AmendLine], old: Sequence[PricedLine]) -> list[PricedLine]:
    """The amended lines with quoted (or catalogue) and catalogue prices; 422 naming every unknown SKU."""
    if not lines:
        from orders_core.orders.intake import InvalidOrder

        raise InvalidOrder("lines must contain at least one line")
    skus = MasterDataRepository(uow.session).get_skus([line.sku for line in lines])
    unknown = [f"lines[{i}].sku {line.sku!r}" for i, line in enumerate(lines) if line.sku not in skus]
    if unknown:
        raise UnknownSku(f"unknown sku: {', '.join(unknown)}")
    return [
        PricedLine(
            line_no=index + 1,
            sku=line.sku,
            qty=line.qty,
            unit_price=skus[line.sku].unit_price if line.unit_price is None else line.unit_price,
            catalogue_price=skus[line.sku].unit_price,
        )
        for index, line in enumerate(lines)
    ]


def _check_prices(new: Sequence[PricedLine], old: Sequence[PricedLine], tolerance: Decimal) -> None:
    """A price already accepted on the order (same SKU, same price) stays accepted; new ones are checked."""
    accepted = {(line.sku, Decimal(line.unit_price)) for line in old}
    fresh = [line for line in new if (line.sku, Decimal(line.unit_price)) not in accepted]
    conflicts = price_conflicts(fresh, tolerance)
    if conflicts:
        listed = ", ".join(
            f"line {c['line']} {c['sku']} quoted {amount(Decimal(c['quoted_unit_price']))}"
            f" vs catalogue {amount(Decimal(c['catalogue_unit_price']))}"
            for c in conflicts
        )
        raise AmendmentPriceConflict(
            f"quoted unit price differs from the catalogue by more than {tolerance:%}: {listed}; omit unit_price"
            " to take the catalogue price",
            details={"lines": conflicts},
        )


def _check_credit(uow: UnitOfWork, order: OrderRow, total: Decimal) -> None:
    customer = MasterDataRepository(uow.session).lock_customer(order.customer_id)
    assert customer is not None  # customers are never deleted
    exposure = OrderRepository(uow.session).open_exposure(order.customer_id, excluding_order_id=order.id)
    problem = credit_problem(customer, exposure, total)
    if problem is not None:
        kind, _message, details = problem
        raise AmendmentCreditRefused(
            f"{kind}: open exposure {amount(exposure)} + amended order {amount(total)} against the effective limit"
            f" {amount(customer.effective_credit_limit)} of customer {order.customer_id}"
            + (f", {amount(customer.overdue_amount)} overdue" if customer.overdue_amount > 0 else ""),
            details={"kind": kind, **details},
        )


def _demand(lines: Sequence[PricedLine]) -> dict[str, int]:
    demand: dict[str, int] = {}
    for line in lines:
        demand[line.sku] = demand.get(line.sku, 0) + line.qty
    return demand


def _reserve_difference(
    uow: UnitOfWork, stock: AmendStockPort, order_id: str, lines: Sequence[PricedLine], delivery: DeliveryPoint
) -> AllocationPlan:
    """Re-plan over free stock plus the order's own holds; reserve what the plan needs beyond the holds
    (all or nothing per warehouse), then release what it no longer needs. 409 when stock falls short."""
    demand = _demand(lines)
    held = {(h.warehouse_id, h.sku): h.qty for h in stock.reservations_of(uow, order_id)}
    sites = MasterDataRepository(uow.session).warehouse_sites()
    point = (delivery.lat, delivery.lng)
    skus: Collection[str] = set(demand) | {sku for _, sku in held}
    lost_races = 0
    available: dict[str, dict[str, int]] = {}
    for _attempt in range(MAX_REPLANS + 1):
        available = {wh: dict(per_sku) for wh, per_sku in stock.available_by_warehouse(uow, skus).items()}
        for (wh, sku), qty in held.items():
            available.setdefault(wh, {})[sku] = available.get(wh, {}).get(sku, 0) + qty
        plan = plan_allocation(demand, available, sites, point)
        if plan is None:
            break
        target = {(s.warehouse_id, sku): qty for s in plan.shipments for sku, qty in s.lines}
        more = [
            ReservationLine(wh, sku, qty - held.get((wh, sku), 0))
            for (wh, sku), qty in sorted(target.items())
            if qty > held.get((wh, sku), 0)
        ]
        try:
            stock.reserve(uow, order_id, more)
        except InsufficientStock:
            lost_races += 1
            continue
        less = [
            ReservationLine(wh, sku, qty - target.get((wh, sku), 0))
            for (wh, sku), qty in sorted(held.items())
            if qty > target.get((wh, sku), 0)
        ]
        stock.release_lines(uow, order_id, less)
        return plan
    report = describe_shortage(demand, available, sites, point)
    missing = ", ".join(f"{sku} x{qty}" for sku, qty in sorted(report.missing.items()))
    message = (
        f"not enough stock for the amended order (missing {missing}, counting what the order already holds)"
        if report.missing
        else f"stock changed under concurrent orders {lost_races} times; try again"
    )
    raise AmendmentStockShortage(message, details=report.as_dict())


# --- writes -------------------------------------------------------------------------------------------


def _close_superseded(uow: UnitOfWork, order_id: str, *, actor: str, note: str) -> list[str]:
    now = utc_now()
    closed = []
    for row in OrderRepository(uow.session).exception_rows_of(order_id, status=ExceptionStatus.OPEN.value):
        if row.kind in SUPERSEDED_KINDS | SHIPMENT_KINDS:
            row.status = ExceptionStatus.CLOSED.value
            row.resolved_at = now
            row.resolved_by = actor
            row.note = note
            closed.append(row.id)
    return closed


def _replace_order_lines(uow: UnitOfWork, order_id: str, lines: Sequence[PricedLine]) -> None:
    write_pending_history(uow.session)
    uow.session.execute(delete(ORDER_LINES).where(ORDER_LINES.c.order_id == order_id))
    uow.session.execute(
        ORDER_LINES.insert(),
        [
            {
                "order_id": order_id,
                "line_no": line.line_no,
                "sku": line.sku,
                "qty": line.qty,
                "unit_price": line.unit_price,
                "catalogue_price": line.catalogue_price,
            }
            for line in lines
        ],
    )


def _delivery_of(order: OrderRow) -> DeliveryPoint:
    return DeliveryPoint(
        lat=order.delivery_lat,
        lng=order.delivery_lng,
        address=order.delivery_address,
        contact_name=order.delivery_contact_name,
        contact_phone=order.delivery_contact_phone,
        cash_on_delivery=bool(order.cash_on_delivery),
    )


def _apply_delivery(order: OrderRow, delivery: DeliveryPoint) -> None:
    from shapely.geometry import Point

    order.delivery_lat = delivery.lat
    order.delivery_lng = delivery.lng
    order.delivery_address = delivery.address
    order.delivery_contact_name = delivery.contact_name
    order.delivery_contact_phone = delivery.contact_phone
    order.cash_on_delivery = delivery.cash_on_delivery
    order.delivery_location = Point(delivery.lng, delivery.lat)
    for column, cell in delivery_cell_columns(delivery.lat, delivery.lng).items():
        setattr(order, column, cell)


def _walk_to_allocated(uow: UnitOfWork, order: OrderRow, *, actor: str, amendment_id: str) -> None:
    """A held order leaves hold (to where it was held) and goes on to ``allocated``, as after intake."""
    if order.status == OrderStatus.ON_HOLD.value:
        back_to = OrderStatus(order.held_from or OrderStatus.CREDIT_REVIEW.value)
        advance_order(
            uow, order.id, back_to, actor=actor, reason_code="order_amended", reason=f"amendment {amendment_id}"
        )
    if order.status == OrderStatus.CREDIT_REVIEW.value:
        advance_order(
            uow, order.id, OrderStatus.STOCK_LOCKED, actor="system", reason_code="stock_reserved", reason="amended"
        )
    if order.status == OrderStatus.STOCK_LOCKED.value:
        advance_order(
            uow, order.id, OrderStatus.ALLOCATED, actor="system", reason_code="allocated", reason="amended order"
        )


def _changes(
    old_lines: Sequence[PricedLine],
    new_lines: Sequence[PricedLine],
    old_total: Decimal,
    total: Decimal,
    old_delivery: DeliveryPoint,
    delivery: DeliveryPoint,
    moved_m: float,
) -> dict[str, Any]:
    """Before and after, for the timeline (``summary``) and the amendment record."""

    def listed(lines: Sequence[PricedLine]) -> list[dict[str, Any]]:
        return [{"sku": x.sku, "qty": x.qty, "unit_price": amount(x.unit_price)} for x in lines]

    summary: list[str] = []
    before, after = listed(old_lines), listed(new_lines)
    if before != after:
        text = ", ".join(f"{x['sku']} x{x['qty']} @{x['unit_price']}" for x in after)
        summary.append(f"lines now {text}; total {amount(old_total)} -> {amount(total)}")
    if delivery != old_delivery:
        summary.append(f"delivery moved {moved_m / 1000:.2f} km to ({delivery.lat}, {delivery.lng})")
    if not summary:
        summary.append("nothing changed")
    return {
        "summary": summary,
        "lines_before": before,
        "lines_after": after,
        "total_before": str(old_total),
        "total_after": str(total),
        "delivery_before": {"lat": old_delivery.lat, "lng": old_delivery.lng, "address": old_delivery.address},
        "delivery_after": {"lat": delivery.lat, "lng": delivery.lng, "address": delivery.address},
    }


def _command_body(command: AmendOrder) -> dict[str, Any]:
    body: dict[str, Any] = {"reason": command.reason}
    if command.lines is not None:
        body["lines"] = [
            {"sku": x.sku, "qty": x.qty, "unit_price": None if x.unit_price is None else str(x.unit_price.normalize())}
            for x in command.lines
        ]
    if command.delivery is not None:
        d = command.delivery
        body["delivery"] = {
            "lat": d.lat,
            "lng": d.lng,
            "address": d.address,
            "contact_name": d.contact_name,
            "contact_phone": d.contact_phone,
            "cash_on_delivery": d.cash_on_delivery,
        }
    return body
