"""``dispatch bench import``: a year of ERP orders (426,000 by default) from a GB18030 CSV into each backend.

The files are generated with a fixed seed (benchmarks/import_data.py). Each backend gets a fresh database:
embedded SQLite, and PostGIS on a throwaway durable server (fsync on: every committed batch is on disk).
The customer and item masters are imported first through their own profiles (timed apart); the timed part
is the order import with the shipped ``erp_orders_csv`` profile in history mode: mapping, every strategy
of the profile, batched writes of whole records, the run's offset, source keys and report rows. The count
of orders is read back from the database, not taken from the importer's own counters.
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from sqlalchemy import func, select

from benchmarks.import_data import WAREHOUSES, GeneratedYear, generate_year
from benchmarks.report import JsonOption, figures_table, print_json_line
from infra.db import make_engine, make_session_factory
from infra.migrate import upgrade
from infra.throwaway import create_database, throwaway_postgres
from orders_core.integration.importer import ImportOptions, run_import
from orders_core.integration.profile_loader import load_profile
from orders_core.master_data.model import Warehouse
from orders_core.master_data.service import put_warehouse
from orders_core.orders.tables import OrderLineRow, OrderRow
from orders_core.stock.service import build_stock_service
from orders_core.unit_of_work import UnitOfWork

PROFILES = Path(__file__).resolve().parents[1] / "profiles"
GOAL_S = 120.0
BACKENDS = ("sqlite", "postgis")


@contextmanager
def _database(backend: str, folder: Path) -> Iterator[str]:
    """A fresh, migrated database on ``backend``."""
    if backend == "sqlite":
        url = f"sqlite:///{folder / 'bench.sqlite3'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
        return
    with throwaway_postgres(durable=True) as server:
        url = create_database(server, "import_bench")
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url


def _year(folder: Path, *, orders: int, seed: int) -> GeneratedYear:
    """The generated files: reused when ``folder`` holds those of the same size and seed (generation is
    deterministic), else generated."""
    marker = folder / f"generated-{orders}-{seed}.txt"
    if marker.is_file():
        lines = int(marker.read_text().split()[0])
        customers, skus = (int(n) for n in marker.read_text().split()[1:3])
        return GeneratedYear(
            folder / "customers.csv", folder / "skus.csv", folder / "orders.csv", orders, lines, customers, skus
        )
    data = generate_year(folder, orders=orders, seed=seed)
    marker.write_text(f"{data.lines} {data.customers} {data.skus}\n")
    return data


def _children_cpu_s() -> float:
    """CPU of this process's finished children (the importer joins its mapping worker before returning)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def import_year(url: str, data: GeneratedYear, *, console: Console, label: str, batch_size: int) -> dict[str, Any]:
    """Import the masters, then (timed) the orders into ``url``; answers the figures."""
    engine = make_engine(url)
    session_factory = make_session_factory(engine)

    def new_uow() -> UnitOfWork:
        return UnitOfWork(session_factory)

    try:
        with new_uow() as uow:
            for warehouse_id, (lat, lng) in WAREHOUSES.items():
                put_warehouse(uow, Warehouse(id=warehouse_id, name=warehouse_id, lat=lat, lng=lng))
            uow.commit()
        stock = build_stock_service()
        started = time.perf_counter()
        for name, path in (("erp_customers_csv", data.customers_csv), ("erp_skus_csv", data.skus_csv)):
            run_import(new_uow, load_profile(PROFILES / f"{name}.yaml"), path, stock=stock)
        master_s = time.perf_counter() - started
        profile = load_profile(PROFILES / "erp_orders_csv.yaml")
        with Progress(
            TextColumn(f"import {label}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[counts]}"),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task(label, total=None, counts="")

            def progress(done: int, total: int | None, counts: dict[str, int]) -> None:
                text = " ".join(f"{name} {value:,}" for name, value in counts.items() if value)
                bar.update(task, completed=done, total=total, counts=text)

            started = time.perf_counter()
            cpu_started = time.process_time()
            children_started = _children_cpu_s()
            summary = run_import(
                new_uow,
                profile,
                data.orders_csv,
                options=ImportOptions(batch_size=batch_size, actor="bench"),
                stock=stock,
                progress=progress,
            )
            seconds = time.perf_counter() - started
            cpu_s = time.process_time() - cpu_started
            worker_cpu_s = _children_cpu_s() - children_started
        with engine.connect() as connection:
            orders = int(connection.execute(select(func.count()).select_from(OrderRow)).scalar_one())
            lines = int(connection.execute(select(func.count()).select_from(OrderLineRow)).scalar_one())
    finally:
        engine.dispose()
    return {
        "orders": orders,
        "lines": lines,
        "seconds": round(seconds, 2),
        "orders_per_s": round(orders / seconds, 1) if seconds else None,
        "master_seconds": round(master_s, 2),
        # This process's CPU (mapping, strategies, the SQLite engine itself): on a machine shared with other
        # work, the wall time above is longer than the work; this says how much work there was.
        "client_cpu_s": round(cpu_s, 1),
        # The mapping worker's CPU (a forked process; history-mode orders are mapped there while this one writes).
        "worker_cpu_s": round(worker_cpu_s, 1),
        "rejected": summary.counts["rejected"],
        "status": summary.status,
    }


def command(
    orders: Annotated[int, typer.Option(help="Orders in the generated year.", min=1)] = 426_000,
    backend: Annotated[list[str] | None, typer.Option(help="sqlite and/or postgis (default both).")] = None,
    batch_size: Annotated[int, typer.Option(help="Records per transaction.", min=1)] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of the generated year.")] = 13,
    data_dir: Annotated[
        Path | None, typer.Option(help="Keep the generated files here and reuse them when they match.")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """A year of ERP orders from CSV into each backend (target: <= 120 s per backend)."""
    console = Console(stderr=True)
    chosen = backend or list(BACKENDS)
    for name in chosen:
        if name not in BACKENDS:
            raise typer.BadParameter(f"backend {name!r} is not one of {', '.join(BACKENDS)}")
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="import-bench-") as scratch:
        folder = Path(scratch)
        started = time.perf_counter()
        data = _year(data_dir or folder / "files", orders=orders, seed=seed)
        size_mb = data.orders_csv.stat().st_size / 1e6
        console.print(
            f"generated {data.orders:,} orders, {data.lines:,} lines, {data.customers:,} customers, {data.skus:,} SKUs"
            f" ({size_mb:,.1f} MB GB18030 CSV) in {time.perf_counter() - started:.1f} s"
        )
        for name in chosen:
            with _database(name, folder) as url:
                figures = import_year(url, data, console=console, label=name, batch_size=batch_size)
            results.append({"backend": name, **figures})
    table = figures_table(
        f"dispatch bench import: {orders:,} orders (one year) from a GB18030 ERP CSV",
        (
            "backend",
            "orders",
            "lines",
            "seconds",
            "orders/s",
            "client CPU s",
            "worker CPU s",
            "masters s",
            "rejected",
            "<= 120 s",
        ),
        left=1,
    )
    for row in results:
        table.add_row(
            row["backend"],
            f"{row['orders']:,}",
            f"{row['lines']:,}",
            f"{row['seconds']:.1f}",
            f"{row['orders_per_s']:,.0f}",
            f"{row['client_cpu_s']:.1f}",
            f"{row['worker_cpu_s']:.1f}",
            f"{row['master_seconds']:.1f}",
            str(row["rejected"]),
            "yes" if row["seconds"] <= GOAL_S else "no",
        )
    Console().print(table)
    if json_output:
        print_json_line(
            {
                "results": [
                    {key: row[key] for key in ("backend", "orders", "seconds", "orders_per_s")} for row in results
                ]
            }
        )
