"""Where an order's time goes: a profile of the pipeline benchmark's path, and its round trips per order.

``python -m benchmarks.pipeline_profile --backend postgis+redis --transport in-process`` seeds a backend
exactly as ``dispatch bench pipeline`` does (durable PostgreSQL), warms it up, then places orders while
counting SQL statements, commits and Redis round trips per order, and profiling:

- in-process: pyinstrument on one sending thread (the use case's own call tree, wall time: waits for
  the disk and the network show as such);
- http: every thread of the process sampled (``sys._current_frames``) while 8 client threads post orders;
  the top functions by share of the busy samples (a thread blocked in a socket, lock or select is idle).

Only for finding the hot spots: the throughput figures come from ``dispatch bench pipeline``.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from benchmarks.live_service import (
    backend_settings,
    http_sender,
    order_bodies,
    run_orders,
    seed,
    serve_in_thread,
    use_case_sender,
)

#: Leaf functions of a thread that waits rather than works (not counted as busy in the sampled profile).
IDLE_LEAVES = frozenset(
    {"wait", "acquire", "select", "poll", "_worker", "recv", "recv_into", "read", "readinto", "accept", "sleep"}
)


class RoundTrips:
    """SQL statements, commits and Redis round trips (one per command or per pipeline sent), counted."""

    def __init__(self) -> None:
        self.sql = 0
        self.commits = 0
        self.redis = 0
        self.statements: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def on_sql(self, statement: str) -> None:
        with self._lock:
            self.sql += 1
            self.statements[" ".join(statement.split())[:90]] += 1

    def on_commit(self) -> None:
        with self._lock:
            self.commits += 1

    def on_redis(self) -> None:
        with self._lock:
            self.redis += 1


@contextmanager
def counting(engine: Any, counts: RoundTrips) -> Iterator[None]:
    """Count every statement and commit on ``engine`` and every Redis request sent by this process."""
    import redis.connection
    from sqlalchemy import event

    def before_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counts.on_sql(statement)

    def on_commit(_conn: Any) -> None:
        counts.on_commit()

    original = redis.connection.AbstractConnection.send_packed_command

    def send_packed_command(self: Any, command: Any, check_health: bool = True) -> None:
        counts.on_redis()
        original(self, command, check_health)

    event.listen(engine, "before_cursor_execute", before_execute)
    event.listen(engine, "commit", on_commit)
    redis.connection.AbstractConnection.send_packed_command = send_packed_command  # type: ignore[method-assign]
    try:
        yield
    finally:
        redis.connection.AbstractConnection.send_packed_command = original  # type: ignore[method-assign]
        event.remove(engine, "before_cursor_execute", before_execute)
        event.remove(engine, "commit", on_commit)


class ThreadSampler:
    """Samples every other thread's stack each ``interval_s``: inclusive and self counts per function."""

    def __init__(self, interval_s: float = 0.002) -> None:
        self.interval_s = interval_s
        self.inclusive: collections.Counter[str] = collections.Counter()
        self.own: collections.Counter[str] = collections.Counter()
        self.busy = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def __enter__(self) -> ThreadSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(self.interval_s):
            for ident, frame in sys._current_frames().items():
                if ident == me or frame.f_code.co_name in IDLE_LEAVES:
                    continue
                self.busy += 1
                self.own[_where(frame)] += 1
                seen = set()
                current: Any = frame
                while current is not None:
                    seen.add(_where(current))
                    current = current.f_back
                for name in seen:
                    self.inclusive[name] += 1

    def top(self, n: int) -> dict[str, list[tuple[str, float]]]:
        """The ``n`` functions with the most busy samples, inclusive and own, as % of busy samples."""
        total = max(1, self.busy)
        return {
            "inclusive": [(name, round(100.0 * c / total, 1)) for name, c in self.inclusive.most_common(n)],
            "own": [(name, round(100.0 * c / total, 1)) for name, c in self.own.most_common(n)],
        }


def _where(frame: Any) -> str:
    code = frame.f_code
    path = code.co_filename
    for marker in ("site-packages/", "/pipeline/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{code.co_name} ({path}:{code.co_firstlineno})"


def profile(backend: str, transport: str, orders: int, threads: int, durable: bool, cpu: bool) -> dict[str, Any]:
    """Seed, warm up, then count and profile ``orders`` orders; answers the counts and the profile top."""
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    with (
        backend_settings(backend, durable=durable) as settings,
        serve_in_thread(settings, quiet=True) as (base_url, container),
    ):
        seed(base_url, skus=20, customers=20, on_hand=max(100, orders * 8))
        send: Callable[[dict[str, Any], str], None] = (
            http_sender(base_url) if transport == "http" else use_case_sender(container)
        )
        warm = order_bodies(200, skus=20, customers=20, seed_value=3)
        run_orders(send, warm, threads=threads, label="", console=None, key_prefix=f"warm-{time.time_ns()}")
        bodies = order_bodies(orders, skus=20, customers=20)
        counts = RoundTrips()
        result: dict[str, Any] = {"backend": backend, "transport": transport, "orders": orders}
        cpu0 = time.process_time()
        with counting(container.engine, counts):
            if transport == "in-process" and cpu:
                result["profile"] = _cpu_profile_one_thread(send, bodies)
            elif transport == "in-process":
                result["profile"] = _pyinstrument_one_thread(send, bodies)
            else:
                with ThreadSampler() as sampler:
                    run_orders(send, bodies, threads=threads, label="", console=None, key_prefix=f"p-{time.time_ns()}")
                result["profile"] = sampler.top(40)
        result["per_order"] = {
            "sql_statements": round(counts.sql / orders, 2),
            "commits": round(counts.commits / orders, 2),
            "redis_round_trips": round(counts.redis / orders, 2),
            # This process only (service, background jobs, the HTTP client; not PostgreSQL nor Redis), with
            # the profiler's own overhead: for comparing two versions of the code, not a headline figure.
            "process_cpu_ms": round((time.process_time() - cpu0) * 1000.0 / orders, 2),
        }
        result["statements"] = [(statement, round(n / orders, 2)) for statement, n in counts.statements.most_common(25)]
    return result


def _pyinstrument_one_thread(send: Callable[[dict[str, Any], str], None], bodies: list[dict[str, Any]]) -> str:
    """pyinstrument's text tree of ``send`` called for every body on this thread (wall time)."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    run_id = time.time_ns()
    profiler.start()
    for index, body in enumerate(bodies):
        send(body, f"prof-{run_id}-{index}")
    profiler.stop()
    return str(profiler.output_text(unicode=False, color=False, show_all=False))


def _cpu_profile_one_thread(send: Callable[[dict[str, Any], str], None], bodies: list[dict[str, Any]]) -> str:
    """cProfile on this thread's CPU clock (``time.thread_time``): CPU, not waits, per function (top 45)."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile(time.thread_time)
    run_id = time.time_ns()
    cpu0 = time.thread_time()
    profiler.enable()
    for index, body in enumerate(bodies):
        send(body, f"cprof-{run_id}-{index}")
    profiler.disable()
    cpu_ms = (time.thread_time() - cpu0) * 1000.0 / len(bodies)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(45)
    stats.sort_stats("tottime").print_stats(25)
    return f"CPU of the sending thread: {cpu_ms:.2f} ms per order (under cProfile)\n" + out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("embedded", "postgis+redis"), default="postgis+redis")
    parser.add_argument("--transport", choices=("in-process", "http"), default="in-process")
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--non-durable", action="store_true")
    parser.add_argument("--cpu", action="store_true", help="in-process: cProfile on the CPU clock, not pyinstrument")
    args = parser.parse_args()
    result = profile(args.backend, args.transport, args.orders, args.threads, not args.non_durable, args.cpu)
    tree = result.pop("profile")
    if isinstance(tree, str):
        print(tree)
    else:
        for kind in ("inclusive", "own"):
            print(f"--- top by {kind} share of busy samples")
            for name, share in tree[kind]:
                print(f"{share:5.1f}%  {name}")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
