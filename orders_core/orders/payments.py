"""Payment-gateway notifications: signature check, replay protection, and the order's payment status.

Scheme: the gateway sends ``X-Timestamp`` (unix seconds) and ``X-Signature``, the hex HMAC-SHA256 of
``"{timestamp}.{raw body}"`` keyed with the shared payment secret. A timestamp outside the window is
refused (a captured request cannot be replayed later) and a transaction id seen before is answered as a
duplicate without changing anything (the gateway retries until it gets a 2xx).

``record_payment`` is the use case (its own transaction); ``apply_payment_notification`` is its body.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.exc import IntegrityError

from foundation.errors import DispatchError, InvalidInput
from orders_core.orders.lifecycle import load_order, record_order_event
from orders_core.orders.model import PaymentStatus
from orders_core.orders.repository import OrderRepository
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory

_HEX_SHA256 = re.compile(r"^\s*[0-9A-Fa-f]{64}\s*$")


class InvalidSignature(DispatchError):
    """The notification is not signed with the shared secret."""

    code = "invalid_signature"
    http_status = 401


class StaleTimestamp(DispatchError):
    """The notification's timestamp is outside the accepted window."""

    code = "stale_timestamp"
    http_status = 401


class AmountMismatch(InvalidInput):
    """The paid amount differs from the order total."""

    code = "amount_mismatch"


def sign_payment(secret: str, timestamp: str, raw_body: bytes) -> str:
    """The signature a gateway sends for ``raw_body`` at ``timestamp`` (hex HMAC-SHA256)."""
    message = timestamp.encode() + b"." + raw_body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_payment_signature(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    raw_body: bytes,
    *,
    window_s: float,
    now_s: float | None = None,
) -> None:
    """Raise InvalidSignature / StaleTimestamp (401) unless the notification is authentic and fresh.

    Malformed headers are refused before the HMAC check: a non-hex signature (non-ASCII text cannot be
    compared in constant time) is InvalidSignature, and a timestamp that is not a finite number is
    StaleTimestamp ("nan" would slip through every window comparison and defeat replay protection).
    """
    if not signature or not timestamp:
        raise InvalidSignature("missing X-Signature or X-Timestamp header")
    if not _HEX_SHA256.match(signature):
        raise InvalidSignature("X-Signature must be the 64-character hex HMAC-SHA256 of '{X-Timestamp}.{body}'")
    try:
        sent_s = float(timestamp)
    except ValueError:
        raise StaleTimestamp(f"X-Timestamp must be unix seconds, got {timestamp[:40]!r}") from None
    if not math.isfinite(sent_s):
        raise StaleTimestamp(f"X-Timestamp must be a finite number of unix seconds, got {timestamp[:40]!r}")
    expected = sign_payment(secret, timestamp, raw_body).encode()
    if not hmac.compare_digest(expected, signature.strip().lower().encode()):
        raise InvalidSignature("X-Signature does not match the body and timestamp")
    now_s = time.time() if now_s is None else now_s
    if abs(now_s - sent_s) > window_s:
        raise StaleTimestamp(f"X-Timestamp is {abs(now_s - sent_s):.0f} s away from now (window {window_s:.0f} s)")


@dataclass(frozen=True)
class PaymentOutcome:
    """What a notification did: ``duplicate`` when its transaction id was seen before."""

    order_id: str
    payment_status: str
    duplicate: bool


_STATUS = {"paid": PaymentStatus.PAID, "failed": PaymentStatus.FAILED, "refunded": PaymentStatus.REFUNDED}


def apply_payment_notification(
    uow: UnitOfWork, *, transaction_id: str, order_id: str, status: str, amount: Decimal
) -> PaymentOutcome:
    """Record an authentic notification and update the order's payment status (the caller commits)."""
    repository = OrderRepository(uow.session)
    seen = repository.get_payment(transaction_id)
    if seen is not None:
        order = repository.get_row(seen.order_id)
        return PaymentOutcome(seen.order_id, order.payment_status if order else seen.status, duplicate=True)
    order = load_order(uow, order_id)  # locked once: record_order_event below reuses this row
    if status not in _STATUS:
        raise InvalidInput(f"status must be one of paid, failed, refunded; got {status!r}")
    if amount != Decimal(order.total):
        raise AmountMismatch(f"amount {amount} does not match the order total {Decimal(order.total)}")
    repository.add_payment(transaction_id, order_id, status, amount)
    order.payment_status = _STATUS[status].value
    record_order_event(
        uow,
        order_id,
        actor="payment_gateway",
        reason_code=f"payment_{status}",
        reason=f"payment {status}: {amount} (transaction {transaction_id})",
        payload={"transaction_id": transaction_id, "amount": str(amount), "payment_status": order.payment_status},
    )
    return PaymentOutcome(order_id, order.payment_status, duplicate=False)


def record_payment(
    new_uow: UnitOfWorkFactory, *, transaction_id: str, order_id: str, status: str, amount: Decimal
) -> PaymentOutcome:
    """Apply an authentic notification in its own transaction (see ``apply_payment_notification``).

    Two deliveries of one transaction id racing each other both see no payment row; the one committing
    second fails on the payments primary key. Its transaction is rolled back and the retry reads the
    stored row, so it answers ``duplicate`` like any later retry instead of a 500.
    """
    for attempt in range(2):
        try:
            with new_uow() as uow:
                outcome = apply_payment_notification(
                    uow, transaction_id=transaction_id, order_id=order_id, status=status, amount=amount
                )
                uow.commit()
            return outcome
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
