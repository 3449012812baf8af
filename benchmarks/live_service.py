"""A real service for a benchmark: settings per backend, uvicorn in a thread, seeding and order clients.

The app, its container and its migrations are exactly those of ``dispatch serve``; data goes in through
the public HTTP API, orders either through the intake use case (what the HTTP handler runs minus JSON
and HTTP) or over HTTP.
"""

from __future__ import annotations

import contextlib
import random
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
from rich.console import Console

from api.settings import Settings
from benchmarks.report import progress_bar

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from api.container import Container

BENCH_TOKEN = "bench-admin"
#: The benchmark stores are throwaway and take no payments; the public demo secret is refused outside the demo.
BENCH_PAYMENT_SECRET = "bench-payment-secret"
UNIT_PRICE = Decimal("10.00")

# Warehouses around Shanghai and delivery points between them.
WAREHOUSE_SITES = [("wh-north", 31.32, 121.45), ("wh-east", 31.22, 121.62), ("wh-west", 31.18, 121.30)]


@contextlib.contextmanager
def backend_settings(backend: str, *, durable: bool = True) -> Iterator[Settings]:
    """Settings for a named backend: ``embedded`` (SQLite file + memory), ``postgis+redis`` or
    ``postgis+redis-cluster`` (throwaway PostgreSQL and a Redis server or a three-master Redis Cluster).

    The throwaway PostgreSQL flushes every commit unless ``durable=False`` (a labelled extra figure);
    the SQLite file keeps the service's own settings (:func:`infra.db.make_engine`), read back by
    :func:`storage_settings`.
    """
    if backend == "embedded":
        with tempfile.TemporaryDirectory(prefix="dispatch-bench-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            yield Settings(
                database_url=url,
                redis_url=None,
                admin_token=BENCH_TOKEN,
                payment_secret=BENCH_PAYMENT_SECRET,
                log_json=False,
            )
        return
    from infra.throwaway import throwaway_postgres, throwaway_redis, throwaway_redis_cluster

    redis_server = throwaway_redis_cluster() if backend == "postgis+redis-cluster" else throwaway_redis()
    with throwaway_postgres(durable=durable) as postgres_url, redis_server as redis_url:
        yield Settings(
            database_url=postgres_url,
            redis_url=redis_url,
            admin_token=BENCH_TOKEN,
            payment_secret=BENCH_PAYMENT_SECRET,
            log_json=False,
        )


@contextlib.contextmanager
def serve_in_thread(
    settings: Settings, *, startup_timeout_s: float = 120.0, quiet: bool = False
) -> Iterator[tuple[str, Container]]:
    """Run the app under a real uvicorn server on a free local port; yields (base URL, container)."""
    import structlog
    import uvicorn

    from api.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(settings)
    if quiet:  # only warnings and errors from the service's own logs
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="bench-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError("the API server did not start (see the log above)")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app.state.container
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def storage_settings(engine: Engine) -> dict[str, str]:
    """The store's durability settings as the server reports them (read back, never assumed).

    PostgreSQL: ``SHOW fsync, synchronous_commit, full_page_writes``. SQLite: ``PRAGMA journal_mode``
    and ``PRAGMA synchronous`` on a connection of the service's own pool (0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA).
    """
    from sqlalchemy import text

    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            names = ("fsync", "synchronous_commit", "full_page_writes")
            return {name: str(conn.execute(text(f"SHOW {name}")).scalar_one()) for name in names}
        level = int(conn.execute(text("PRAGMA synchronous")).scalar_one())
        return {
            "journal_mode": str(conn.execute(text("PRAGMA journal_mode")).scalar_one()),
            "synchronous": {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(level, str(level)),
        }


def is_durable(settings: dict[str, str]) -> bool:
    """Whether an answered commit survives a crash of the service process (see :func:`durability_note`)."""
    if "fsync" in settings:
        return settings["fsync"] == "on" and settings["synchronous_commit"] != "off"
    wal_normal = settings["journal_mode"].lower() == "wal" and settings["synchronous"] == "NORMAL"
    return settings["synchronous"] in ("FULL", "EXTRA") or wal_normal


def durability_note(settings: dict[str, str]) -> str:
    """What the settings promise, in words (SQLite WAL + NORMAL is not power-loss safe: say so)."""
    if "fsync" in settings:
        if is_durable(settings):
            return "every answered commit is flushed to disk (survives power loss)"
        return "NON-DURABLE: answered commits may be lost on a crash"
    if settings["synchronous"] in ("FULL", "EXTRA"):
        return "every answered commit is flushed to disk (survives power loss)"
    if is_durable(settings):
        return "WAL + synchronous=NORMAL: survives a process crash; a power loss may lose the last commits"
    return "NON-DURABLE: answered commits may be lost on a crash"


def seed(base_url: str, *, skus: int, customers: int, on_hand: int, token: str = BENCH_TOKEN) -> None:
    """Create warehouses, SKUs with stock and customers with ample credit, through the public API."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
        for wh, lat, lng in WAREHOUSE_SITES:
            _ok(client.put(f"/v1/warehouses/{wh}", json={"name": wh, "location": {"lat": lat, "lng": lng}}))
        for n in range(skus):
            sku = f"sku-{n:03d}"
            body = {"name": f"item {n}", "unit_price": str(UNIT_PRICE), "weight_kg": 1.0, "volume_m3": 0.002}
            _ok(client.put(f"/v1/skus/{sku}", json=body))
            for wh, _, _ in WAREHOUSE_SITES:
                _ok(client.put(f"/v1/warehouses/{wh}/stock/{sku}", json={"on_hand": on_hand}))
        for n in range(customers):
            body = {"name": f"customer {n}", "credit_limit": "1000000000", "location": {"lat": 31.23, "lng": 121.47}}
            _ok(client.put(f"/v1/customers/cust-{n:03d}", json=body))


def _ok(response: httpx.Response) -> httpx.Response:
    if response.status_code >= 400:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
        )
    return response


def order_bodies(count: int, *, skus: int, customers: int, seed_value: int = 7) -> list[dict[str, Any]]:
    """Random orders of 1-3 lines (1-4 units each) for random customers, delivered around the city."""
    rng = random.Random(seed_value)
    bodies = []
    for _ in range(count):
        chosen = rng.sample(range(skus), k=min(skus, rng.randint(1, 3)))
        bodies.append(
            {
                "customer_id": f"cust-{rng.randrange(customers):03d}",
                "lines": [
                    {"sku": f"sku-{n:03d}", "qty": rng.randint(1, 4), "unit_price": str(UNIT_PRICE)} for n in chosen
                ],
                "delivery": {"lat": 31.1 + rng.random() * 0.3, "lng": 121.3 + rng.random() * 0.35, "address": "bench"},
            }
        )
    return bodies


def use_case_sender(container: Container) -> Callable[[dict[str, Any], str], None]:
    """Place one order through the intake use case (one unit of work), as the HTTP handler does."""
    from orders_core.orders.intake import place_order
    from orders_core.orders.model import DeliveryPoint, OrderLine, PlaceOrder

    def send(body: dict[str, Any], key: str) -> None:
        command = PlaceOrder(
            customer_id=body["customer_id"],
            lines=tuple(
                OrderLine(line["sku"], int(line["qty"]), Decimal(line["unit_price"])) for line in body["lines"]
            ),
            delivery=DeliveryPoint(**body["delivery"]),
        )
        with container.uow() as uow:
            place_order(
                uow,
                container.stock,
                command,
                actor="bench",
                price_tolerance=container.settings.price_tolerance,
                idempotency_key=key,
            )
            uow.commit()

    return send


def http_sender(base_url: str) -> Callable[[dict[str, Any], str], None]:
    """POST one order over HTTP (one keep-alive client per thread)."""
    local = threading.local()

    def send(body: dict[str, Any], key: str) -> None:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(
                base_url=base_url, headers={"Authorization": f"Bearer {BENCH_TOKEN}"}, timeout=120
            )
        _ok(client.post("/v1/orders", json=body, headers={"Idempotency-Key": key}))

    return send


def status_counts(container: Container) -> dict[str, int]:
    """Orders per status in the relational store."""
    from sqlalchemy import func, select

    from orders_core.orders.tables import OrderRow

    with container.uow() as uow:
        rows = uow.session.execute(select(OrderRow.status, func.count()).group_by(OrderRow.status)).all()
    return {str(status): int(count) for status, count in rows}


def run_orders(
    send: Callable[[dict[str, Any], str], None],
    bodies: list[dict[str, Any]],
    *,
    threads: int,
    label: str,
    console: Console | None,
    key_prefix: str | None = None,
) -> tuple[float, np.ndarray, int]:
    """Send every order from ``threads`` threads; answers (wall seconds, latencies in ms, failures)."""
    latencies_ms = np.zeros(len(bodies))
    failures = 0
    run_id = key_prefix or f"{time.time_ns():x}"
    console = console or Console(stderr=True, quiet=True)

    def one(index: int) -> bool:
        started = time.perf_counter()
        try:
            send(bodies[index], f"bench-{run_id}-{index}")
            return True
        except Exception as exc:  # counted and reported; the benchmark keeps going
            console.print(f"[red]order {index} failed: {exc}")
            return False
        finally:
            latencies_ms[index] = (time.perf_counter() - started) * 1000.0

    progress = progress_bar(console, label=f"[bold]{label}", transient=False)
    with progress, ThreadPoolExecutor(max_workers=threads) as pool:
        task = progress.add_task(label, total=len(bodies))
        started = time.perf_counter()
        futures = [pool.submit(one, index) for index in range(len(bodies))]
        for future in as_completed(futures):
            if not future.result():
                failures += 1
            progress.advance(task)
        wall_s = time.perf_counter() - started
    return wall_s, latencies_ms, failures
