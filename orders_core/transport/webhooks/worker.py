"""The delivery worker: outbox -> deliveries -> signed HTTP sends, at least once, surviving restarts.

One asyncio loop (on its own thread inside the API process, or as ``dispatch webhooks worker``) does three
things over the relational store: (1) relay new ``carrier.webhook`` outbox rows into deliveries and claim
due deliveries, in one transaction; (2) send each claimed delivery with httpx (keep-alive connections,
short timeouts, many sends in flight, capped per endpoint); (3) write the outcomes in batches. Database
calls run on worker threads so the sends never wait for a commit. Nothing lives only in memory: a
killed worker's claims fall due again when their lease ends, and the next worker sends them again with
the same ``webhook-id`` (receivers de-duplicate on it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import structlog

from foundation.clock import utc_now
from orders_core.transport.webhooks.breaker import CircuitBreaker
from orders_core.transport.webhooks.http import SendError, WebhookHttpClient
from orders_core.transport.webhooks.model import WebhookParams, retry_wait_s
from orders_core.transport.webhooks.repository import (
    ClaimedDelivery,
    SendOutcome,
    claim_due,
    record_outcomes,
    relay_outbox,
)
from orders_core.transport.webhooks.signing import signed_headers
from orders_core.unit_of_work import UnitOfWorkFactory

log = structlog.get_logger("orders_core.webhooks")

DeliveryObserver = Callable[[str, float, float | None], None]
"""Told ``(outcome, send_seconds, commit_to_receipt_seconds or None)`` after each send (metrics)."""

USER_AGENT = "dispatch-webhooks/1"


class DeliveryWorker:
    """Deliver carrier webhooks until stopped; see the module docstring."""

    def __init__(
        self,
        new_uow: UnitOfWorkFactory,
        params: WebhookParams,
        *,
        observer: DeliveryObserver | None = None,
        worker_id: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._new_uow = new_uow
        self.params = params
        self._observer = observer
        self.worker_id = worker_id or f"{socket.gethostname()[:30]}-{os.getpid()}-{secrets.token_hex(3)}"
        self._rng = rng or random.Random()
        self._breaker = CircuitBreaker(params.breaker_failures, params.breaker_open_s, params.breaker_max_open_s)
        self._in_flight: Counter[str] = Counter()
        self._carrier_of: dict[int, str] = {}
        self._outcomes: list[SendOutcome] = []
        self._stopping = False
        self._drained = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._outcome_ready: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # --- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Run in the background on a daemon thread (the API process)."""
        self._thread = threading.Thread(target=self.run, name="webhook-worker", daemon=True)
        self._thread.start()

    def run(self) -> None:
        """Run on this thread until :meth:`stop` (the standalone ``dispatch webhooks worker``)."""
        asyncio.run(self._main())

    def stop(self, timeout_s: float = 10.0) -> None:
        """Finish the sends in flight (up to their timeout), write their outcomes, and end."""
        self._stopping = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(wake.set)
        if self._thread is not None and self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    # --- the loop -----------------------------------------------------------------------------------
    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._outcome_ready = asyncio.Event()
        p = self.params
        client = WebhookHttpClient(
            connect_timeout_s=p.connect_timeout_s, request_timeout_s=p.request_timeout_s, user_agent=USER_AGENT
        )
        log.info("webhook_worker_started", worker_id=self.worker_id, retry_s=list(p.retry_s))
        try:
            writer = asyncio.create_task(self._write_outcomes())
            while not self._stopping:
                try:
                    busy = await self._tick(client)
                except Exception:  # a failed round (database restarting...) is logged; the next one runs
                    log.exception("webhook_worker_round_failed", worker_id=self.worker_id)
                    busy = False
                if not busy:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), p.poll_interval_s)
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=p.request_timeout_s + 1.0)
            self._drained = True  # sends still running now are abandoned: their leases bring them back
            self._outcome_ready.set()
            await writer
        finally:
            await client.aclose()
        log.info("webhook_worker_stopped", worker_id=self.worker_id)

    async def _tick(self, client: WebhookHttpClient) -> bool:
        """One round: relay + claim (one transaction), then start the sends. Answers whether it found work."""
        p = self.params
        free = p.max_in_flight - len(self._carrier_of)
        now_m = time.monotonic()
        capacity: dict[str, int] = {}
        for carrier_id in set(self._in_flight) | set(self._breaker.tripped_keys()):
            allowed = self._breaker.capacity(carrier_id, now_m, p.max_in_flight_per_endpoint)
            capacity[carrier_id] = max(0, allowed - self._in_flight[carrier_id])
        exclude = [carrier_id for carrier_id, room in capacity.items() if room <= 0]
        relayed, claimed = await asyncio.to_thread(self._relay_and_claim, free, capacity, exclude)
        for delivery in claimed:
            self._in_flight[delivery.carrier_id] += 1
            self._carrier_of[delivery.id] = delivery.carrier_id
            task = asyncio.create_task(self._send(client, delivery))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return relayed >= p.batch_size or bool(claimed)

    def _relay_and_claim(
        self, free: int, capacity: dict[str, int], exclude: list[str]
    ) -> tuple[int, list[ClaimedDelivery]]:
        p = self.params
        with self._new_uow() as uow:
            now = utc_now()
            relayed, skipped = relay_outbox(uow.session, now=now, limit=p.batch_size)
            claimed: list[ClaimedDelivery] = []
            if free > 0:
                claimed = claim_due(
                    uow.session,
                    now=now,
                    worker_id=self.worker_id,
                    lease_s=p.lease_s,
                    capacity=capacity,
                    default_capacity=p.max_in_flight_per_endpoint,
                    limit=min(free, p.batch_size),
                    exclude=exclude,
                )
            uow.commit()
        if relayed:
            log.debug("webhook_events_relayed", count=relayed)
        if skipped:
            log.warning("webhook_skipped_no_endpoint", count=len(skipped), carrier_ids=sorted(set(skipped))[:20])
            for _ in skipped:
                self._observe("skipped", 0.0, None)
        return relayed, claimed

    # --- one send -----------------------------------------------------------------------------------
    async def _send(self, client: WebhookHttpClient, delivery: ClaimedDelivery) -> None:
        try:
            outcome = await self._attempt(client, delivery)
        except Exception as exc:  # never lose the claim's bookkeeping; the lease returns the row anyway
            log.exception("webhook_send_crashed", delivery_id=delivery.id)
            outcome = self._failure(delivery, utc_now(), 0.0, None, f"{type(exc).__name__}: {exc}", "")
        self._outcomes.append(outcome)
        assert self._outcome_ready is not None
        self._outcome_ready.set()

    async def _attempt(self, client: WebhookHttpClient, delivery: ClaimedDelivery) -> SendOutcome:
        endpoint = delivery.endpoint
        at = utc_now()
        if endpoint.url is None or not endpoint.keys:
            self._observe("skipped", 0.0, None)
            return SendOutcome(delivery.id, delivery.attempt_no, "skipped", at, error=endpoint.problem)
        now_m = time.monotonic()
        if self._breaker.capacity(delivery.carrier_id, now_m, 1) == 0:
            wait_s = max(0.0, self._breaker.open_until(delivery.carrier_id) - now_m)
            self._observe("deferred", 0.0, None)
            return SendOutcome(
                delivery.id, delivery.attempt_no, "deferred", at, retry_at=at + timedelta(seconds=wait_s)
            )
        body = delivery.body.encode()
        headers = signed_headers(endpoint.keys, delivery.message_id, int(time.time()), body)
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        try:
            answer = await client.post(endpoint.url, body, headers)
            status_code = answer.status
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}: {answer.body[:200].decode('utf-8', 'replace')}"
        except SendError as exc:
            error = str(exc)[:500]
        duration_s = time.perf_counter() - started
        opened = self._breaker.record(delivery.carrier_id, error is None, time.monotonic())
        if opened:
            log.warning("webhook_endpoint_breaker_open", carrier_id=delivery.carrier_id, url=endpoint.url, error=error)
        if error is None:
            received = utc_now()
            self._observe("delivered", duration_s, (received - delivery.event_at).total_seconds())
            return SendOutcome(
                delivery.id, delivery.attempt_no, "delivered", at, duration_s * 1000, status_code, None, endpoint.url
            )
        return self._failure(delivery, at, duration_s, status_code, error, endpoint.url)

    def _failure(
        self,
        delivery: ClaimedDelivery,
        at: object,
        duration_s: float,
        status_code: int | None,
        error: str,
        url: str,
    ) -> SendOutcome:
        wait_s = retry_wait_s(self.params.retry_s, delivery.round_attempt_no, self.params.retry_jitter, self._rng)
        now = utc_now()
        retry_at = None if wait_s is None else now + timedelta(seconds=wait_s)
        outcome = "failed" if retry_at is not None else "dead"
        self._observe(outcome, duration_s, None)
        fields = {
            "delivery_id": delivery.id,
            "webhook_id": delivery.message_id,
            "carrier_id": delivery.carrier_id,
            "attempt": delivery.attempt_no,
            "error": error,
        }
        if retry_at is None:
            log.error("webhook_dead_lettered", **fields)
        else:
            log.warning("webhook_attempt_failed", retry_in_s=round(wait_s or 0.0, 3), **fields)
        return SendOutcome(
            delivery.id, delivery.attempt_no, "failed", now, duration_s * 1000, status_code, error, url, retry_at
        )

    def _observe(self, outcome: str, duration_s: float, lag_s: float | None) -> None:
        if self._observer is not None:
            try:
                self._observer(outcome, duration_s, lag_s)
            except Exception:  # metrics must never stop deliveries
                log.exception("webhook_observer_failed")

    # --- outcomes -----------------------------------------------------------------------------------
    async def _write_outcomes(self) -> None:
        assert self._outcome_ready is not None and self._wake is not None
        while True:
            await self._outcome_ready.wait()
            self._outcome_ready.clear()
            batch, self._outcomes = self._outcomes, []
            if batch:
                try:
                    await asyncio.to_thread(self._record, batch)
                except Exception:  # the claims stay until their lease ends: sent again, at least once
                    log.exception("webhook_outcomes_not_recorded", count=len(batch))
                for outcome in batch:
                    carrier_id = self._carrier_of.pop(outcome.delivery_id, None)
                    if carrier_id is not None:
                        self._in_flight[carrier_id] -= 1
                        if self._in_flight[carrier_id] <= 0:
                            del self._in_flight[carrier_id]
                self._wake.set()
            if self._drained and not self._outcomes:
                return

    def _record(self, batch: list[SendOutcome]) -> None:
        with self._new_uow() as uow:
            record_outcomes(uow.session, batch, worker_id=self.worker_id, now=utc_now())
            uow.commit()
