"""``dispatch bench pipeline``: orders/s and latency from intake to allocation, per backend.

Each backend runs in this process: a real uvicorn server in a thread (so the app, its container and
its migrations are exactly those of ``dispatch serve``), seeded through the public HTTP API. Orders
then go either through the intake use case directly (default: ``place_order`` in one unit of work per
order, what the HTTP handler runs minus JSON and HTTP) or over HTTP (``--http``), from ``--threads``
client threads. The goal is 426,000 orders in 10 minutes (~710 orders/s). The service and its clients
are in :mod:`benchmarks.live_service`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from api.settings import Settings
from benchmarks.cpu_meter import cpu_ms_per_order, loadavg, postgres_commits_and_wal_syncs
from benchmarks.cpu_meter import sample as cpu_sample
from benchmarks.live_service import (
    WAREHOUSE_SITES,
    backend_settings,
    durability_note,
    http_sender,
    is_durable,
    order_bodies,
    run_orders,
    seed,
    serve_in_thread,
    status_counts,
    storage_settings,
    use_case_sender,
)
from benchmarks.report import JsonOption, figures_table, percentile, print_json_line, ratio

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from api.container import Container

GOAL_ORDERS = 426_000
GOAL_WINDOW_S = 600.0
GOAL_ORDERS_PER_S = GOAL_ORDERS / GOAL_WINDOW_S
BACKENDS = ("embedded", "postgis+redis")
#: Run only when named with --backend: the stock locks on a throwaway three-master Redis Cluster.
EXTRA_BACKENDS = ("postgis+redis-cluster",)
IN_PROCESS_MODE = "in-process intake use case (place_order, one transaction per order)"


@dataclass(frozen=True)
class Workload:
    """How much each run sends: orders, client threads, catalogue and customers."""

    orders: int
    threads: int
    skus: int
    customers: int
    durable: bool = True


def command(
    orders: Annotated[int, typer.Option(help="Orders per backend.", min=1)] = 2000,
    threads: Annotated[int, typer.Option(help="Concurrent client threads.", min=1)] = 8,
    http: Annotated[
        bool, typer.Option("--http", help="Send orders over HTTP instead of calling the use case.")
    ] = False,
    backend: Annotated[
        list[str] | None,
        typer.Option(
            help="Backends to run (repeatable): embedded, postgis+redis, postgis+redis-cluster (a throwaway "
            "three-master Redis Cluster). Default: embedded and postgis+redis."
        ),
    ] = None,
    skus: Annotated[int, typer.Option(help="Catalogue size.", min=1)] = 20,
    customers: Annotated[int, typer.Option(help="Number of customers.", min=1)] = 20,
    processes: Annotated[
        int,
        typer.Option(help="Also run postgis+redis shared by this many service processes (0: skip).", min=0),
    ] = 0,
    non_durable: Annotated[
        bool,
        typer.Option(
            "--non-durable",
            help="PostgreSQL with fsync, synchronous_commit and full_page_writes off (a labelled extra figure).",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Intake-to-allocation throughput (orders/s, p50/p99 latency) on each backend vs the 710 orders/s goal.

    PostgreSQL runs with production durability (fsync and synchronous_commit on) unless ``--non-durable``;
    every result carries the settings the server reports, its transport and its CPU ms per order.
    """
    chosen = _chosen_backends(backend)
    console = Console(stderr=True)
    workload = Workload(orders=orders, threads=threads, skus=skus, customers=customers, durable=not non_durable)
    results = [measure_backend(name, workload, over_http=http, console=console) for name in chosen]
    scaling = [measure_processes(processes, workload, console, over_http=http)] if processes else []
    Console(width=150).print(results_table(workload, http, results + scaling))
    for line in verdict_lines(results, scaling):
        typer.echo(line)
    if json_output:
        print_json_line(summary(threads, http, results, scaling))


def _chosen_backends(backend: list[str] | None) -> list[str]:
    chosen = list(backend or BACKENDS)
    unknown = [name for name in chosen if name not in BACKENDS + EXTRA_BACKENDS]
    if unknown:
        raise typer.BadParameter(f"unknown backend(s) {unknown}; choose from {list(BACKENDS + EXTRA_BACKENDS)}")
    return chosen


# ------------------------------------------------------------------------------------------ one backend
def measure_backend(name: str, workload: Workload, *, over_http: bool, console: Console) -> dict[str, Any]:
    """One backend's figures, or its error in their place (a missing PostGIS must not hide the embedded figures)."""
    failed = {
        "backend": name,
        "orders": 0,
        "orders_per_s": None,
        "p50_ms": None,
        "p99_ms": None,
        "durable": workload.durable if name != "embedded" else None,
        "transport": "http" if over_http else "in-process",
    }
    return _figures_or_error(console, name, failed, partial(bench_backend, name, workload, over_http, console))


def bench_backend(backend: str, workload: Workload, over_http: bool, console: Console) -> dict[str, Any]:
    """Seed one backend, push the orders through it and measure."""
    orders, skus, customers = workload.orders, workload.skus, workload.customers
    with (
        backend_settings(backend, durable=workload.durable) as settings,
        serve_in_thread(settings, quiet=True) as (base_url, container),
    ):
        # Enough stock that nearly every order is allocated: the pipeline, not shortages, is measured.
        seed(base_url, skus=skus, customers=customers, on_hand=max(100, orders * 4))
        send = http_sender(base_url) if over_http else use_case_sender(container)
        bodies = order_bodies(orders, skus=skus, customers=customers)
        storage = storage_settings(container.engine)
        load_before = loadavg()
        before = cpu_sample(_postgres_url(settings), settings.redis_url)
        flushes_before = _commits_and_flushes(settings)
        wall_s, latencies_ms, failures = run_orders(
            send, bodies, threads=workload.threads, label=backend, console=console
        )
        after = cpu_sample(_postgres_url(settings), settings.redis_url)
        flushes = _per_order(flushes_before, _commits_and_flushes(settings), orders)
        counts = status_counts(container)
    return _figures(
        backend,
        orders - failures,
        failures,
        wall_s,
        latencies_ms,
        counts,
        durable=is_durable(storage),
        transport="http" if over_http else "in-process",
        storage=storage,
        durability=durability_note(storage),
        cpu_ms_per_order=cpu_ms_per_order(before, after, orders),
        **flushes,
        loadavg_before=load_before,
        loadavg_after=loadavg(),
    )


def _commits_and_flushes(settings: Settings) -> tuple[int, int] | None:
    """PostgreSQL's commits and WAL flushes so far (None on the embedded store)."""
    url = _postgres_url(settings)
    return postgres_commits_and_wal_syncs(url) if url else None


def _per_order(before: tuple[int, int] | None, after: tuple[int, int] | None, orders: int) -> dict[str, float]:
    """Commits and WAL flushes per order between two readings (the server's own group commit shows as
    fewer flushes than commits)."""
    if before is None or after is None or orders <= 0:
        return {}
    return {
        "pg_commits_per_order": round((after[0] - before[0]) / orders, 3),
        "pg_wal_flushes_per_order": round((after[1] - before[1]) / orders, 3),
    }


def _postgres_url(settings: Settings) -> str | None:
    """The database URL when it is PostgreSQL (whose server CPU is counted), else None."""
    return settings.database_url if settings.database_url.startswith("postgresql") else None


def _figures_or_error(
    console: Console, what: str, failed: dict[str, Any], run: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """``run()``'s figures, or ``failed`` with the error: one failing run must not hide the others' figures."""
    try:
        return run()
    except Exception as exc:
        console.print(f"[red]{what}: {exc}")
        return {**failed, "error": str(exc)}


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
        "p50_ms": round(percentile(latencies_ms, 50), 2) if latencies_ms.size else None,
        "p99_ms": round(percentile(latencies_ms, 99), 2) if latencies_ms.size else None,
        "wall_s": round(wall_s, 3),
        "statuses": counts,
        **extra,
        "vs_goal": ratio(done / wall_s if wall_s > 0 else None, GOAL_ORDERS_PER_S, 3),
    }


# ------------------------------------------------------------------- several service processes
def measure_processes(processes: int, workload: Workload, console: Console, *, over_http: bool) -> dict[str, Any]:
    """PostGIS + Redis shared by ``processes`` service processes, or the error in place of the figures."""
    failed = {
        "backend": _processes_name(processes),
        "orders": 0,
        "durable": workload.durable,
        "transport": "http" if over_http else "in-process",
    }
    run = partial(bench_processes, processes, workload, console, over_http)
    return _figures_or_error(console, "multi-process run", failed, run)


def _processes_name(processes: int) -> str:
    return f"postgis+redis x{processes} processes"


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
        cpu0 = os.times()
        _, latencies_ms, failures = run_orders(
            send, bodies, threads=threads, label="", console=None, key_prefix=key_prefix
        )
        cpu1 = os.times()
        cpu_s = cpu1.user + cpu1.system - cpu0.user - cpu0.system
        return {
            "t0": t0,
            "t1": time.time(),
            "latencies_ms": latencies_ms.tolist(),
            "failures": failures,
            "cpu_s": cpu_s,
        }
    finally:
        container.close()


def _http_server_worker(settings_json: str, channel: Connection) -> None:
    """One service process serving HTTP on its own port: sends its URL, then its CPU seconds between
    the parent's "go" and "stop" (the parent's client threads spread the orders over every process)."""
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    with serve_in_thread(Settings.model_validate_json(settings_json), quiet=True) as (base_url, _container):
        channel.send(base_url)
        channel.recv()  # "go"
        cpu0 = os.times()
        channel.recv()  # "stop"
        cpu1 = os.times()
        channel.send(cpu1.user + cpu1.system - cpu0.user - cpu0.system)


def _run_http_processes(
    settings: Settings, bodies: list[dict[str, Any]], processes: int, threads: int
) -> list[dict[str, Any]]:
    """``processes`` HTTP service processes; this process's client threads post to them in turn."""
    import itertools
    import multiprocessing
    import threading

    context = multiprocessing.get_context("spawn")
    channels, workers = [], []
    for _ in range(processes):
        parent_end, child_end = context.Pipe()
        worker = context.Process(target=_http_server_worker, args=(settings.model_dump_json(), child_end))
        worker.start()
        channels.append(parent_end)
        workers.append(worker)
    try:
        senders = [http_sender(channel.recv()) for channel in channels]
        turn = itertools.count()
        local = threading.local()

        def send(body: dict[str, Any], key: str) -> None:
            if not hasattr(local, "sender"):  # each client thread sticks to one server (keep-alive)
                local.sender = senders[next(turn) % processes]
            local.sender(body, key)

        for channel in channels:
            channel.send("go")
        t0, client0 = time.time(), os.times()
        _, latencies_ms, failures = run_orders(send, bodies, threads=threads, label="http", console=None)
        t1, client1 = time.time(), os.times()
        for channel in channels:
            channel.send("stop")
        cpu_s = sum(float(channel.recv()) for channel in channels)
    finally:
        for worker in workers:
            worker.join(timeout=60)
            if worker.is_alive():
                worker.terminate()
    client_s = client1.user + client1.system - client0.user - client0.system
    return [
        {"t0": t0, "t1": t1, "latencies_ms": latencies_ms.tolist(), "failures": failures, "cpu_s": cpu_s},
        {"t0": t0, "t1": t1, "latencies_ms": [], "failures": 0, "cpu_s": 0.0, "client_cpu_s": client_s},
    ]


def bench_processes(processes: int, workload: Workload, console: Console, over_http: bool = False) -> dict[str, Any]:
    """PostGIS + Redis shared by several service processes (what Redis locks exist for); checks no oversell."""
    orders, skus, customers = workload.orders, workload.skus, workload.customers
    with (
        backend_settings("postgis+redis", durable=workload.durable) as settings,
        serve_in_thread(settings, quiet=True) as (base_url, container),
    ):
        # Tight stock: about 80% of the demand, so processes really compete for the last units.
        bodies = order_bodies(orders, skus=skus, customers=customers, seed_value=11)
        demand = sum(line["qty"] for body in bodies for line in body["lines"])
        per_key = max(1, int(demand * 0.8 / (skus * len(WAREHOUSE_SITES))))
        seed(base_url, skus=skus, customers=customers, on_hand=per_key)
        console.print(f"[bold]{processes} processes x {workload.threads} threads on postgis+redis ...")
        storage = storage_settings(container.engine)
        load_before = loadavg()
        before = cpu_sample(_postgres_url(settings), settings.redis_url)
        flushes_before = _commits_and_flushes(settings)
        if over_http:
            parts = _run_http_processes(settings, bodies, processes, workload.threads)
        else:
            parts = _run_processes(settings, bodies, processes, workload.threads)
        after = cpu_sample(_postgres_url(settings), settings.redis_url)
        flushes = _per_order(flushes_before, _commits_and_flushes(settings), orders)
        counts = status_counts(container)
        consistent = _stock_consistent(container)
    wall_s = max(p["t1"] for p in parts) - min(p["t0"] for p in parts)
    latencies_ms = np.array([x for p in parts for x in p["latencies_ms"]])
    failures = sum(p["failures"] for p in parts)
    return _figures(
        _processes_name(processes),
        orders - failures,
        failures,
        wall_s,
        latencies_ms,
        counts,
        durable=is_durable(storage),
        transport="http" if over_http else "in-process",
        storage=storage,
        durability=durability_note(storage),
        # "python": the service processes plus this one (its background jobs; over HTTP its client
        # threads too, also given apart as "client").
        cpu_ms_per_order={
            **cpu_ms_per_order(before, after, orders, extra_process_s=sum(p["cpu_s"] for p in parts)),
            "client": round(sum(p.get("client_cpu_s", 0.0) for p in parts) * 1000.0 / orders, 3),
        },
        **flushes,
        loadavg_before=load_before,
        loadavg_after=loadavg(),
        processes=processes,
        stock_consistent=consistent,
    )


def _run_processes(
    settings: Settings, bodies: list[dict[str, Any]], processes: int, threads: int
) -> list[dict[str, Any]]:
    """Share the orders among ``processes`` spawned service processes that start together; their reports."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    shares = [bodies[i::processes] for i in range(processes)]
    run_id = f"{time.time_ns():x}"
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        start_at = time.time() + 6.0 + processes  # room for every process to import and connect
        futures = [
            pool.submit(_process_worker, settings.model_dump_json(), share, threads, f"{run_id}-p{i}", start_at)
            for i, share in enumerate(shares)
        ]
        return [future.result() for future in futures]


def _stock_consistent(container: Container) -> bool:
    """No key oversold in Redis or in the relational store, and Redis's reservations equal the durable holds."""
    from orders_core.stock.repository import StockRepository

    levels = container.stock.locks.all_levels()
    with container.uow() as uow:
        repository = StockRepository(uow.session)
        durable, held = repository.all_levels(), repository.held_totals()
    oversold = [k for k, level in levels.items() if level.available < 0 or level.reserved != held.get(k, 0)]
    oversold += [k for k, level in durable.items() if level.reserved > level.on_hand]
    return not oversold


# ------------------------------------------------------------------------------------------- report
def results_table(workload: Workload, over_http: bool, rows: list[dict[str, Any]]) -> Table:
    """Every run's throughput, latency, statuses and ratio to the goal (or its error)."""
    mode = "HTTP (POST /v1/orders)" if over_http else IN_PROCESS_MODE
    title = f"pipeline: {workload.orders} orders, {workload.threads} threads, {mode}"
    columns = (
        "backend",
        "durable",
        "orders",
        "failed",
        "orders/s",
        "p50 ms",
        "p99 ms",
        "CPU ms/order",
        "allocated",
        "on_hold",
        "vs goal 710/s",
    )
    table = figures_table(title, columns, left=2)
    for result in rows:
        statuses = result.get("statuses", {})
        goal_ratio = result.get("vs_goal")
        cpu = result.get("cpu_ms_per_order", {})
        table.add_row(
            result["backend"],
            _yes_no(result.get("durable")),
            str(result["orders"]),
            str(result.get("failed", "-")),
            _fmt(result.get("orders_per_s")),
            _fmt(result.get("p50_ms")),
            _fmt(result.get("p99_ms")),
            _fmt(cpu.get("total")),
            str(statuses.get("allocated", 0)),
            str(statuses.get("on_hold", 0)),
            f"{goal_ratio:.2f}x" if goal_ratio is not None else result.get("error", "-")[:40],
        )
    return table


def verdict_lines(results: list[dict[str, Any]], scaling: list[dict[str, Any]]) -> list[str]:
    """Stock consistency of the multi-process run, the backends' throughput ratio, and each run against the goal."""
    lines = [
        f"{result['backend']} storage: {result['storage']} -> {result['durability']}; "
        f"CPU ms/order {result['cpu_ms_per_order']}; loadavg {result['loadavg_before']} .. {result['loadavg_after']}"
        for result in results + scaling
        if "storage" in result
    ]
    for result in scaling:
        if "stock_consistent" in result:
            verdict = "no oversell" if result["stock_consistent"] else "STOCK INCONSISTENT"
            lines.append(f"{result['backend']}: {verdict} (tight stock, processes competing for the last units)")
    measured = [r for r in results if r.get("orders_per_s")]
    if len(measured) == 2:
        a, b = measured
        lines.append(f"{b['backend']} / {a['backend']} throughput ratio: {b['orders_per_s'] / a['orders_per_s']:.2f}")
    for result in measured + [r for r in scaling if r.get("orders_per_s")]:
        needed_s = GOAL_ORDERS / result["orders_per_s"]
        verdict = "meets" if result["orders_per_s"] >= GOAL_ORDERS_PER_S else "misses"
        lines.append(
            f"{result['backend']}: {result['orders_per_s']:.0f} orders/s -> 426,000 orders in {needed_s / 60:.1f} min; "
            f"{verdict} the goal of 10 min (~{GOAL_ORDERS_PER_S:.0f} orders/s)"
        )
    return lines


def summary(
    threads: int, over_http: bool, results: list[dict[str, Any]], scaling: list[dict[str, Any]]
) -> dict[str, Any]:
    """The JSON last line: the mode, the goal and every run's figures."""
    return {
        "benchmark": "pipeline",
        "mode": "http" if over_http else "in-process",
        "threads": threads,
        "goal_orders_per_s": round(GOAL_ORDERS_PER_S, 1),
        "results": results,
        "scaling": scaling,
    }


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def _yes_no(flag: bool | None) -> str:
    return "-" if flag is None else ("yes" if flag else "NO")
