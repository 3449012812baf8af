"""``dispatch bench pipeline``: orders/s and latency from intake to allocation, per backend.

Each backend runs in this process: a real uvicorn server in a thread (so the app, its container and
its migrations are exactly those of ``dispatch serve``), seeded through the public HTTP API. Orders
then go either through the intake use case directly (default: ``place_order`` in one unit of work per
order, what the HTTP handler runs minus JSON and HTTP) or over HTTP (``--http``), from ``--threads``
client threads. The goal is 426,000 orders in 10 minutes (~710 orders/s).
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import httpx
import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from infra.settings import Settings

if TYPE_CHECKING:
    from api.container import Container

GOAL_ORDERS = 426_000
GOAL_WINDOW_S = 600.0
GOAL_ORDERS_PER_S = GOAL_ORDERS / GOAL_WINDOW_S
BENCH_TOKEN = "bench-admin"
UNIT_PRICE = Decimal("10.00")

# Warehouses around Shanghai and delivery points between them.
WAREHOUSE_SITES = [("wh-north", 31.32, 121.45), ("wh-east", 31.22, 121.62), ("wh-west", 31.18, 121.30)]


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

    progress = Progress(
        TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    )
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


@contextlib.contextmanager
def backend_settings(backend: str) -> Iterator[Settings]:
    """Settings for a named backend: ``embedded`` (SQLite file + memory) or ``postgis+redis`` (throwaway)."""
    if backend == "embedded":
        with tempfile.TemporaryDirectory(prefix="dispatch-bench-") as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            yield Settings(database_url=url, redis_url=None, admin_token=BENCH_TOKEN, log_json=False)
        return
    from infra.throwaway import throwaway_postgres, throwaway_redis

    with throwaway_postgres() as postgres_url, throwaway_redis() as redis_url:
        yield Settings(database_url=postgres_url, redis_url=redis_url, admin_token=BENCH_TOKEN, log_json=False)


def bench_backend(
    backend: str, *, orders: int, threads: int, over_http: bool, skus: int, customers: int, console: Console
) -> dict[str, Any]:
    """Seed one backend, push the orders through it and measure."""
    with backend_settings(backend) as settings, serve_in_thread(settings, quiet=True) as (base_url, container):
        # Enough stock that nearly every order is allocated: the pipeline, not shortages, is measured.
        seed(base_url, skus=skus, customers=customers, on_hand=max(100, orders * 4))
        send = http_sender(base_url) if over_http else use_case_sender(container)
        bodies = order_bodies(orders, skus=skus, customers=customers)
        wall_s, latencies_ms, failures = run_orders(send, bodies, threads=threads, label=backend, console=console)
        counts = status_counts(container)
    return _figures(backend, orders - failures, failures, wall_s, latencies_ms, counts)


def _figures(
    backend: str,
    done: int,
    failures: int,
    wall_s: float,
    latencies_ms: np.ndarray,
    counts: dict[str, int],
    **extra: Any,
) -> dict[str, Any]:
    """One run's result: throughput, latency percentiles, statuses, ``extra`` and the ratio to the goal."""
    return {
        "backend": backend,
        "orders": done,
        "failed": failures,
        "orders_per_s": round(done / wall_s, 1) if wall_s > 0 else None,
        "p50_ms": round(float(np.percentile(latencies_ms, 50)), 2) if latencies_ms.size else None,
        "p99_ms": round(float(np.percentile(latencies_ms, 99)), 2) if latencies_ms.size else None,
        "wall_s": round(wall_s, 3),
        "statuses": counts,
        **extra,
        "vs_goal": round(done / wall_s / GOAL_ORDERS_PER_S, 3) if wall_s > 0 else None,
    }


def _process_worker(
    settings_json: str, bodies: list[dict[str, Any]], threads: int, key_prefix: str, start_at: float
) -> dict[str, Any]:
    """One service process: its own container (pool, Redis client), placing its share of the orders."""
    import structlog

    from api.container import Container

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    container = Container(Settings.model_validate_json(settings_json))
    container.start()
    try:
        send = use_case_sender(container)
        time.sleep(max(0.0, start_at - time.time()))  # all processes start together
        t0 = time.time()
        _, latencies_ms, failures = run_orders(
            send, bodies, threads=threads, label="", console=None, key_prefix=key_prefix
        )
        return {"t0": t0, "t1": time.time(), "latencies_ms": latencies_ms.tolist(), "failures": failures}
    finally:
        container.close()


def bench_processes(
    *, processes: int, orders: int, threads: int, skus: int, customers: int, console: Console
) -> dict[str, Any]:
    """PostGIS + Redis shared by several service processes (what Redis locks exist for); checks no oversell."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from orders_core.stock.repository import StockRepository

    with backend_settings("postgis+redis") as settings, serve_in_thread(settings, quiet=True) as (base_url, container):
        # Tight stock: about 80% of the demand, so processes really compete for the last units.
        bodies = order_bodies(orders, skus=skus, customers=customers, seed_value=11)
        demand = sum(line["qty"] for body in bodies for line in body["lines"])
        per_key = max(1, int(demand * 0.8 / (skus * len(WAREHOUSE_SITES))))
        seed(base_url, skus=skus, customers=customers, on_hand=per_key)
        shares = [bodies[i::processes] for i in range(processes)]
        run_id = f"{time.time_ns():x}"
        context = multiprocessing.get_context("spawn")
        console.print(f"[bold]{processes} processes x {threads} threads on postgis+redis ...")
        with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
            start_at = time.time() + 6.0 + processes  # room for every process to import and connect
            futures = [
                pool.submit(_process_worker, settings.model_dump_json(), share, threads, f"{run_id}-p{i}", start_at)
                for i, share in enumerate(shares)
            ]
            parts = [future.result() for future in futures]
        counts = status_counts(container)
        levels = container.stock.locks.all_levels()
        with container.uow() as uow:
            repository = StockRepository(uow.session)
            durable, held = repository.all_levels(), repository.held_totals()
    wall_s = max(p["t1"] for p in parts) - min(p["t0"] for p in parts)
    latencies_ms = np.array([x for p in parts for x in p["latencies_ms"]])
    failures = sum(p["failures"] for p in parts)
    oversold = [k for k, level in levels.items() if level.available < 0 or level.reserved != held.get(k, 0)]
    oversold += [k for k, level in durable.items() if level.reserved > level.on_hand]
    return _figures(
        f"postgis+redis x{processes} processes",
        orders - failures,
        failures,
        wall_s,
        latencies_ms,
        counts,
        processes=processes,
        stock_consistent=not oversold,
    )


BACKENDS = ("embedded", "postgis+redis")


def command(
    orders: Annotated[int, typer.Option(help="Orders per backend.", min=1)] = 2000,
    threads: Annotated[int, typer.Option(help="Concurrent client threads.", min=1)] = 8,
    http: Annotated[
        bool, typer.Option("--http", help="Send orders over HTTP instead of calling the use case.")
    ] = False,
    backend: Annotated[
        list[str] | None, typer.Option(help="Backends to run (repeatable): embedded, postgis+redis. Default: both.")
    ] = None,
    skus: Annotated[int, typer.Option(help="Catalogue size.", min=1)] = 20,
    customers: Annotated[int, typer.Option(help="Number of customers.", min=1)] = 20,
    processes: Annotated[
        int,
        typer.Option(help="Also run postgis+redis shared by this many service processes (0: skip).", min=0),
    ] = 0,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object as the last line.")] = False,
) -> None:
    """Intake-to-allocation throughput (orders/s, p50/p99 latency) on each backend vs the 710 orders/s goal."""
    chosen = list(backend or BACKENDS)
    unknown = [name for name in chosen if name not in BACKENDS]
    if unknown:
        raise typer.BadParameter(f"unknown backend(s) {unknown}; choose from {list(BACKENDS)}")
    console = Console(stderr=True)
    mode = "HTTP (POST /v1/orders)" if http else "in-process intake use case (place_order, one transaction per order)"
    results = []
    for name in chosen:
        try:
            results.append(
                bench_backend(
                    name,
                    orders=orders,
                    threads=threads,
                    over_http=http,
                    skus=skus,
                    customers=customers,
                    console=console,
                )
            )
        except Exception as exc:  # a missing PostGIS must not hide the embedded figures
            console.print(f"[red]{name}: {exc}")
            results.append(
                {"backend": name, "orders": 0, "orders_per_s": None, "p50_ms": None, "p99_ms": None, "error": str(exc)}
            )

    scaling = []
    if processes:
        try:
            scaling.append(
                bench_processes(
                    processes=processes, orders=orders, threads=threads, skus=skus, customers=customers, console=console
                )
            )
        except Exception as exc:
            console.print(f"[red]multi-process run: {exc}")
            scaling.append({"backend": f"postgis+redis x{processes} processes", "orders": 0, "error": str(exc)})

    table = Table(title=f"pipeline: {orders} orders, {threads} threads, {mode}")
    for column in (
        "backend",
        "orders",
        "failed",
        "orders/s",
        "p50 ms",
        "p99 ms",
        "allocated",
        "on_hold",
        "vs goal 710/s",
    ):
        table.add_column(column, justify="left" if column == "backend" else "right")
    for result in results + scaling:
        statuses = result.get("statuses", {})
        ratio = result.get("vs_goal")
        table.add_row(
            result["backend"],
            str(result["orders"]),
            str(result.get("failed", "-")),
            _fmt(result.get("orders_per_s")),
            _fmt(result.get("p50_ms")),
            _fmt(result.get("p99_ms")),
            str(statuses.get("allocated", 0)),
            str(statuses.get("on_hold", 0)),
            f"{ratio:.2f}x" if ratio is not None else result.get("error", "-")[:40],
        )
    Console(width=150).print(table)
    for result in scaling:
        if "stock_consistent" in result:
            verdict = "no oversell" if result["stock_consistent"] else "STOCK INCONSISTENT"
            typer.echo(f"{result['backend']}: {verdict} (tight stock, processes competing for the last units)")
    measured = [r for r in results if r.get("orders_per_s")]
    verdicts = measured + [r for r in scaling if r.get("orders_per_s")]
    if len(measured) == 2:
        a, b = measured
        typer.echo(f"{b['backend']} / {a['backend']} throughput ratio: {b['orders_per_s'] / a['orders_per_s']:.2f}")
    for result in verdicts:
        needed_s = GOAL_ORDERS / result["orders_per_s"]
        verdict = "meets" if result["orders_per_s"] >= GOAL_ORDERS_PER_S else "misses"
        typer.echo(
            f"{result['backend']}: {result['orders_per_s']:.0f} orders/s -> 426,000 orders in {needed_s / 60:.1f} min; "
            f"{verdict} the goal of 10 min (~{GOAL_ORDERS_PER_S:.0f} orders/s)"
        )
    if json_output:
        summary = {
            "benchmark": "pipeline",
            "mode": "http" if http else "in-process",
            "threads": threads,
            "goal_orders_per_s": round(GOAL_ORDERS_PER_S, 1),
            "results": results,
            "scaling": scaling,
        }
        typer.echo(json.dumps(summary))


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"
