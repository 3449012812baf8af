"""Prometheus metrics of the service, exposed at ``/metrics``.

Defined in one place so that routers and background workers share the same series. Counters count events
in this process since it started (sum them over processes, use ``rate()``); the ``dispatch_orders`` gauge
is the current number of orders in each status, read from the database (shared by every process) when
``/metrics`` is scraped, at most every :data:`ORDERS_GAUGE_MAX_AGE_S` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from prometheus_client import Counter, Gauge, Histogram

REQUEST_LATENCY = Histogram(
    "dispatch_http_request_duration_seconds",
    "HTTP request latency by route template, method and status class.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
ORDER_TRANSITIONS = Counter(
    "dispatch_order_transitions_total",
    "Order status transitions committed by this process, by the status left (from_status; none for a new"
    " order) and entered (to_status); a flow, not a stock: the current count per status is dispatch_orders.",
    ["from_status", "to_status"],
)
ORDERS = Gauge(
    "dispatch_orders",
    "Orders currently in each status (every status, 0 included), counted in the database at scrape time"
    " (cached a few seconds): the same answer from every process.",
    ["status"],
)
STOCK_LOCK_OUTCOMES = Counter(
    "dispatch_stock_lock_outcomes_total",
    "Stock-lock operations by outcome: reserved (all lines of an order held at once), insufficient (refused at"
    " the lock, nothing held: a concurrent order took the stock after allocation read it), released (a"
    " cancelled order's holds given back: cancelled by the desk or customer, rejected, or unpaid past its timeout).",
    ["outcome"],
)
STOCK_REPAIRS = Counter(
    "dispatch_stock_repairs_total",
    "Repairs of the fast stock store by the reconciler, by kind: hold_freed (a hold without its durable row:"
    " a process died before committing, or an after-commit release never ran), hold_restored (a durable hold"
    " the fast store had lost), on_hand (a count's after-commit write lost or out of order), warehouse_reloaded"
    " (a Redis master restarted empty), store_loaded.",
    ["kind"],
)
STOCK_REPAIRED_UNITS = Counter(
    "dispatch_stock_repaired_units_total",
    "Units moved by the reconciler's repairs of the fast stock store, by kind (see dispatch_stock_repairs_total).",
    ["kind"],
)
MATCH_LATENCY = Histogram(
    "dispatch_match_duration_seconds",
    "Time to answer one carrier-match query inside the service.",
    buckets=(0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05),
)
WEBHOOK_DELIVERIES = Counter(
    "dispatch_webhook_deliveries_total",
    "Outgoing webhook deliveries by outcome: delivered (2xx), failed (retried later), dead (retries exhausted),"
    " deferred (the carrier's circuit breaker is open: not sent, retried later), skipped (no URL or secret).",
    ["outcome"],
)
WEBHOOK_SEND_LATENCY = Histogram(
    "dispatch_webhook_send_duration_seconds",
    "Time of one webhook HTTP send (answered or failed), by outcome.",
    ["outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
WEBHOOK_COMMIT_TO_RECEIPT = Histogram(
    "dispatch_webhook_commit_to_receipt_seconds",
    "From the commit that announced a waybill event to the carrier's 2xx answer (retries included).",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0, 300.0, 3600.0, 86400.0),
)


def count_transition(from_status: str, to_status: str) -> None:
    """Transition listener: one more committed move from ``from_status`` to ``to_status`` (the container
    wires it into its units of work)."""
    ORDER_TRANSITIONS.labels(from_status=from_status or "none", to_status=to_status).inc()


#: How long one database count of orders by status serves scrapes (a scrape every few seconds costs
#: one GROUP BY per this many seconds at most).
ORDERS_GAUGE_MAX_AGE_S = 5.0


class OrdersGaugeRefresher:
    """Sets ``dispatch_orders`` from a count of orders by status, at most every ``max_age_s`` seconds."""

    def __init__(self, count: Callable[[], Mapping[str, int]], max_age_s: float = ORDERS_GAUGE_MAX_AGE_S) -> None:
        self._count = count
        self._max_age_s = max_age_s
        self._counted_at = -float("inf")
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Count again if the last count is older than ``max_age_s`` (one counting thread at a time)."""
        with self._lock:
            now = time.monotonic()
            if now - self._counted_at < self._max_age_s:
                return
            for status, n in self._count().items():
                ORDERS.labels(status=status).set(n)
            self._counted_at = now


def count_stock_outcome(outcome: str) -> None:
    """Stock-lock observer: one more attempt with this outcome (the container hands it to the stock service)."""
    STOCK_LOCK_OUTCOMES.labels(outcome=outcome).inc()


def count_stock_repair(kind: str, units: int) -> None:
    """Stock-reconciler observer: one more repair of this kind, moving ``units`` units."""
    STOCK_REPAIRS.labels(kind=kind).inc()
    STOCK_REPAIRED_UNITS.labels(kind=kind).inc(units)


def observe_webhook(outcome: str, send_s: float, commit_to_receipt_s: float | None) -> None:
    """Webhook-worker observer: count the outcome (delivered, failed, dead, deferred, skipped), time the send."""
    WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()
    if outcome in ("delivered", "failed", "dead"):
        WEBHOOK_SEND_LATENCY.labels(outcome=outcome).observe(send_s)
    if commit_to_receipt_s is not None:
        WEBHOOK_COMMIT_TO_RECEIPT.observe(commit_to_receipt_s)


IMPORT_RECORDS = Counter(
    "dispatch_import_records_total",
    "Records of imports through mapping profiles, by profile and outcome (accepted, held, rejected, ...).",
    ["profile", "outcome"],
)


def count_import(profile: str, counts: dict[str, int]) -> None:
    """Count an import call's records by outcome (dry runs included: they are labelled by the router)."""
    for outcome, value in counts.items():
        if value:
            IMPORT_RECORDS.labels(profile, outcome).inc(value)


HEALTH_SCORES_COMPUTED = Counter(
    "dispatch_health_scores_computed_total",
    "Customer health scores computed, by trigger: schedule (the periodic job) or on_demand (the API, console, CLI).",
    ["trigger"],
)
PREBOOKINGS = Counter(
    "dispatch_prebookings_total",
    "Soft reservations of customers' weekly demand, by event: created, expired (the customer's orders did not"
    " come by the deadline; their soft units are given back).",
    ["event"],
)


def count_health_scores(trigger: str, customers: int) -> None:
    """Health-score observer: ``customers`` more scores computed for ``trigger``."""
    HEALTH_SCORES_COMPUTED.labels(trigger=trigger).inc(customers)


def count_prebookings(event: str, count: int) -> None:
    """Pre-booking observer: ``count`` more pre-bookings ``created`` or ``expired``."""
    PREBOOKINGS.labels(event=event).inc(count)
