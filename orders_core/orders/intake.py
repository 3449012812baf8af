"""Order intake: validate, store (idempotently), then run the automatic pipeline in the same transaction.

``submit_order`` is the use case (it owns its transaction and the retry of a lost Idempotency-Key race);
``place_order`` is its body, for callers that compose intake into a transaction of their own.
"""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from shapely.geometry import Point
from sqlalchemy.exc import IntegrityError

from foundation.clock import utc_now
from foundation.errors import Conflict, InvalidInput
from foundation.money import MONEY_QUANTUM
from orders_core.carriers.coverage import fleet_coverage
from orders_core.master_data.model import Customer
from orders_core.master_data.repository import MasterDataRepository
from orders_core.orders.address_check import AddressPolicy, address_findings
from orders_core.orders.exceptions_flow import open_exception
from orders_core.orders.lifecycle import OrderNotFound, mark_locked, notify_after_commit
from orders_core.orders.model import (
    DeliveryPoint,
    OrderLine,
    OrderStatus,
    OrderView,
    PaymentStatus,
    PlaceOrder,
    TimelineEntry,
)
from orders_core.orders.pipeline import StockPort, continue_pipeline
from orders_core.orders.promise import DEFAULT_DELIVERY_TARGETS, DeliveryTargets, promised_delivery
from orders_core.orders.repository import OrderRepository, PricedLine
from orders_core.orders.tables import OrderRow, delivery_cell_columns
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory

DEFAULT_ADDRESS_POLICY = AddressPolicy()

#: Money columns hold 14 integer digits.
MAX_ORDER_TOTAL = Decimal("1e13")


class InvalidOrder(InvalidInput):
    """The order names an unknown customer or SKU, a non-positive quantity, or bad coordinates."""

    code = "invalid_order"


class UnknownCustomer(InvalidOrder):
    code = "unknown_customer"


class UnknownSku(InvalidOrder):
    code = "unknown_sku"


class DeliveryRequired(InvalidOrder):
    """No delivery point given and none registered for the customer."""

    code = "delivery_required"


class IdempotencyKeyReused(Conflict):
    """The same Idempotency-Key arrived with a different body."""

    code = "idempotency_key_reused"


@dataclass(frozen=True)
class PlacedOrder:
    """The outcome of intake: the order id, and whether this call created it (False for a replay)."""

    order_id: str
    created: bool


@dataclass(frozen=True)
class SubmittedOrder:
    """What ``submit_order`` answers: the order as stored, and whether this call created it."""

    order: OrderView
    created: bool


def new_tracking_token() -> str:
    """The secret of an order's public tracking link: 192 random bits, URL-safe (no I/O, no query)."""
    return secrets.token_urlsafe(24)


def canonical_body_sha256(body: dict[str, Any]) -> str:
    """Hash of a request body independent of key order and whitespace (numbers as given)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()


def check_order_shape(command: PlaceOrder) -> Decimal:
    """Raise InvalidOrder (422) for coordinates, quantities, prices or totals out of range (no I/O);
    answers the order total (unrounded) of the lines that carry a price (defaults are filled in later)."""
    delivery = command.delivery
    if delivery is not None and not (math.isfinite(delivery.lat) and -90.0 <= delivery.lat <= 90.0):
        raise InvalidOrder(f"delivery.lat must be within [-90, 90], got {delivery.lat}")
    if delivery is not None and not (math.isfinite(delivery.lng) and -180.0 <= delivery.lng <= 180.0):
        raise InvalidOrder(f"delivery.lng must be within [-180, 180], got {delivery.lng}")
    if not command.lines:
        raise InvalidOrder("lines must contain at least one line")
    for index, line in enumerate(command.lines):
        if line.qty <= 0:
            raise InvalidOrder(f"lines[{index}].qty must be a positive integer, got {line.qty}")
        if line.unit_price is not None and (not line.unit_price.is_finite() or line.unit_price < 0):
            raise InvalidOrder(f"lines[{index}].unit_price must be a finite number >= 0, got {line.unit_price}")
    total = sum((line.unit_price * line.qty for line in command.lines if line.unit_price is not None), Decimal("0"))
    if total >= MAX_ORDER_TOTAL:
        raise InvalidOrder(f"lines: order total {total} exceeds the largest accepted total {MAX_ORDER_TOTAL}")
    return total


def catalogue_prices(uow: UnitOfWork, command: PlaceOrder) -> dict[str, Decimal]:
    """sku -> catalogue price for the order's lines; UnknownSku (422) names every unknown one."""
    skus = MasterDataRepository(uow.session).get_skus([line.sku for line in command.lines])
    unknown = [(index, line.sku) for index, line in enumerate(command.lines) if line.sku not in skus]
    if unknown:
        named = ", ".join(f"lines[{index}].sku {sku!r}" for index, sku in unknown)
        raise UnknownSku(
            f"unknown sku{'s' if len(unknown) > 1 else ''}: {named}",
            details={"unknown_skus": sorted({sku for _, sku in unknown})},
        )
    return {sku: item.unit_price for sku, item in skus.items()}


def with_defaults(
    command: PlaceOrder, catalogue: dict[str, Decimal], customer: Customer
) -> tuple[tuple[OrderLine, ...], DeliveryPoint]:
    """The order's lines priced (a line without ``unit_price`` at the catalogue price) and its delivery
    point (the customer's registered location when none is given; DeliveryRequired (422) if it has none)."""
    lines = tuple(
        OrderLine(
            sku=line.sku, qty=line.qty, unit_price=catalogue[line.sku] if line.unit_price is None else line.unit_price
        )
        for line in command.lines
    )
    delivery = command.delivery
    if delivery is None:
        if customer.lat is None or customer.lng is None:
            raise DeliveryRequired(
                f"delivery: customer {customer.id!r} has no registered location; give delivery {{lat, lng}}"
                f" or register one with PUT /v1/customers/{customer.id} (location)"
            )
        delivery = DeliveryPoint(lat=customer.lat, lng=customer.lng)
    return lines, delivery


def place_order(
    uow: UnitOfWork,
    stock: StockPort,
    command: PlaceOrder,
    *,
    actor: str,
    price_tolerance: Decimal,
    idempotency_key: str | None = None,
    payment_timeout_s: float | None = None,
    body_sha256: str | None = None,
    delivery_targets: DeliveryTargets = DEFAULT_DELIVERY_TARGETS,
    address_policy: AddressPolicy = DEFAULT_ADDRESS_POLICY,
) -> PlacedOrder:
    """Store a new order and run the pipeline (price, credit, stock, allocation); the caller commits.

    With an idempotency key, a replay with the same body answers the stored order and a different
    body is refused (409 idempotency_key_reused). Invalid input raises before anything is written.
    For prepaid customers ``payment_timeout_s`` sets when payment is expected on the first timeline entry.
    The order promises delivery by ``command.promised_by`` or placement + ``delivery_targets.lead_time_s``.
    A delivery point far from the customer or outside the fleet's coverage opens an address exception
    (``address_check``) without holding the order.
    """
    check_order_shape(command)
    repository = OrderRepository(uow.session)
    # One intake at a time per customer: the credit check sees every earlier order, and a concurrent
    # request with the same key finds the first one's key once it holds the lock.
    customer = MasterDataRepository(uow.session).lock_customer(command.customer_id)
    if customer is None:
        raise UnknownCustomer(f"customer_id: unknown customer {command.customer_id!r}")
    # The key's record and the customer's open exposure (for the credit check) in one round trip; read
    # under the customer lock, so every earlier order of this customer is counted.
    seen, exposure = repository.replay_and_exposure(idempotency_key, command.customer_id)
    if idempotency_key is not None:
        body_sha256 = body_sha256 or canonical_body_sha256(_command_body(command))
        replay = _replay(seen, idempotency_key, body_sha256)
        if replay is not None:
            return replay
    catalogue = catalogue_prices(uow, command)
    priced, delivery = with_defaults(command, catalogue, customer)
    total = check_order_shape(replace(command, lines=priced, delivery=delivery)).quantize(MONEY_QUANTUM)
    order_id = "ord_" + secrets.token_hex(8)
    now = utc_now()
    promised_by = promised_delivery(now, command.promised_by, delivery_targets)
    row = OrderRow(
        id=order_id,
        customer_id=command.customer_id,
        status=OrderStatus.PLACED.value,
        held_from=None,
        price_ok=False,
        credit_ok=False,
        total=total,
        payment_status=(PaymentStatus.PENDING if customer.prepaid else PaymentStatus.NOT_REQUIRED).value,
        delivery_lat=delivery.lat,
        delivery_lng=delivery.lng,
        delivery_address=delivery.address,
        delivery_contact_name=delivery.contact_name,
        delivery_contact_phone=delivery.contact_phone,
        cash_on_delivery=delivery.cash_on_delivery,
        delivery_location=Point(delivery.lng, delivery.lat),
        **delivery_cell_columns(delivery.lat, delivery.lng),
        promised_by=promised_by,
        created_at=now,
        updated_at=now,
        priority=command.priority,
        backorder_of=command.backorder_of,
        tracking_token=new_tracking_token(),
    )
    lines = [
        PricedLine(
            line_no=index + 1,
            sku=line.sku,
            qty=line.qty,
            unit_price=line.unit_price,
            catalogue_price=catalogue[line.sku],
        )
        for index, line in enumerate(priced)
    ]
    repository.add(row, lines)
    mark_locked(uow, row)
    if idempotency_key is not None:
        assert body_sha256 is not None
        repository.add_idempotency_key(idempotency_key, body_sha256, order_id)
    repository.add_timeline(
        order_id,
        TimelineEntry(
            status=OrderStatus.PLACED.value,
            at=now,
            actor=actor,
            reason_code="order_placed",
            reason=f"{len(lines)} line(s), total {total}" + (", awaiting prepayment" if customer.prepaid else ""),
            # A prepaid order must be paid by then or it is cancelled (timeouts.release_expired_orders).
            expected_next_at=now + timedelta(seconds=payment_timeout_s)
            if customer.prepaid and payment_timeout_s is not None
            else None,
        ),
    )
    repository.add_outbox(
        "order.placed", order_id, {"order_id": order_id, "customer_id": command.customer_id, "total": str(total)}
    )
    notify_after_commit(uow, "", OrderStatus.PLACED.value)
    coverage = fleet_coverage(uow.session) if address_policy.check_coverage else None
    for finding in address_findings(delivery, customer, coverage, address_policy):
        open_exception(uow, order_id, finding.kind, finding.message, finding.details, hold=False, actor=actor)
    # The order row is inserted once, at commit, with the status the pipeline left: nothing in the
    # pipeline reads it back through SQL (load_order answers the row held by this unit of work).
    with uow.session.no_autoflush:
        continue_pipeline(
            uow,
            stock,
            order_id,
            price_tolerance=price_tolerance,
            actor=actor,
            lines=lines,
            customer=customer,
            exposure=exposure,
        )
    return PlacedOrder(order_id=order_id, created=True)


def submit_order(
    new_uow: UnitOfWorkFactory,
    stock: StockPort,
    command: PlaceOrder,
    *,
    actor: str,
    price_tolerance: Decimal,
    idempotency_key: str | None = None,
    payment_timeout_s: float | None = None,
    delivery_targets: DeliveryTargets = DEFAULT_DELIVERY_TARGETS,
    address_policy: AddressPolicy = DEFAULT_ADDRESS_POLICY,
) -> SubmittedOrder:
    """Place an order in its own transaction (see ``place_order``) and answer it as stored.

    A blank ``idempotency_key`` is refused (422). When a concurrent request with the same key commits first,
    the unique key makes this transaction fail; it is retried once and then answers that request's order.
    """
    if idempotency_key is not None and not idempotency_key.strip():
        raise InvalidInput("Idempotency-Key must not be blank")
    for attempt in range(2):
        try:
            with new_uow() as uow:
                placed = place_order(
                    uow,
                    stock,
                    command,
                    actor=actor,
                    price_tolerance=price_tolerance,
                    idempotency_key=idempotency_key,
                    payment_timeout_s=payment_timeout_s,
                    delivery_targets=delivery_targets,
                    address_policy=address_policy,
                )
                # A new order is answered from what this call wrote (no query); a replay is read back in
                # the same transaction (no second transaction, on SQLite no second turn of the writer queue).
                repository = OrderRepository(uow.session)
                view = repository.view_as_written(placed.order_id) if placed.created else None
                view = view or repository.view(placed.order_id)
                uow.commit()
            break
        except IntegrityError:
            # A concurrent request with the same Idempotency-Key won; the retry answers its order.
            if attempt or idempotency_key is None:
                raise
    if view is None:  # pragma: no cover - the order was just stored or replayed
        raise OrderNotFound(f"no order {placed.order_id!r}")
    return SubmittedOrder(order=view, created=placed.created)


def _replay(seen: tuple[str, str] | None, key: str, body_sha256: str) -> PlacedOrder | None:
    """The order an earlier request with this key made (409 if its body differed), or None."""
    if seen is None:
        return None
    if seen[0] != body_sha256:
        raise IdempotencyKeyReused(f"Idempotency-Key {key!r} was already used with a different request body")
    return PlacedOrder(order_id=seen[1], created=False)


def _command_body(command: PlaceOrder) -> dict[str, Any]:
    """The body as sent, for its Idempotency-Key hash: a field left out (a line's ``unit_price``, the
    ``delivery``) is left out of the hash too, so a later catalogue or customer change does not make a
    replay look like another request, and bodies that give every field hash as they always did."""
    body: dict[str, Any] = {
        "customer_id": command.customer_id,
        "lines": [
            {"sku": line.sku, "qty": line.qty}
            | ({} if line.unit_price is None else {"unit_price": str(line.unit_price.normalize())})
            for line in command.lines
        ],
    }
    if command.delivery is None:
        if command.promised_by is not None:
            body["promised_by"] = command.promised_by.isoformat()
        return body
    delivery: dict[str, Any] = {
        "lat": command.delivery.lat,
        "lng": command.delivery.lng,
        "address": command.delivery.address,
    }
    if command.promised_by is not None:  # only when given: keys stored before promises keep their hash
        delivery["promised_by"] = command.promised_by.isoformat()
    # The transport fields join the hash only when given, so bodies without them hash as before.
    for key in ("contact_name", "contact_phone"):
        if getattr(command.delivery, key) is not None:
            delivery[key] = getattr(command.delivery, key)
    if command.delivery.cash_on_delivery:
        delivery["cash_on_delivery"] = True
    body["delivery"] = delivery
    if command.priority != "normal":  # only when given: keys stored before priorities keep their hash
        body["priority"] = command.priority
    return body
