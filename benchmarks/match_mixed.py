"""The mixed workload of ``dispatch bench match``: single queries while carrier positions stream in.

Positions travel the production path of a process serving ``POST /v1/positions`` (after the commit,
:meth:`orders_core.dispatching.CarrierMatching._publish`): a writer thread sends each batch of fixes to
Redis (:class:`matcher.feeds.RedisPositionStore`, the Lua compare-and-set + stream append) and applies it
to the process's index (``CarrierIndex.update_positions``); the process's
:class:`matcher.feeds.RedisPositionFeed` thread tails the stream into the same index, as every API
process does (the fixes it reads back are older-or-equal and ignored, but read and decoded all the
same). Meanwhile the main thread answers one ``match()`` per query, as the API's match endpoint does.
The database write of each fix is left out: it is not the index's cost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from itertools import cycle
from typing import Any

import numpy as np
from rich.progress import Progress

from benchmarks.match_workload import NOW_S, percentile_us
from matcher.feeds import RedisPositionFeed, RedisPositionStore
from matcher.index import CarrierIndex
from matcher.model import MatchQuery
from matcher.simulation import Fleet

TICK_S = 0.01  # the writer sends one batch per tick: rate * TICK_S fixes


class _CountingSink:
    """The index as the feed's sink, counting the fixes the feed hands over."""

    def __init__(self, index: CarrierIndex) -> None:
        self.index = index
        self.fixes = 0

    def update_positions(self, ids: Sequence[str], lats: Any, lngs: Any, ts_s: Any) -> int:
        self.fixes += len(ids)
        return self.index.update_positions(ids, lats, lngs, ts_s)


class _Writer(threading.Thread):
    """Sends ``rate`` fixes per second (random carriers moving ~30 m) to Redis and to the index."""

    def __init__(self, store: RedisPositionStore, index: CarrierIndex, fleet: Fleet, rate: int, seed: int) -> None:
        super().__init__(name="bench-position-writer", daemon=True)
        self.store, self.index, self.rate = store, index, rate
        self.ids = fleet.ids
        self.lats = np.array(fleet.lats, dtype=np.float64)
        self.lngs = np.array(fleet.lngs, dtype=np.float64)
        self.rng = np.random.default_rng(seed)
        self.stop_event = threading.Event()
        self.sent = 0

    def run(self) -> None:
        per_tick = max(1, round(self.rate * TICK_S))
        start = time.perf_counter()
        tick = 0
        while not self.stop_event.is_set():
            rows = self.rng.integers(0, len(self.ids), per_tick)
            self.lats[rows] += self.rng.normal(0.0, 0.0003, per_tick)
            self.lngs[rows] += self.rng.normal(0.0, 0.0003, per_tick)
            ids = [self.ids[r] for r in rows.tolist()]
            lats, lngs = self.lats[rows].tolist(), self.lngs[rows].tolist()
            ts = [NOW_S + 2.0 + tick * TICK_S] * per_tick
            self.store.write(ids, lats, lngs, ts)
            self.index.update_positions(ids, lats, lngs, ts)
            self.sent += per_tick
            tick += 1
            # Paced to the wall clock: a writer that falls behind sends at once (the achieved rate shows it).
            self.stop_event.wait(max(0.0, start + tick * TICK_S - time.perf_counter()))


def _answer_for(index: CarrierIndex, qs: Sequence[MatchQuery], duration_s: float) -> list[float]:
    """One match() after another, cycling through ``qs`` for ``duration_s``; per-query seconds."""
    perf = time.perf_counter
    times: list[float] = []
    end = perf() + duration_s
    for q in cycle(qs):
        t0 = perf()
        index.match(q, now_s=NOW_S)
        t1 = perf()
        times.append(t1 - t0)
        if t1 >= end:
            return times
    return times


def measure_mixed(
    index: CarrierIndex,
    fleet: Fleet,
    qs: Sequence[MatchQuery],
    redis_url: str,
    *,
    rate: int,
    duration_s: float,
    seed: int,
    progress: Progress,
) -> dict[str, Any]:
    """Query p99 with no updates, then with ``rate`` fixes/s streaming through the production path."""
    import redis

    task = progress.add_task(f"mixed: queries alone, then with {rate:,} fixes/s", total=None)
    idle = _answer_for(index, qs, duration_s)
    client = redis.Redis.from_url(redis_url)
    store = RedisPositionStore(client, stream_key="bench:positions", latest_key="{bench:positions}:latest")
    sink = _CountingSink(index)
    feed = RedisPositionFeed(store, sink, start_id=store.last_stream_id(), block_ms=100)
    writer = _Writer(store, index, fleet, rate, seed)
    feed.start()
    writer.start()
    t0 = time.perf_counter()
    busy = _answer_for(index, qs, duration_s)
    elapsed = time.perf_counter() - t0
    sent = writer.sent
    writer.stop_event.set()
    writer.join()
    feed.stop()
    client.close()
    progress.remove_task(task)
    return {
        "mixed_update_rate_target": rate,
        "mixed_updates_per_s": round(sent / elapsed),
        "mixed_feed_fixes_per_s": round(sink.fixes / elapsed),
        "mixed_queries": len(busy),
        "mixed_qps": round(len(busy) / elapsed),
        "mixed_p50_us": round(percentile_us(busy, 50), 1),
        "mixed_p99_us": round(percentile_us(busy, 99), 1),
        "mixed_idle_qps": round(len(idle) / duration_s),
        "mixed_idle_p50_us": round(percentile_us(idle, 50), 1),
        "mixed_idle_p99_us": round(percentile_us(idle, 99), 1),
    }
