"""Response bodies of the webhook desk: deliveries with their attempts, and replay answers."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from orders_core.transport.webhooks.model import AttemptView, DeliveryView


class AttemptOut(BaseModel):
    attempt_no: int
    at: datetime
    duration_ms: float
    outcome: str
    status_code: int | None
    error: str | None
    endpoint_url: str
    worker_id: str


class DeliveryOut(BaseModel):
    id: int
    webhook_id: str
    carrier_id: str
    type: str
    waybill_no: str
    endpoint_url: str | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    event_at: datetime
    created_at: datetime
    delivered_at: datetime | None
    attempt_log: list[AttemptOut]


class DeliveryPageOut(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = None


class ReplayedOut(BaseModel):
    replayed: int


def _attempt_out(view: AttemptView) -> AttemptOut:
    return AttemptOut(
        attempt_no=view.attempt_no,
        at=view.at,
        duration_ms=view.duration_ms,
        outcome=view.outcome,
        status_code=view.status_code,
        error=view.error,
        endpoint_url=view.endpoint_url,
        worker_id=view.worker_id,
    )


def delivery_out(view: DeliveryView) -> DeliveryOut:
    """The desk's view of one delivery."""
    return DeliveryOut(
        id=view.id,
        webhook_id=view.webhook_id,
        carrier_id=view.carrier_id,
        type=view.event_type,
        waybill_no=view.waybill_no,
        endpoint_url=view.endpoint_url,
        status=view.status,
        attempts=view.attempts,
        next_attempt_at=view.next_attempt_at,
        last_status_code=view.last_status_code,
        last_error=view.last_error,
        event_at=view.event_at,
        created_at=view.created_at,
        delivered_at=view.delivered_at,
        attempt_log=[_attempt_out(a) for a in view.attempt_log],
    )
