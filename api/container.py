"""The process's wiring (the composition root): one object that builds the stores and engines from settings
and hands the domain its observers.

Routers get it through ``api.deps.get_container``; nothing else holds global state. The embedded
default (SQLite + in-process stores) and production (PostGIS + Redis) differ only here. ``orders_core``
imports nothing of ``api``: metrics reach it as observers passed in here (the stock service's outcome
hook, the transition listeners every unit of work from :meth:`Container.uow` carries).
"""

from __future__ import annotations

import gc
import math
import secrets
import threading
import time

import structlog
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.auth import PrincipalCache
from api.jobs import PeriodicJob
from api.metrics import (
    OrdersGaugeRefresher,
    count_health_scores,
    count_prebookings,
    count_stock_outcome,
    count_stock_repair,
    count_transition,
    observe_webhook,
)
from api.settings import Settings
from api.tokens import hash_token
from api.tracking_guard import MissLimiter, build_miss_limiter
from infra.db import make_engine, make_session_factory
from infra.migrate import upgrade
from infra.redis_client import RedisClient, redis_client_from_url
from orders_core.census import orders_by_status
from orders_core.customers.demand import HistoryMeanDemand, WeeklyDemand
from orders_core.customers.health_service import recompute_health
from orders_core.dispatching import CarrierMatching, build_carrier_matching, warm_carrier_index
from orders_core.orders.stage_durations import fold_stage_durations
from orders_core.orders.timeouts import release_expired_orders
from orders_core.planning.prebook_demand import ForecastDemand
from orders_core.stock.prebook_service import expire_prebookings, plan_prebookings, settle_prebookings
from orders_core.stock.rebuild import warm_stock_store
from orders_core.stock.reconcile import ReconcileReport, StockReconciler
from orders_core.stock.service import StockService, build_stock_service
from orders_core.transport.assignment import (
    BatchOutcome,
    TransportPolicy,
    assign_ready_shipments,
    retry_no_carrier,
    transport_policy,
)
from orders_core.transport.webhooks.worker import DeliveryWorker
from orders_core.unit_of_work import TransitionListener, UnitOfWork

log = structlog.get_logger("api.container")


class Container:
    """Everything a request handler may need, built once per app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: Engine = make_engine(settings.database_url)
        self.session_factory: sessionmaker[Session] = make_session_factory(self.engine)
        # One server (redis://) or a Redis Cluster (redis+cluster://): infra.redis_client reads the URL.
        self.redis: RedisClient | None = redis_client_from_url(settings.redis_url) if settings.redis_url else None
        self.admin_token_generated = settings.admin_token is None
        self.admin_token: str = settings.admin_token or "dsp_admin_" + secrets.token_urlsafe(24)
        self.admin_token_hash = hash_token(self.admin_token)
        self.principal_cache = PrincipalCache()
        # Observers of this container's use cases (not module globals: two containers in one process,
        # as in the tests, each count their own transitions once).
        self.transition_listeners: list[TransitionListener] = [count_transition]
        self.stock: StockService = build_stock_service(
            self.redis, on_outcome=count_stock_outcome, lease_s=settings.stock.lease_s
        )
        self.stock_reconciler = StockReconciler(
            self.uow, self.stock.locks, grace_s=settings.stock.reconcile_grace_s, on_repair=count_stock_repair
        )
        self.jobs: list[PeriodicJob] = []
        # Pre-booked stock sizes each customer's week with this (DISPATCH_PREBOOK__DEMAND).
        history_mean = HistoryMeanDemand(settings.prebook.history_weeks)
        self.prebook_demand: WeeklyDemand = (
            ForecastDemand(history_mean) if settings.prebook.demand == "forecast" else history_mean
        )
        self.webhook_worker: DeliveryWorker | None = None
        self.carriers: CarrierMatching = build_carrier_matching(
            self.session_factory,
            self.redis,
            max_position_age_s=settings.max_position_age_s or math.inf,
            params=settings.matcher,
        )

        self.transport_policy: TransportPolicy = transport_policy(
            assign_at=settings.transport.assign_at,
            radius_m=settings.transport.radius_m,
            fallback_radii_m=settings.transport.fallback_radii_m or settings.match_fallback_steps_m,
            per_carrier_capacity=settings.transport.per_carrier_capacity,
            package_max_kg=settings.transport.package_max_kg,
            package_max_m3=settings.transport.package_max_m3,
            promise_s=settings.delivery.lead_time_s,
        )
        # dispatch_orders{status}: counted in the database at scrape time (true across processes), cached briefly.
        self.orders_gauge = OrdersGaugeRefresher(lambda: orders_by_status(self.uow))
        # Unknown tracking tokens per client address (api.tracking_guard: 429 against token guessing).
        self.tracking_misses: MissLimiter = build_miss_limiter(
            self.redis, limit=settings.tracking.miss_limit, window_s=settings.tracking.miss_window_s
        )
        # Unknown bearer tokens per client address (api.auth: 429 against token guessing).
        self.auth_failures: MissLimiter = build_miss_limiter(
            self.redis,
            limit=settings.auth.failure_limit,
            window_s=settings.auth.failure_window_s,
            prefix="dispatch:auth-fail",
        )
        self.shipment_sweep: PeriodicJob | None = None
        self._transport_lock = threading.Lock()  # one sweep or retry at a time in this process

    def uow(self) -> UnitOfWork:
        """A fresh unit of work (one transaction) that tells this container's observers what it committed.

        The bound method is the ``UnitOfWorkFactory`` use cases take: ``submit_order(container.uow, ...)``.
        """
        return UnitOfWork(self.session_factory, transition_listeners=self.transition_listeners)

    def start(self) -> None:
        """Migrate the schema and warm the in-memory stores from the source of truth."""
        upgrade(self.engine)
        rebuilt = warm_stock_store(self.uow, self.stock)
        warm_carrier_index(self.uow, self.carriers)
        # Master data and the carrier index live as long as the process: keep the cyclic GC off them.
        gc.collect()
        gc.freeze()
        if self.settings.jobs_interval_s > 0:
            self.jobs.append(PeriodicJob("release_expired_orders", self.settings.jobs_interval_s, self.release_expired))
        if self.settings.stock.reconcile_interval_s > 0:
            self.jobs.append(
                PeriodicJob("reconcile_stock", self.settings.stock.reconcile_interval_s, self.reconcile_stock)
            )
        if self.settings.analytics_fold_interval_s > 0:
            self.jobs.append(
                PeriodicJob("fold_stage_durations", self.settings.analytics_fold_interval_s, self.fold_stage_durations)
            )
        self._start_transport_jobs()
        self._start_planning_jobs()
        for job in self.jobs:
            job.start()
        if self.settings.webhooks.worker_enabled:
            self.webhook_worker = self.new_webhook_worker()
            self.webhook_worker.start()
        log.info(
            "container_started",
            database=self.engine.url.render_as_string(hide_password=True),
            redis=bool(self.redis),
            stock_rebuilt=rebuilt,
        )

    def fold_stage_durations(self) -> dict[str, int]:
        """Fold the pipeline's stage-timing deltas into the analytics' counts (the periodic job)."""
        with self.uow() as uow:
            folded = fold_stage_durations(uow.session)
            uow.commit()
        return {"folded": folded} if folded else {}

    def reconcile_stock(self) -> dict[str, int]:
        """One reconciler pass over the fast stock store (the periodic job; ``dispatch stock reconcile``)."""
        report: ReconcileReport = self.stock_reconciler.run()
        return report.summary() if report.drifts else {}

    def release_expired(self) -> list[str]:
        """Cancel unpaid prepaid orders past their payment timeout (the periodic job and the CLI command)."""
        return release_expired_orders(self.uow, self.stock, timeout_s=self.settings.prepaid_timeout_s)

    def _start_planning_jobs(self) -> None:
        """The scheduled health-score recomputation and the pre-booking round (book, settle, expire)."""
        if self.settings.health.recompute_interval_s > 0:
            self.jobs.append(
                PeriodicJob("recompute_health", self.settings.health.recompute_interval_s, self.recompute_health)
            )
        if self.settings.prebook.interval_s > 0:
            self.jobs.append(PeriodicJob("prebook_stock", self.settings.prebook.interval_s, self.prebook_round))

    def recompute_health(self) -> dict[str, int]:
        """Rescore every customer (the periodic job)."""
        computed = len(recompute_health(self.uow, None, self.settings.health.policy()))
        count_health_scores("schedule", computed)
        return {"customers": computed}

    def prebook_round(self) -> dict[str, int]:
        """Expire soft holds past their deadline, book the week for customers above the score, settle."""
        expired = expire_prebookings(self.uow)
        created = plan_prebookings(self.uow, self.prebook_demand, min_score=self.settings.prebook.min_score)
        settled = settle_prebookings(self.uow)
        count_prebookings("expired", len(expired.expired))
        count_prebookings("created", len(created))
        summary = {"expired": len(expired.expired), "created": len(created), "settled": settled.rows}
        return {key: n for key, n in summary.items() if n}

    def _start_transport_jobs(self) -> None:
        """Automatic carrier assignment (woken when an order is allocated or loaded) and the no-carrier retry."""
        transport = self.settings.transport
        if transport.assign_at != "manual" and transport.sweep_interval_s > 0:
            window_s = transport.batch_window_s

            def sweep_after_window() -> BatchOutcome:
                time.sleep(window_s)  # let the shipments that become ready together arrive
                return self.assign_ready()

            self.shipment_sweep = PeriodicJob("assign_ready_shipments", transport.sweep_interval_s, sweep_after_window)
            self.jobs.append(self.shipment_sweep)
            wake_on = "allocated" if transport.assign_at == "allocation" else "loaded"
            sweep = self.shipment_sweep

            def wake_sweep(_from: str, to: str) -> None:
                if to == wake_on:
                    sweep.wake()

            self.transition_listeners.append(wake_sweep)
        if transport.retry_interval_s > 0:
            self.jobs.append(PeriodicJob("retry_no_carrier", transport.retry_interval_s, self.retry_no_carrier))

    def assign_ready(self) -> BatchOutcome:
        """Assign carriers to ready shipments, batched per warehouse (the sweep job; tests call it directly)."""
        with self._transport_lock:
            return assign_ready_shipments(self.uow, self.carriers, policy=self.transport_policy)

    def retry_no_carrier(self) -> BatchOutcome:
        """Try again the shipments whose order has an open no_carrier_in_range exception."""
        with self._transport_lock:
            return retry_no_carrier(self.uow, self.carriers, policy=self.transport_policy)

    def new_webhook_worker(self) -> DeliveryWorker:
        """A carrier-webhook delivery worker on this container's store (``start`` runs one in the background)."""
        return DeliveryWorker(self.uow, self.settings.webhook_params(), observer=observe_webhook)

    def close(self) -> None:
        """Release connections and background threads."""
        for job in self.jobs:
            job.stop()
        if self.webhook_worker is not None:
            self.webhook_worker.stop()
        self.transition_listeners.clear()  # a straggling request of a closed app counts nothing
        self.carriers.close()
        if self.redis is not None:
            self.redis.close()
        self.engine.dispose()
