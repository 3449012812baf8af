"""``dispatch bench webhooks``: carrier webhooks from the outbox to a local receiver, per second and
commit-to-receipt latency.

A producer commits waybill events to the outbox (``announce_waybill_event``, ``--batch`` events per
transaction) at ``--rate`` events/s; the service's delivery worker (the same ``DeliveryWorker`` the API
runs, on a thread of this process) relays, signs and sends them to a receiver in its own process
(``benchmarks.webhook_receiver``: keep-alive HTTP, checks every signature). Latency is from the
producer's commit returning to the receiver reading the request, both on this machine's clock.
Target: >= 1,000 deliveries/s with p99 < 1 s. ``lost`` = events never received with a valid signature;
``duplicates`` = receipts beyond the first of each webhook-id (at-least-once allows them).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import Engine, func, select, text

from api.observability import configure_logging
from benchmarks.report import JsonOption, percentile, print_json_line
from infra.db import make_engine, make_session_factory
from infra.migrate import upgrade
from orders_core.carriers.model import Carrier
from orders_core.carriers.repository import CarrierRepository
from orders_core.carriers.service import new_webhook_secret
from orders_core.transport.webhooks.model import WebhookParams
from orders_core.transport.webhooks.outbox import announce_waybill_event
from orders_core.transport.webhooks.tables import WebhookDeliveryRow
from orders_core.transport.webhooks.worker import DeliveryWorker
from orders_core.unit_of_work import UnitOfWork

ROOT = Path(__file__).resolve().parents[1]
GOAL_PER_S = 1000.0
GOAL_P99_MS = 1000.0
#: The worker as the service would be tuned for throughput: short idle poll, big batches, many sends.
BENCH_PARAMS = WebhookParams(poll_interval_s=0.01, batch_size=500, max_in_flight=256, max_in_flight_per_endpoint=64)


def _start_receiver(secret: str, out_path: str) -> tuple[subprocess.Popen[str], int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.webhook_receiver", secret, out_path],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("PORT "):
        process.kill()
        raise RuntimeError(f"the receiver did not start: {line!r}")
    return process, int(line.split()[1])


def _durability(engine: Engine) -> tuple[str, str]:
    """The backend's name and what a commit survives, as configured on the server."""
    if engine.dialect.name == "sqlite":
        return (
            "sqlite",
            "SQLite WAL, synchronous=NORMAL (a process crash loses no commit; power loss may lose the last ones)",
        )
    with engine.connect() as connection:
        fsync = connection.execute(text("SHOW fsync")).scalar()
        sync_commit = connection.execute(text("SHOW synchronous_commit")).scalar()
    return "postgresql", f"PostgreSQL fsync={fsync}, synchronous_commit={sync_commit}"


def _delivered(engine: Engine, prefix: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                select(func.count())
                .select_from(WebhookDeliveryRow)
                .where(WebhookDeliveryRow.waybill_no.like(f"{prefix}%"), WebhookDeliveryRow.status == "delivered")
            ).scalar()
            or 0
        )


def run(
    *, events: int, rate: float, batch: int, carriers: int, database_url: str | None, params: WebhookParams
) -> dict[str, Any]:
    """One run; answers the figures (see the module docstring)."""
    workdir = tempfile.mkdtemp(prefix="bench-webhooks-")
    url = database_url or f"sqlite:///{workdir}/dispatch.sqlite3"
    engine = make_engine(url)
    upgrade(engine)
    backend, durability = _durability(engine)
    sessions = make_session_factory(engine)

    def new_uow() -> UnitOfWork:
        return UnitOfWork(sessions)

    secret = new_webhook_secret()
    receipts_path = f"{workdir}/receipts.tsv"
    receiver, port = _start_receiver(secret, receipts_path)
    run_id = secrets.token_hex(3)
    prefix = f"BW{run_id}-"
    with new_uow() as uow:
        repository = CarrierRepository(uow.session)
        for i in range(carriers):
            repository.upsert(
                Carrier(
                    f"bench-{run_id}-{i}",
                    f"bench {i}",
                    "van",
                    500.0,
                    5.0,
                    webhook_url=f"http://127.0.0.1:{port}/c/{i}",
                    webhook_secret=secret,
                )
            )
        uow.commit()
    worker = DeliveryWorker(new_uow, params)
    worker.start()
    committed_at: dict[str, float] = {}
    started = time.perf_counter()
    try:
        for first in range(0, events, batch):
            numbers = [f"{prefix}{n:08d}" for n in range(first, min(first + batch, events))]
            if rate > 0:
                due = started + first / rate
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            with new_uow() as uow:
                for n, waybill_no in enumerate(numbers):
                    waybill = {"waybill_no": waybill_no, "weight_kg": 1.5, "pieces": 1, "status": "created"}
                    carrier_id = f"bench-{run_id}-{(first + n) % carriers}"
                    announce_waybill_event(uow, carrier_id=carrier_id, event_type="waybill.created", waybill=waybill)
                uow.commit()
            now = time.time()
            committed_at.update((no, now) for no in numbers)
        produce_s = time.perf_counter() - started
        deadline = time.monotonic() + 60.0
        while _delivered(engine, prefix) < events and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        worker.stop()
        receiver.send_signal(signal.SIGTERM)
        receiver.wait(30)
        engine.dispose()
    lines = Path(receipts_path).read_text().splitlines()
    shutil.rmtree(workdir, ignore_errors=True)
    first_receipt: dict[str, float] = {}
    receipts = 0
    ids: set[str] = set()
    for line in lines:
        message_id, waybill_no, at, ok = line.split("\t")
        receipts += 1
        if ok != "1" or waybill_no not in committed_at:
            continue
        ids.add(message_id)
        first_receipt[waybill_no] = min(float(at), first_receipt.get(waybill_no, float("inf")))
    latencies_ms = [(at - committed_at[no]) * 1000 for no, at in first_receipt.items()]
    window_s = (max(first_receipt.values()) - min(committed_at.values())) if first_receipt else float("nan")
    delivered = len(first_receipt)
    return {
        "events": events,
        "delivered": delivered,
        "lost": events - delivered,
        "duplicates": receipts - len(ids),
        "deliveries_per_s": round(delivered / window_s, 1) if delivered else 0.0,
        "p50_ms": round(percentile(latencies_ms, 50), 1) if latencies_ms else None,
        "p99_ms": round(percentile(latencies_ms, 99), 1) if latencies_ms else None,
        "backend": backend,
        "durability": durability,
        "_offered_per_s": round(events / produce_s, 1),
    }


def command(
    events: Annotated[int, typer.Option(help="Waybill events to announce.", min=1)] = 10_000,
    rate: Annotated[float, typer.Option(help="Events committed per second (0: as fast as possible).", min=0)] = 1500.0,
    batch: Annotated[int, typer.Option(help="Events per producer transaction.", min=1)] = 15,
    carriers: Annotated[int, typer.Option(help="Carriers (endpoints) the events are spread over.", min=1)] = 10,
    database_url: Annotated[
        str | None, typer.Option(help="SQLAlchemy URL (default: a fresh embedded SQLite file).")
    ] = None,
    max_in_flight: Annotated[int, typer.Option(help="Sends in flight at once.", min=1)] = 256,
    json_output: JsonOption = False,
) -> None:
    """Outbox-to-receiver deliveries/s and commit-to-receipt p50/p99 vs >= 1,000/s with p99 < 1 s."""
    configure_logging("console", logging.WARNING)  # the worker's own warnings only (failed sends)
    params = replace(BENCH_PARAMS, max_in_flight=max_in_flight)
    result = run(events=events, rate=rate, batch=batch, carriers=carriers, database_url=database_url, params=params)
    offered = result.pop("_offered_per_s")
    typer.echo(f"store        {result['durability']}")
    typer.echo(
        f"offered      {offered:,.0f} events/s in transactions of {batch} ({events:,} events, {carriers} endpoints)"
    )
    typer.echo(
        f"delivered    {result['delivered']:,} of {result['events']:,} (lost {result['lost']}, "
        f"duplicates {result['duplicates']}) at {result['deliveries_per_s']:,.0f}/s"
    )
    typer.echo(f"latency      commit-to-receipt p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms")
    met = (
        result["lost"] == 0
        and result["deliveries_per_s"] >= GOAL_PER_S
        and result["p99_ms"] is not None
        and result["p99_ms"] < GOAL_P99_MS
    )
    typer.echo(f"goal         >= {GOAL_PER_S:,.0f}/s with p99 < {GOAL_P99_MS:,.0f} ms: {'met' if met else 'NOT met'}")
    if json_output:
        print_json_line(result)
