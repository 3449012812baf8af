"""Fault drills: real ``dispatch serve`` processes on PostGIS + Redis, a 32-thread order storm, and one fault
in the middle of it. Each drill ends with ``dispatch doctor --repair`` and then a clean ``dispatch doctor``,
and checks that no unit is oversold, no accepted order is lost, no stock leaked, and that every retried
``Idempotency-Key`` answers its first result. ``pytest -s -m drills`` prints each drill's figures.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.drills.harness import (
    DrillFigures,
    Storm,
    Warehouse,
    check_answers,
    check_store,
    order_body,
    reconcile_and_check,
    replay_sample,
    report,
    seed,
    service_env,
    service_log_summary,
    storm_figures,
)
from tests.drills.servers import RestartablePostgres, RestartableRedis, ServiceProcess, drill_stores

pytestmark = pytest.mark.drills

CUSTOMERS = 32
WAREHOUSES = (
    Warehouse("wh-north", 31.32, 121.45),
    Warehouse("wh-east", 31.22, 121.62),
    Warehouse("wh-west", 31.18, 121.30),
)


@dataclass
class Drill:
    """A drill's stores, its service processes and their settings."""

    postgres: RestartablePostgres
    redis: RestartableRedis
    root: Path
    env: dict[str, str]
    services: list[ServiceProcess] = field(default_factory=list)

    def start_services(self, count: int, *, seed_with: Callable[[str], None]) -> list[ServiceProcess]:
        """Start ``count`` processes: the first alone (it migrates the schema), then the others while
        ``seed_with(first url)`` writes the drill's master data through the first."""
        self.services = [ServiceProcess(self.env, self.root / f"api-{n}.log", f"api-{n}") for n in range(count)]
        self.services[0].start()
        for service in self.services[1:]:
            service.launch()
        seed_with(self.services[0].url)
        for service in self.services[1:]:
            service.wait_ready()
        return self.services

    @property
    def urls(self) -> list[str]:
        return [service.url for service in self.services]


@contextlib.contextmanager
def drill() -> Iterator[Drill]:
    """Fresh stores for one drill; every process it started is stopped afterwards."""
    with drill_stores() as (postgres, redis_server, root):
        state = Drill(postgres, redis_server, root, service_env(postgres.url, redis_server.url))
        try:
            yield state
        finally:
            for service in state.services:
                service.stop()


def seeder(warehouses: tuple[Warehouse, ...], given: Mapping[tuple[str, str], int]) -> Callable[[str], None]:
    """Writes the drill's warehouses, SKUs, customers and stock through the service at the URL given."""
    return lambda url: seed(url, warehouses=warehouses, stock=given, customers=CUSTOMERS)


def random_orders(
    count: int, skus: list[str], rng: random.Random, *, max_lines: int = 2, max_qty: int = 3
) -> list[dict[str, Any]]:
    """Small orders (1-``max_lines`` lines of 1-``max_qty`` units) over ``skus`` for random customers."""
    bodies = []
    for n in range(count):
        chosen = rng.sample(skus, k=rng.randint(1, max_lines))
        bodies.append(order_body(n % CUSTOMERS, {sku: rng.randint(1, max_qty) for sku in chosen}, rng))
    return bodies


def stock_of(
    skus: list[str], on_hand: int, warehouses: tuple[Warehouse, ...] = WAREHOUSES
) -> dict[tuple[str, str], int]:
    """The same count of every SKU at every warehouse."""
    return {(warehouse.id, sku): on_hand for warehouse in warehouses for sku in skus}


def finish(name: str, state: Drill, storm: Storm, given: Mapping[tuple[str, str], int]) -> DrillFigures:
    """The checks every drill ends with; answers the figures (printed)."""
    figures = storm_figures(name, storm)
    try:
        check_answers(storm)
        reconcile_and_check(state.env, figures)
        check_store(storm, state.postgres.url, state.urls[0], given, figures)
        figures.replays_checked = replay_sample(storm, state.urls[-1])
    finally:  # printed whether the checks pass or not: the figures of a failing drill explain it
        figures.extra.update(service_log_summary([service.log_path for service in state.services]))
        report(figures)
    return figures


def test_kill_9_of_the_api_during_an_order_storm_loses_and_leaks_nothing() -> None:
    rng = random.Random(1)
    skus = [f"sku-k{n}" for n in range(4)]
    given = stock_of(skus, 50)
    with drill() as state:
        (service,) = state.start_services(1, seed_with=seeder(WAREHOUSES, given))
        storm = Storm(state.urls, random_orders(300, skus, rng), name="kill9")
        storm.start()
        storm.wait_done(120)
        service.kill9()
        time.sleep(0.5)
        service.start()
        storm.join()
        figures = finish("kill-9", state, storm, given)
    assert figures.no_answer > 0  # the kill cut requests (else the drill drilled nothing)


def test_redis_restarted_empty_during_load_keeps_every_reservation() -> None:
    rng = random.Random(2)
    skus = [f"sku-r{n}" for n in range(4)]
    given = stock_of(skus, 50)
    with drill() as state:
        state.start_services(1, seed_with=seeder(WAREHOUSES, given))
        storm = Storm(state.urls, random_orders(300, skus, rng), name="redis")
        storm.start()
        storm.wait_done(120)
        state.redis.kill()
        time.sleep(1.0)
        state.redis.start()
        storm.join()
        figures = finish("redis-restart", state, storm, given)
    assert figures.answers_503 > 0  # requests met the outage and were told to come back


def test_postgres_restart_answers_503_with_retry_after_then_recovers_without_restarting_the_api() -> None:
    rng = random.Random(3)
    skus = [f"sku-p{n}" for n in range(4)]
    given = stock_of(skus, 50)
    with drill() as state:
        (service,) = state.start_services(1, seed_with=seeder(WAREHOUSES, given))
        pid_before = service.pid
        storm = Storm(state.urls, random_orders(300, skus, rng), name="pg")
        storm.start()
        storm.wait_done(120)
        state.postgres.crash()
        ready_while_down = _poll_ready(service.url, seconds=2.0)
        state.postgres.start()
        ready_after = _wait_ready(service.url, timeout_s=30)
        storm.join()
        figures = finish("postgres-restart", state, storm, given)
        assert service.pid == pid_before and service.alive  # recovered in place
    assert figures.answers_503 > 0
    assert figures.extra["slowest_503_s"] < 10  # refused promptly, not after a hang
    assert ready_while_down and all(status == 503 for status, _ in ready_while_down), ready_while_down
    assert all(retry_after is not None for _, retry_after in ready_while_down)
    assert ready_after


def _poll_ready(url: str, seconds: float) -> list[tuple[int, str | None]]:
    """``/readyz`` answers over ``seconds`` (status, Retry-After)."""
    answers = []
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=url, timeout=10) as client:
        while time.monotonic() < deadline:
            answer = client.get("/readyz")
            answers.append((answer.status_code, answer.headers.get("Retry-After")))
            time.sleep(0.2)
    return answers


def _wait_ready(url: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=url, timeout=10) as client:
        while time.monotonic() < deadline:
            if client.get("/readyz").status_code == 200:
                return True
            time.sleep(0.1)
    return False


def test_cross_warehouse_orders_racing_on_two_processes_never_oversell() -> None:
    rng = random.Random(4)
    # Each SKU has a home warehouse with most of it and a little at one other: an order of two or three
    # SKUs is served from one warehouse only while those small lots last, then split over two or three.
    north, east, west = (warehouse.id for warehouse in WAREHOUSES)
    given = {
        (north, "sku-xa"): 120,
        (east, "sku-xa"): 20,
        (east, "sku-xb"): 120,
        (west, "sku-xb"): 20,
        (west, "sku-xc"): 120,
        (north, "sku-xc"): 20,
    }
    skus = ["sku-xa", "sku-xb", "sku-xc"]
    bodies = [
        order_body(n % CUSTOMERS, {sku: rng.randint(1, 4) for sku in rng.sample(skus, k=rng.randint(2, 3))}, rng)
        for n in range(200)
    ]
    with drill() as state:
        state.start_services(2, seed_with=seeder(WAREHOUSES, given))
        storm = Storm(state.urls, bodies, name="cross")
        storm.run()
        figures = finish("cross-warehouse", state, storm, given)
    assert figures.held > 0 and figures.on_hold > 0  # stock ran out: the race was real
    assert figures.extra["split_orders"] > figures.held // 2  # most served orders held at 2-3 warehouses


def test_two_processes_sharing_database_and_redis_never_oversell_tight_stock() -> None:
    rng = random.Random(5)
    skus = [f"sku-t{n}" for n in range(3)]
    given = stock_of(skus, 60, WAREHOUSES[:2])
    with drill() as state:
        state.start_services(2, seed_with=seeder(WAREHOUSES[:2], given))
        storm = Storm(state.urls, random_orders(240, skus, rng), name="two")
        storm.run()
        figures = finish("two-processes", state, storm, given)
    assert figures.held > 0 and figures.on_hold > 0
