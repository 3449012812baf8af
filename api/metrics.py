"""Prometheus metrics of the service, exposed at ``/metrics``.

Defined in one place so that routers and background workers share the same series.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUEST_LATENCY = Histogram(
    "dispatch_http_request_duration_seconds",
    "HTTP request latency by route template, method and status class.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
ORDERS_BY_STATUS = Counter(
    "dispatch_order_transitions_total",
    "Order transitions into each status (orders by status over time).",
    ["status"],
)
STOCK_LOCK_OUTCOMES = Counter(
    "dispatch_stock_lock_outcomes_total",
    "Stock-lock attempts by outcome: locked, insufficient, released, expired.",
    ["outcome"],
)
MATCH_LATENCY = Histogram(
    "dispatch_match_duration_seconds",
    "Time to answer one carrier-match query inside the service.",
    buckets=(0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05),
)
WEBHOOK_DELIVERIES = Counter(
    "dispatch_webhook_deliveries_total",
    "Outgoing webhook delivery attempts by outcome.",
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


def count_transition(_from_status: str, to_status: str) -> None:
    """Transition listener: one more order in ``to_status`` (the container wires it into its units of work)."""
    ORDERS_BY_STATUS.labels(status=to_status).inc()


def count_stock_outcome(outcome: str) -> None:
    """Stock-lock observer: one more attempt with this outcome (the container hands it to the stock service)."""
    STOCK_LOCK_OUTCOMES.labels(outcome=outcome).inc()


def observe_webhook(outcome: str, send_s: float, commit_to_receipt_s: float | None) -> None:
    """Webhook-worker observer: count the outcome (delivered, failed, dead, deferred, skipped), time the send."""
    WEBHOOK_DELIVERIES.labels(outcome=outcome).inc()
    if outcome in ("delivered", "failed", "dead"):
        WEBHOOK_SEND_LATENCY.labels(outcome=outcome).observe(send_s)
    if commit_to_receipt_s is not None:
        WEBHOOK_COMMIT_TO_RECEIPT.observe(commit_to_receipt_s)
