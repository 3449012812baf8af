"""The fault drills' load generator and their end-of-drill checks.

A storm posts orders from 32 client threads to one or more ``dispatch serve`` processes, each order with
its own ``Idempotency-Key``, and records every answer: 2xx (the order id and status), 4xx, 503, 500, no
answer at all. An order without a final answer (503, a cut connection, a timeout) is sent again with the
same key and body until it gets one, as a careful client would; some answered orders are sent again at
once to check that the key answers the first result.

The checks read the database directly (the truth the service claims to keep) and the service's own
stock endpoint (the fast store), and run ``dispatch doctor``.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from tests.drills.servers import REPO_ROOT

ADMIN_TOKEN = "drill-admin"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PAYMENT_SECRET = "drill-payment-secret"
THREADS = 32
UNIT_PRICE = "10.00"
#: Statuses an order may have right after intake when it holds its stock, and when it holds none.
HOLDING = frozenset({"stock_locked", "allocated"})
NOT_HOLDING = frozenset({"on_hold"})
#: Longest wait honoured from a Retry-After header (the drill's outages last a few seconds).
MAX_RETRY_WAIT_S = 2.0


def service_env(database_url: str, redis_url: str) -> dict[str, str]:
    """The settings of a drill's service: its stores, a known admin token and payment secret, no demo data,
    carriers assigned only on request (nothing changes an order behind the drill's back)."""
    return {
        "DISPATCH_DATABASE_URL": database_url,
        "DISPATCH_REDIS_URL": redis_url,
        "DISPATCH_ADMIN_TOKEN": ADMIN_TOKEN,
        "DISPATCH_PAYMENT_SECRET": PAYMENT_SECRET,
        "DISPATCH_LOG_FORMAT": "json",
        "DISPATCH_TRANSPORT__ASSIGN_AT": "manual",
        # A hold taken by a process that died is freed once its lease ends: 5 s instead of 15 keeps the
        # drills short (``dispatch doctor --repair`` waits for leases to end) yet far above a request's time.
        "DISPATCH_STOCK__LEASE_S": "5",
    }


@dataclass(frozen=True)
class Warehouse:
    id: str
    lat: float
    lng: float


def seed(
    base_url: str,
    *,
    warehouses: Sequence[Warehouse],
    stock: Mapping[tuple[str, str], int],
    customers: int,
) -> None:
    """Warehouses, SKUs (every SKU named in ``stock``), customers with ample credit, stock levels: over HTTP."""
    with httpx.Client(base_url=base_url, headers=ADMIN, timeout=30) as client:
        body: dict[str, Any]
        for warehouse in warehouses:
            body = {"name": warehouse.id, "location": {"lat": warehouse.lat, "lng": warehouse.lng}}
            _ok(client.put(f"/v1/warehouses/{warehouse.id}", json=body))
        for sku in sorted({sku for _, sku in stock}):
            body = {"name": sku, "unit_price": UNIT_PRICE, "weight_kg": 1.0, "volume_m3": 0.001}
            _ok(client.put(f"/v1/skus/{sku}", json=body))
        for n in range(customers):
            body = {"name": f"drill {n}", "credit_limit": "1000000000", "location": {"lat": 31.23, "lng": 121.47}}
            _ok(client.put(f"/v1/customers/{customer_id(n)}", json=body))
        for (warehouse_id, sku), on_hand in sorted(stock.items()):
            _ok(client.put(f"/v1/warehouses/{warehouse_id}/stock/{sku}", json={"on_hand": on_hand}))


def customer_id(n: int) -> str:
    """The n-th drill customer (intake serialises per customer, so the storm spreads over many)."""
    return f"cust-drill-{n:02d}"


def _ok(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise AssertionError(f"{response.request.method} {response.request.url.path}: {response.text[:300]}")


def order_body(customer: int, lines: Mapping[str, int], rng: random.Random) -> dict[str, Any]:
    """An order of ``lines`` (sku -> qty) for a drill customer, delivered somewhere in the city."""
    return {
        "customer_id": customer_id(customer),
        "lines": [{"sku": sku, "qty": qty, "unit_price": UNIT_PRICE} for sku, qty in sorted(lines.items())],
        "delivery": {"lat": 31.15 + rng.random() * 0.2, "lng": 121.35 + rng.random() * 0.25, "address": "drill"},
    }


@dataclass(frozen=True)
class Attempt:
    """One POST and what came back (``status`` None: no answer, ``error`` says why)."""

    target: str
    status: int | None
    elapsed_s: float
    error: str | None = None
    order_id: str | None = None
    order_status: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    retry_after: str | None = None
    json_body: bool = False

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def final(self) -> bool:
        """An answer the client acts on: accepted or refused for good (a 4xx other than 429)."""
        return self.accepted or (self.status is not None and 400 <= self.status < 500 and self.status != 429)


@dataclass
class OrderRun:
    """Everything the storm did for one order (one key)."""

    index: int
    key: str
    body: dict[str, Any]
    attempts: list[Attempt] = field(default_factory=list)
    replays: list[Attempt] = field(default_factory=list)

    @property
    def answer(self) -> Attempt | None:
        """The first final answer, if any."""
        return next((a for a in self.attempts if a.final), None)

    @property
    def units(self) -> int:
        return sum(int(line["qty"]) for line in self.body["lines"])


class Storm:
    """Post every order from ``threads`` threads, orders spread over ``targets``; a retry goes to the next
    target (as a load balancer would send it), with the same key and body."""

    def __init__(
        self,
        targets: Sequence[str],
        bodies: Sequence[dict[str, Any]],
        *,
        name: str,
        threads: int = THREADS,
        replay_every: int = 8,
        give_up_s: float = 120.0,
        request_timeout_s: float = 20.0,
    ) -> None:
        self.targets = list(targets)
        self.runs = [OrderRun(i, f"{name}-{i}", dict(body)) for i, body in enumerate(bodies)]
        self.threads = threads
        self.replay_every = replay_every
        self.give_up_s = give_up_s
        self.request_timeout_s = request_timeout_s
        self._local = threading.local()
        self._done = 0
        self._done_changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self.wall_s = 0.0

    def start(self) -> None:
        """Run the storm in the background (the drill breaks something meanwhile)."""
        self._thread = threading.Thread(target=self.run, name="drill-storm", daemon=True)
        self._thread.start()

    def join(self, timeout_s: float = 300.0) -> None:
        """Wait for every order to have its final answer (or to be given up)."""
        assert self._thread is not None
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), "the storm did not finish"

    def run(self) -> None:
        """Send every order; returns when each has a final answer or was given up."""
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="drill-client") as pool:
            list(pool.map(self._one, self.runs))
        self.wall_s = time.perf_counter() - started
        for client in getattr(self._local, "all_clients", []):
            client.close()

    def wait_done(self, count: int, timeout_s: float = 120.0) -> None:
        """Block until ``count`` orders have their final answer."""
        with self._done_changed:
            assert self._done_changed.wait_for(lambda: self._done >= count, timeout_s), f"{self._done} < {count}"

    def _client(self, target: str) -> httpx.Client:
        clients: dict[str, httpx.Client] | None = getattr(self._local, "clients", None)
        if clients is None:
            clients = self._local.clients = {}
        if target not in clients:
            clients[target] = httpx.Client(base_url=target, headers=ADMIN, timeout=self.request_timeout_s)
        return clients[target]

    def _one(self, run: OrderRun) -> None:
        deadline = time.monotonic() + self.give_up_s
        tries = 0
        try:
            while True:
                target = self.targets[(run.index + tries) % len(self.targets)]
                attempt = post_order(self._client(target), target, run.body, run.key)
                run.attempts.append(attempt)
                if attempt.final:
                    if attempt.accepted and run.index % self.replay_every == 0:
                        replay_target = self.targets[(run.index + tries + 1) % len(self.targets)]
                        run.replays.append(post_order(self._client(replay_target), replay_target, run.body, run.key))
                    return
                if time.monotonic() > deadline:
                    return
                tries += 1
                time.sleep(_retry_wait_s(attempt, tries))
        finally:
            with self._done_changed:
                self._done += 1
                self._done_changed.notify_all()


def _retry_wait_s(attempt: Attempt, tries: int) -> float:
    """The server's Retry-After if it gave one, else exponential back-off with jitter (a dead process)."""
    if attempt.retry_after is not None:
        try:
            return min(float(attempt.retry_after), MAX_RETRY_WAIT_S)
        except ValueError:
            pass
    return min(0.1 * 2**tries, MAX_RETRY_WAIT_S) * (0.5 + random.random() / 2)


def post_order(client: httpx.Client, target: str, body: Mapping[str, Any], key: str) -> Attempt:
    """POST /v1/orders once and record the answer (or why there was none)."""
    started = time.perf_counter()
    try:
        answer = client.post("/v1/orders", json=dict(body), headers={"Idempotency-Key": key})
    except httpx.HTTPError as exc:
        return Attempt(target, None, time.perf_counter() - started, error=type(exc).__name__)
    elapsed = time.perf_counter() - started
    try:
        payload = answer.json()
        is_json = isinstance(payload, dict)
    except ValueError:
        payload, is_json = {}, False
    payload = payload if isinstance(payload, dict) else {}
    error = payload.get("error") if isinstance(payload.get("error"), dict) else {}
    return Attempt(
        target,
        answer.status_code,
        elapsed,
        order_id=payload.get("id"),
        order_status=payload.get("status"),
        error_code=(error or {}).get("code"),
        error_message=(error or {}).get("message"),
        retry_after=answer.headers.get("Retry-After"),
        json_body=is_json,
    )


# ---------------------------------------------------------------------------------------------- checks


@dataclass
class DrillFigures:
    """What a drill prints and the closing note quotes."""

    name: str
    attempted: int = 0
    accepted: int = 0
    held: int = 0
    on_hold: int = 0
    refused: int = 0
    unresolved: int = 0
    posts: int = 0
    answers_503: int = 0
    no_answer: int = 0
    answers_500: int = 0
    replays_checked: int = 0
    repaired_units: int = 0
    oversold_units: int = 0
    lost_orders: int = 0
    leaked_units: int = 0
    wall_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        """One line of figures for ``pytest -s``."""
        extra = "".join(f" {k}={v}" for k, v in self.extra.items())
        return (
            f"[drill {self.name}] attempted={self.attempted} accepted={self.accepted} held={self.held}"
            f" on_hold={self.on_hold} refused={self.refused} unresolved={self.unresolved} posts={self.posts}"
            f" 503s={self.answers_503} no_answer={self.no_answer} 500s={self.answers_500}"
            f" replays_checked={self.replays_checked} repaired_units={self.repaired_units}"
            f" oversold={self.oversold_units} lost={self.lost_orders} leaked={self.leaked_units}"
            f" wall={self.wall_s:.1f}s{extra}"
        )


def service_log_summary(log_paths: Sequence[Path]) -> dict[str, Any]:
    """What the services logged about the fault, for the figures: the causes of their 503s
    (``store_unavailable``: exception and message), the units their online reconciler repaired
    (``stock_repaired`` by kind), commits of unknown outcome and how they were resolved, and holds the
    database refused."""
    causes: Counter[str] = Counter()
    repaired: Counter[str] = Counter()
    commits: Counter[str] = Counter()
    refused = 0
    for path in log_paths:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            name = event.get("event")
            if name == "store_unavailable":
                causes[f"{event.get('error')}: {str(event.get('detail'))[:70]}"] += 1
            elif name == "stock_repaired":
                repaired[str(event.get("kind"))] += int(event.get("units", 0))
            elif name in ("commit_outcome_resolved", "commit_outcome_unknown"):
                commits[str(event.get("outcome", "unknown"))] += 1
            elif name == "stock_refused_by_database":
                refused += 1
    summary: dict[str, Any] = {}
    if causes:
        summary["503_causes"] = dict(causes)
    if repaired:
        summary["online_repaired_units"] = dict(repaired)
    if commits:
        summary["unknown_commits"] = dict(commits)
    if refused:
        summary["holds_refused_by_db"] = refused
    return summary


def storm_figures(name: str, storm: Storm) -> DrillFigures:
    """Count the storm's answers (before the checks fill in the rest)."""
    figures = DrillFigures(name=name, attempted=len(storm.runs), wall_s=storm.wall_s)
    for run in storm.runs:
        attempts = run.attempts + run.replays
        figures.posts += len(attempts)
        figures.answers_503 += sum(a.status == 503 for a in attempts)
        figures.no_answer += sum(a.status is None for a in attempts)
        figures.answers_500 += sum(a.status is not None and a.status >= 500 and a.status != 503 for a in attempts)
        answer = run.answer
        if answer is None:
            figures.unresolved += 1
        elif answer.accepted:
            figures.accepted += 1
        else:
            figures.refused += 1
    waits = [a.elapsed_s for run in storm.runs for a in run.attempts if a.status == 503]
    if waits:
        figures.extra["slowest_503_s"] = round(max(waits), 2)
    return figures


def check_answers(storm: Storm) -> None:
    """Every order got a final 2xx; no 500; every 503 is the clear one; retries answer the first result."""
    bad = [a for run in storm.runs for a in run.attempts + run.replays if a.status is not None and a.status >= 500]
    for attempt in bad:
        assert attempt.status == 503, f"a {attempt.status} from {attempt.target}: {attempt}"
        assert attempt.retry_after is not None and int(attempt.retry_after) > 0, attempt
        assert attempt.json_body and attempt.error_code == "service_unavailable", attempt
    unresolved = [run.key for run in storm.runs if run.answer is None]
    assert not unresolved, f"{len(unresolved)} orders never got a final answer: {unresolved[:5]}"
    refused = [(run.key, run.answer) for run in storm.runs if run.answer is not None and not run.answer.accepted]
    assert not refused, f"orders refused: {refused[:3]}"
    for run in storm.runs:
        answers = [a for a in run.attempts + run.replays if a.accepted]
        ids = {a.order_id for a in answers}
        assert len(ids) == 1, f"key {run.key} answered several orders: {answers}"


def replay_sample(storm: Storm, base_url: str, every: int = 5) -> int:
    """After the storm: send every ``every``-th key again; it must answer the same order with 200."""
    checked = 0
    with httpx.Client(base_url=base_url, headers=ADMIN, timeout=30) as client:
        for run in storm.runs[::every]:
            first = run.answer
            assert first is not None and first.accepted
            again = post_order(client, base_url, run.body, run.key)
            assert again.status == 200, f"replay of {run.key}: {again}"
            assert again.order_id == first.order_id, f"replay of {run.key} answered {again.order_id}, not {first}"
            checked += 1
    return checked + sum(len(run.replays) for run in storm.runs)


def check_store(
    storm: Storm,
    database_url: str,
    base_url: str,
    given: Mapping[tuple[str, str], int],
    figures: DrillFigures,
) -> None:
    """The database and the fast store against what the storm was told.

    - every accepted order exists (GET 200), and holds exactly its units if it holds stock, none if on hold;
    - no order in the database that no accepted key answered (a retry never made a second order);
    - per (warehouse, sku): held + consumed <= on hand given (no oversell), ``reserved`` equals the live
      holds in the database and in the fast store (no leak after reconciliation), on hand unchanged.
    """
    accepted: dict[str, OrderRun] = {}
    for run in storm.runs:
        if run.answer is not None and run.answer.accepted and run.answer.order_id is not None:
            accepted[run.answer.order_id] = run
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            statuses: dict[str, str] = dict(connection.execute(text("SELECT id, status FROM orders")).all())
            held_by_order: dict[str, int] = dict(
                connection.execute(
                    text("SELECT order_id, SUM(qty) FROM stock_reservations WHERE state = 'held' GROUP BY order_id")
                ).all()
            )
            used = {
                (wh, sku): int(qty)
                for wh, sku, qty in connection.execute(
                    text(
                        "SELECT warehouse_id, sku, SUM(qty) FROM stock_reservations"
                        " WHERE state IN ('held', 'consumed') GROUP BY warehouse_id, sku"
                    )
                ).all()
            }
            held = {
                (wh, sku): int(qty)
                for wh, sku, qty in connection.execute(
                    text(
                        "SELECT warehouse_id, sku, SUM(qty) FROM stock_reservations"
                        " WHERE state = 'held' GROUP BY warehouse_id, sku"
                    )
                ).all()
            }
            warehouses_by_order: dict[str, int] = dict(
                connection.execute(
                    text(
                        "SELECT order_id, COUNT(DISTINCT warehouse_id) FROM stock_reservations"
                        " WHERE state = 'held' GROUP BY order_id"
                    )
                ).all()
            )
            levels = {
                (wh, sku): (int(on_hand), int(reserved))
                for wh, sku, on_hand, reserved in connection.execute(
                    text("SELECT warehouse_id, sku, on_hand, reserved FROM stock_levels")
                ).all()
            }
    finally:
        engine.dispose()

    lost = [order_id for order_id in accepted if order_id not in statuses]
    figures.lost_orders = len(lost)
    assert not lost, f"accepted orders missing from the database: {lost[:5]}"
    strangers = sorted(set(statuses) - set(accepted))
    assert not strangers, f"orders no accepted key answered (a retry made a second order?): {strangers[:5]}"
    counts = Counter(statuses[order_id] for order_id in accepted)
    figures.held = sum(counts[s] for s in HOLDING)
    figures.on_hold = sum(counts[s] for s in NOT_HOLDING)
    figures.extra["statuses"] = dict(sorted(counts.items()))
    figures.extra["split_orders"] = sum(int(n) > 1 for n in warehouses_by_order.values())
    for order_id, run in accepted.items():
        status = statuses[order_id]
        assert status in HOLDING | NOT_HOLDING, f"{order_id} is {status}"
        expected = run.units if status in HOLDING else 0
        assert int(held_by_order.get(order_id, 0)) == expected, (order_id, status, held_by_order.get(order_id))

    oversold = {key: used.get(key, 0) - on_hand for key, on_hand in given.items() if used.get(key, 0) > on_hand}
    figures.oversold_units = sum(oversold.values())
    assert not oversold, f"oversold (units beyond on hand): {oversold}"
    fast = fast_levels(base_url, given)
    leaked = 0
    for key, on_hand in given.items():
        durable_on_hand, durable_reserved = levels[key]
        assert durable_on_hand == on_hand, (key, durable_on_hand, on_hand)
        leaked += abs(durable_reserved - held.get(key, 0)) + abs(fast[key]["reserved"] - held.get(key, 0))
        assert fast[key]["on_hand"] == on_hand, (key, fast[key])
    figures.leaked_units = leaked
    assert leaked == 0, {
        key: {"db_reserved": levels[key][1], "db_holds": held.get(key, 0), "fast": fast[key]} for key in given
    }
    # Every accepted order is readable through the API, with the status the database has.
    local = threading.local()

    def read(order_id: str) -> tuple[str, int, str | None]:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=base_url, headers=ADMIN, timeout=30)
        answer = client.get(f"/v1/orders/{order_id}")
        return order_id, answer.status_code, answer.json().get("status") if answer.status_code == 200 else None

    with ThreadPoolExecutor(max_workers=8) as pool:
        read_back = list(pool.map(read, accepted))
    unreadable = [(order_id, code) for order_id, code, _ in read_back if code != 200]
    assert not unreadable, f"accepted orders not readable: {unreadable[:5]}"
    differing = [(order_id, seen, statuses[order_id]) for order_id, _, seen in read_back if seen != statuses[order_id]]
    assert not differing, differing[:5]


def fast_levels(base_url: str, keys: Mapping[tuple[str, str], int]) -> dict[tuple[str, str], dict[str, int]]:
    """The stock levels as the service reads them (its fast store)."""
    with httpx.Client(base_url=base_url, headers=ADMIN, timeout=30) as client:
        found = {}
        for warehouse_id, sku in keys:
            answer = client.get(f"/v1/warehouses/{warehouse_id}/stock/{sku}")
            assert answer.status_code == 200, answer.text
            found[(warehouse_id, sku)] = answer.json()
    return found


def run_doctor(env: Mapping[str, str], *, repair: bool) -> tuple[int, dict[str, Any]]:
    """``dispatch doctor [--repair] --json`` of this checkout against the drill's stores: (exit code, report)."""
    command = [sys.executable, "-c", "from api.cli import main; main()", "doctor", "--json"]
    if repair:
        command.append("--repair")
    done = subprocess.run(
        command,
        env={**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)},
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = done.stdout.strip().splitlines()
    assert lines, f"dispatch doctor printed nothing (exit {done.returncode}): {done.stderr[-2000:]}"
    return done.returncode, json.loads(lines[-1])


def reconcile_and_check(env: Mapping[str, str], figures: DrillFigures) -> None:
    """``dispatch doctor --repair`` (counting what it repaired), then ``dispatch doctor``, which must say
    consistent. What the services' own reconciler repaired before is in their logs (``service_log_summary``)."""
    _code, repaired = run_doctor(env, repair=True)
    figures.repaired_units = int(repaired.get("repaired_units", 0))
    left = {
        name: check.get("problems", [])[:2]
        for name, check in repaired.get("checks", {}).items()
        if check.get("problems")
    }
    if left:  # what the repair could not settle (the next run then fails, and the figures say why)
        figures.extra["doctor_left"] = json.dumps(left, default=str)[:1500]
    code, after = run_doctor(env, repair=False)
    assert code == 0 and after["consistent"] is True, json.dumps(after)[:3000]


def report(figures: DrillFigures) -> None:
    """Print the drill's figures (``pytest -s -m drills`` shows them)."""
    print("\n" + figures.line(), flush=True)
