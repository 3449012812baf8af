"""Carrier webhooks as plain values: the worker's parameters, the retry schedule, and the desk's views."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime

from foundation.errors import InvalidInput, NotFound

#: The outbox topic producers write waybill events under (``outbox.announce_waybill_event``).
TOPIC = "carrier.webhook"
EVENT_TYPES = ("waybill.created", "waybill.updated", "waybill.cancelled")
#: The contract's default of ``DISPATCH_WEBHOOK_RETRY_S``: waits before each retry, about a day in all.
DEFAULT_RETRY_S = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
DEFAULT_ROTATION_GRACE_S = 86_400.0


class DeliveryNotFound(NotFound):
    """No webhook delivery with this id."""

    code = "webhook_delivery_not_found"


class DeliveryNotDead(InvalidInput):
    """Only a dead-lettered delivery can be replayed."""

    code = "webhook_delivery_not_dead"
    http_status = 409


class InvalidWebhookEvent(InvalidInput):
    """A waybill event that cannot become a webhook (unknown type, no carrier)."""

    code = "invalid_webhook_event"


def parse_retry_schedule(text: str) -> tuple[float, ...]:
    """``"5,300,1800"`` -> (5.0, 300.0, 1800.0); every wait finite and >= 0 (an empty text: no retries)."""
    waits = tuple(float(part) for part in text.replace(" ", "").split(",") if part)
    for wait in waits:
        if not math.isfinite(wait) or wait < 0:
            raise ValueError(f"webhook retry waits must be finite seconds >= 0, got {text!r}")
    return waits


def retry_wait_s(schedule: tuple[float, ...], attempts_made: int, jitter: float, rng: random.Random) -> float | None:
    """Seconds to wait before the next attempt after ``attempts_made`` failed ones; None = dead-letter.

    The wait is the schedule's entry scaled by a uniform factor in [1 - jitter, 1 + jitter], so that the
    deliveries that failed together (an endpoint's outage) do not all come back in the same instant.
    """
    if attempts_made > len(schedule):
        return None
    base = schedule[attempts_made - 1]
    return max(0.0, base * (1.0 + rng.uniform(-jitter, jitter)))


@dataclass(frozen=True)
class WebhookParams:
    """Tuning knobs of the delivery worker (``DISPATCH_WEBHOOKS__<FIELD>``); the retry waits come from the
    contract's ``DISPATCH_WEBHOOK_RETRY_S``."""

    #: Run the delivery worker inside the API process (off: run ``dispatch webhooks worker`` instead).
    worker_enabled: bool = True
    #: Seconds between polls of the outbox and the deliveries when there was nothing to do.
    poll_interval_s: float = 0.25
    #: Rows taken from the outbox, and deliveries claimed, per statement.
    batch_size: int = 500
    #: Sends in flight at once (all endpoints) and per endpoint (one carrier's webhook_url).
    max_in_flight: int = 256
    max_in_flight_per_endpoint: int = 64
    #: A claimed delivery returns to the queue after this long if its worker died (visibility timeout).
    lease_s: float = 120.0
    #: Seconds to connect, and for the whole send; an endpoint answering slower counts as failed.
    connect_timeout_s: float = 2.0
    request_timeout_s: float = 5.0
    #: Relative jitter of each retry wait (0.1 = +-10 %).
    retry_jitter: float = 0.1
    #: The circuit breaker: after this many failures in a row an endpoint is left alone for
    #: ``breaker_open_s`` (doubling while it keeps failing, up to ``breaker_max_open_s``); its
    #: deliveries wait without using an attempt, and the other endpoints are served meanwhile.
    breaker_failures: int = 5
    breaker_open_s: float = 1.0
    breaker_max_open_s: float = 60.0
    #: How long a carrier's previous secret keeps signing after ``webhook_secret`` changes.
    rotation_grace_s: float = DEFAULT_ROTATION_GRACE_S
    retry_s: tuple[float, ...] = field(default=DEFAULT_RETRY_S)

    def __post_init__(self) -> None:
        for name in ("batch_size", "max_in_flight", "max_in_flight_per_endpoint", "breaker_failures"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("poll_interval_s", "lease_s", "connect_timeout_s", "request_timeout_s", "breaker_open_s"):
            value = getattr(self, name)
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be positive seconds, got {value!r}")
        if not math.isfinite(self.breaker_max_open_s) or self.breaker_max_open_s < self.breaker_open_s:
            raise ValueError("breaker_max_open_s must be at least breaker_open_s")
        if not math.isfinite(self.rotation_grace_s) or self.rotation_grace_s < 0:
            raise ValueError(f"rotation_grace_s must be seconds >= 0, got {self.rotation_grace_s!r}")
        if not 0.0 <= self.retry_jitter < 1.0:
            raise ValueError(f"retry_jitter must be in [0, 1), got {self.retry_jitter!r}")
        if self.lease_s <= self.request_timeout_s:
            raise ValueError("lease_s must exceed request_timeout_s (a live send must not lose its claim)")


@dataclass(frozen=True)
class AttemptView:
    """One send of a delivery as the desk sees it."""

    attempt_no: int
    at: datetime
    duration_ms: float
    outcome: str
    status_code: int | None
    error: str | None
    endpoint_url: str
    worker_id: str


@dataclass(frozen=True)
class DeliveryView:
    """A delivery with its attempts, newest state first."""

    id: int
    webhook_id: str
    carrier_id: str
    event_type: str
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
    attempt_log: list[AttemptView]


@dataclass(frozen=True)
class DeliveryPage:
    """A page of deliveries, newest first, and the cursor of the next page (None at the end)."""

    items: list[DeliveryView]
    next_cursor: str | None
