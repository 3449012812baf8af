"""``dispatch bench ui``: p50/p95 response times of the console's pages, their JSON and the tracking page with
``--orders`` orders (default 100,000) in the database, on the embedded SQLite store and on PostGIS.

The history is generated with a fixed seed and written in bulk straight into the database
(``benchmarks.ui_data``: executemany, not the HTTP API), then the real app is served by uvicorn in this
process and each page of ``benchmarks.ui_pages.PAGES`` is asked ``--requests`` times (after ``--warmup``
requests) one at a time over HTTP, each request naming another order where the path has one. Target:
every page under 200 ms p95. The PostGIS server is a throwaway one with production durability
(``infra.throwaway.throwaway_postgres(durable=True)``).
"""

from __future__ import annotations

import contextlib
import logging
import random
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import typer
from rich.console import Console

from api.observability import configure_logging
from api.settings import Settings, TransportSettings
from benchmarks.live_service import BENCH_PAYMENT_SECRET, BENCH_TOKEN, serve_in_thread
from benchmarks.report import JsonOption, figures_table, percentile, print_json_line
from benchmarks.ui_data import Generated, generate
from benchmarks.ui_pages import PAGES, BenchPage
from infra.db import make_engine
from infra.migrate import upgrade

GOAL_P95_MS = 200.0
BACKENDS = ("sqlite", "postgis")
#: The console's session cookie (api.console.session.SESSION_COOKIE).
CONSOLE_COOKIE = "dispatch_console"


@contextlib.contextmanager
def _database(backend: str) -> Iterator[str]:
    """A fresh, empty database URL for ``backend``: a SQLite file, or a throwaway durable PostgreSQL."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="dispatch-bench-ui-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        return
    from infra.throwaway import throwaway_postgres

    with throwaway_postgres(durable=True) as url:
        yield url


def _load(url: str, orders: int, seed: int) -> Generated:
    engine = make_engine(url)
    try:
        upgrade(engine)
        return generate(engine, orders, seed=seed)
    finally:
        engine.dispose()


def _url(page: BenchPage, rng: random.Random, data: Generated, now: datetime) -> str:
    n = rng.randrange(len(data.order_ids))
    return page.path.format(
        order_id=data.order_ids[n],
        tracking_token=data.tracking_tokens[n],
        now=quote(now.isoformat()),
        week_ago=quote((now - timedelta(days=7)).isoformat()),
    )


def time_pages(
    base_url: str, data: Generated, *, requests: int, warmup: int, pages: tuple[BenchPage, ...] = PAGES, seed: int = 1
) -> dict[str, dict[str, Any]]:
    """Each page's p50/p95 (ms) over ``requests`` sequential GETs after ``warmup``, and its status codes."""
    rng = random.Random(seed)
    figures: dict[str, dict[str, Any]] = {}
    clients = {
        "bearer": httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {BENCH_TOKEN}"}, timeout=60),
        "console": httpx.Client(base_url=base_url, cookies={CONSOLE_COOKIE: BENCH_TOKEN}, timeout=60),
        "public": httpx.Client(base_url=base_url, timeout=60),
    }
    try:
        for page in pages:
            client = clients[page.auth]
            now = datetime.now(UTC)
            for _ in range(warmup):
                client.get(_url(page, rng, data, now))
            times_ms: list[float] = []
            statuses: dict[int, int] = {}
            size = 0
            for _ in range(requests):
                url = _url(page, rng, data, now)
                started = time.perf_counter()
                answer = client.get(url)
                times_ms.append((time.perf_counter() - started) * 1000.0)
                statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                size = max(size, len(answer.content))
            figures[page.name] = {
                "path": page.path,
                "p50_ms": round(percentile(times_ms, 50), 1),
                "p95_ms": round(percentile(times_ms, 95), 1),
                "statuses": {str(code): count for code, count in sorted(statuses.items())},
                "max_bytes": size,
            }
    finally:
        for client in clients.values():
            client.close()
    return figures


def run_backend(
    backend: str, *, orders: int, requests: int, warmup: int, seed: int, console: Console, explain: bool = False
) -> dict[str, Any]:
    """Load ``orders`` orders into a fresh ``backend`` database, serve the app on it and time every page."""
    with _database(backend) as url:
        console.print(f"[{backend}] writing {orders:,} orders and their history in bulk (executemany) ...")
        data = _load(url, orders, seed)
        rows = sum(data.rows.values())
        console.print(f"[{backend}] {rows:,} rows in {data.seconds:.1f} s: {data.rows}")
        plans = _plans(url, backend, console) if explain else {}
        settings = Settings(
            database_url=url,
            redis_url=None,
            admin_token=BENCH_TOKEN,
            payment_secret=BENCH_PAYMENT_SECRET,
            log_json=False,
            transport=TransportSettings(assign_at="manual"),  # the generated shipments stay as generated while timing
        )
        with serve_in_thread(settings, quiet=True) as (base_url, _container):
            pages = time_pages(base_url, data, requests=requests, warmup=warmup)
    worst = max(pages.values(), key=lambda figures: figures["p95_ms"])
    return {
        "load_s": round(data.seconds, 1),
        "rows": data.rows,
        "pages": pages,
        "p95_ms": worst["p95_ms"],
        "all_200": all(set(p["statuses"]) == {"200"} for p in pages.values()),
        "plans": plans,
    }


def _plans(url: str, backend: str, console: Console) -> dict[str, list[str]]:
    from benchmarks.ui_explain import query_plans

    engine = make_engine(url)
    try:
        plans = query_plans(engine)
    finally:
        engine.dispose()
    for name, lines in plans.items():
        console.print(f"[{backend}] plan of {name}:")
        for line in lines:
            console.print(f"    {line}", markup=False, highlight=False)
    return plans


def command(
    orders: Annotated[int, typer.Option(help="Orders generated into the database.", min=1)] = 100_000,
    requests: Annotated[int, typer.Option(help="Timed requests per page.", min=1)] = 200,
    warmup: Annotated[int, typer.Option(help="Untimed requests per page first.", min=0)] = 20,
    backends: Annotated[str, typer.Option(help="Comma-separated: sqlite, postgis.")] = ",".join(BACKENDS),
    seed: Annotated[int, typer.Option(help="Seed of the generated history.")] = 10,
    explain: Annotated[bool, typer.Option("--explain", help="Print the plans of the map and analytics reads.")] = False,
    json_output: JsonOption = False,
) -> None:
    """p50/p95 of every console page, its JSON and the tracking page at --orders orders vs < 200 ms p95."""
    configure_logging("console", logging.WARNING)
    chosen = [b.strip() for b in backends.split(",") if b.strip()]
    unknown = [b for b in chosen if b not in BACKENDS]
    if unknown or not chosen:
        raise typer.BadParameter(f"unknown backends {unknown}; choose from {', '.join(BACKENDS)}")
    console = Console(stderr=True)
    results: dict[str, dict[str, Any]] = {}
    for backend in chosen:
        results[backend] = run_backend(
            backend, orders=orders, requests=requests, warmup=warmup, seed=seed, console=console, explain=explain
        )
    table = figures_table(
        f"GET timings at {orders:,} orders, {requests} requests per page after {warmup} warm-up (ms)",
        ["page", *(f"{b} {q}" for b in chosen for q in ("p50", "p95")), "statuses"],
        left=1,
    )
    for page in PAGES:
        cells = [f"{results[b]['pages'][page.name][q]:.1f}" for b in chosen for q in ("p50_ms", "p95_ms")]
        statuses = " ".join(f"{b}:{results[b]['pages'][page.name]['statuses']}" for b in chosen)
        table.add_row(page.name, *cells, statuses)
    Console().print(table)
    worst_per_page = {
        page.name: max((results[b]["pages"][page.name] for b in chosen), key=lambda f: f["p95_ms"]) for page in PAGES
    }
    p95 = max(f["p95_ms"] for f in worst_per_page.values())
    met = p95 < GOAL_P95_MS and all(results[b]["all_200"] for b in chosen)
    typer.echo("data         generated with a fixed seed and written in bulk straight into the database (not via HTTP)")
    typer.echo(f"goal         every page < {GOAL_P95_MS:.0f} ms p95: {'met' if met else 'NOT met'} (worst {p95} ms)")
    if json_output:
        print_json_line(
            {
                "orders": orders,
                "requests_per_page": requests,
                "pages": {name: {"p50_ms": f["p50_ms"], "p95_ms": f["p95_ms"]} for name, f in worst_per_page.items()},
                "p95_ms": p95,
                "goal_met": met,
                "backends": {
                    b: {
                        "pages": {
                            name: {"p50_ms": f["p50_ms"], "p95_ms": f["p95_ms"], "statuses": f["statuses"]}
                            for name, f in results[b]["pages"].items()
                        },
                        "p95_ms": results[b]["p95_ms"],
                        "load_s": results[b]["load_s"],
                        "rows": results[b]["rows"],
                        **({"plans": results[b]["plans"]} if explain else {}),
                    }
                    for b in chosen
                },
            }
        )
