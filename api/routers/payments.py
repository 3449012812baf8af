"""Payment-gateway notifications (no bearer token: the gateway signs each request).

Signature scheme:

- ``X-Timestamp``: unix seconds when the gateway sent the request;
- ``X-Signature``: lowercase hex HMAC-SHA256 of ``"{X-Timestamp}.{raw request body}"``, keyed with the
  shared secret ``DISPATCH_PAYMENT_SECRET``;
- body: ``{"transaction_id", "order_id", "status": "paid" | "failed" | "refunded", "amount"}``.

Answers: 401 ``invalid_signature`` (missing or wrong signature), 401 ``stale_timestamp`` (more than
``DISPATCH_PAYMENT_WINDOW_S`` seconds from now, so captured requests cannot be replayed later), 200
``{"duplicate": true}`` for a transaction id already processed (nothing changes; gateways retry), 404
for an unknown order, 422 ``amount_mismatch`` when the amount is not the order total. A processed
notification sets the order's ``payment_status`` and appends a timeline entry (``payment_paid`` ...).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.container import Container
from api.deps import get_container
from api.schemas.payments import PaymentAnswer, PaymentNotification
from orders_core.orders.payments import record_payment, verify_payment_signature

router = APIRouter(prefix="/v1/payments", tags=["payments"])


@router.post("/notify", response_model=PaymentAnswer, openapi_extra={"security": []})
async def notify(request: Request, container: Container = Depends(get_container)) -> PaymentAnswer:
    """Apply a signed payment notification (idempotent by transaction id)."""
    raw_body = await request.body()
    verify_payment_signature(
        container.settings.payment_secret,
        request.headers.get("x-timestamp"),
        request.headers.get("x-signature"),
        raw_body,
        window_s=container.settings.payment_window_s,
    )
    try:
        body = PaymentNotification.model_validate_json(raw_body)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc
    # The database work runs in the thread pool, like every synchronous endpoint's.
    outcome = await run_in_threadpool(
        record_payment,
        container.uow,
        transaction_id=body.transaction_id,
        order_id=body.order_id,
        status=body.status,
        amount=body.amount,
    )
    return PaymentAnswer(order_id=outcome.order_id, payment_status=outcome.payment_status, duplicate=outcome.duplicate)
