"""The like-for-like comparison of ``dispatch bench match``: the same question, asked the same way.

Question: the best ``top`` carriers by score within the radius (eligible by fix age, capacity, vehicle,
coverage of the drop-off). Asked two ways on every side:

- one call per query: our ``CarrierIndex.match`` (in process) against one PostGIS prepared statement per
  round trip and one Redis ``EVALSHA`` per round trip;
- a batch per call: our ``match_many_arrays`` against one PostGIS statement for the whole batch
  (``unnest`` + ``CROSS JOIN LATERAL``) and one pipeline of ``EVALSHA`` calls.

Every answer of every method is compared, query by query, with the independent reference
(:mod:`benchmarks.match_reference`), and the baselines' answers with ours.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from rich.progress import Progress

from benchmarks import match_postgis
from benchmarks.match_redis import RedisBest
from benchmarks.match_reference import Agreement, Pick, ReferenceMatcher, compare
from benchmarks.match_workload import MAX_AGE_S, NOW_S, percentile_us
from benchmarks.report import ratio
from matcher.index import CarrierIndex
from matcher.model import MatchQuery, ScoreWeights
from matcher.simulation import Fleet

BATCH = 500
PASSES = 3  # every timed loop: the median wall time of 3 passes (a shared box moves one pass by a third)
WARM_UP_QUERIES = 50
CUTOFF = NOW_S - MAX_AGE_S

OneCall = Callable[[MatchQuery], list[Pick]]
BatchCall = Callable[[Sequence[MatchQuery]], list[list[Pick]]]


def _single(
    name: str, qs: Sequence[MatchQuery], ask: OneCall, progress: Progress
) -> tuple[list[list[Pick]], dict[str, float]]:
    """``PASSES`` timed passes of one call per query; answers of the last pass, qps and latency (medians)."""
    for q in qs[:WARM_UP_QUERIES]:
        ask(q)
    task = progress.add_task(f"like-for-like: {name}", total=len(qs) * PASSES)
    perf = time.perf_counter
    walls, p50s, p99s = [], [], []
    answers: list[list[Pick]] = []
    for _ in range(PASSES):
        answers, times = [], []
        start = perf()
        for q in qs:
            t0 = perf()
            answers.append(ask(q))
            times.append(perf() - t0)
        walls.append(perf() - start)
        p50s.append(percentile_us(times, 50))
        p99s.append(percentile_us(times, 99))
        progress.advance(task, len(qs))
    progress.remove_task(task)
    return answers, {
        "qps": round(len(qs) / statistics.median(walls)),
        "p50_us": round(statistics.median(p50s), 1),
        "p99_us": round(statistics.median(p99s), 1),
    }


def _batched(name: str, qs: Sequence[MatchQuery], ask: BatchCall, progress: Progress) -> tuple[list[list[Pick]], int]:
    """``PASSES`` timed passes over batches of ``BATCH``; answers of the last pass and qps (median)."""
    ask(qs[:BATCH])
    task = progress.add_task(f"like-for-like: {name}", total=len(qs) * PASSES)
    walls = []
    answers: list[list[Pick]] = []
    for _ in range(PASSES):
        start = time.perf_counter()
        answers = [a for b in range(0, len(qs), BATCH) for a in ask(qs[b : b + BATCH])]
        walls.append(time.perf_counter() - start)
        progress.advance(task, len(qs))
    progress.remove_task(task)
    return answers, round(len(qs) / statistics.median(walls))


def _ours(index: CarrierIndex) -> tuple[OneCall, BatchCall]:
    def one(q: MatchQuery) -> list[Pick]:
        return [Pick(c.carrier_id, c.distance_m, c.score) for c in index.match(q, now_s=NOW_S)]

    def many(qs: Sequence[MatchQuery]) -> list[list[Pick]]:
        # The columnar answer is what a batch consumer gets; Picks are made from it for the comparison
        # (inside the timing, as the baselines build theirs from their replies).
        b = index.match_many_arrays(qs, now_s=NOW_S)
        ids, dist, score, off = b.carrier_ids, b.distance_m.tolist(), b.score.tolist(), b.offsets.tolist()
        return [[Pick(ids[k], dist[k], score[k]) for k in range(off[i], off[i + 1])] for i in range(len(qs))]

    return one, many


def measure_like_for_like(
    index: CarrierIndex,
    fleet: Fleet,
    qs: Sequence[MatchQuery],
    postgres_url: str | None,
    redis_url: str | None,
    progress: Progress,
) -> dict[str, Any]:
    """Figures (qps, latency, ratios) and agreement counts of every method on the same queries."""
    weights = index.weights
    task = progress.add_task("like-for-like: reference (exhaustive scan)", total=None)
    reference = ReferenceMatcher(fleet, NOW_S, MAX_AGE_S, weights)
    truth = [reference.best(q) for q in qs]
    progress.remove_task(task)
    one, many = _ours(index)
    answers: dict[str, list[list[Pick]]] = {}
    answers["ours_single"], ours_single = _single("ours, one match() per query", qs, one, progress)
    answers["ours_batch"], ours_batch_qps = _batched("ours, match_many_arrays batches", qs, many, progress)
    result: dict[str, Any] = {
        "lfl_top": qs[0].limit if qs else None,
        "lfl_batch": BATCH,
        "lfl_answered": sum(bool(t) for t in truth),
        **{f"ours_single_{k}": v for k, v in ours_single.items()},
        "ours_batch_qps": ours_batch_qps,
    }
    if postgres_url is not None:
        result.update(_postgis(postgres_url, fleet, qs, weights, answers, progress))
    if redis_url is not None:
        result.update(_redis(redis_url, fleet, qs, weights, answers, progress))
    result["vs_postgis_like_for_like"] = ratio(ours_single["qps"], result.get("postgis_single_qps"), 1)
    result["vs_postgis_batched"] = ratio(ours_batch_qps, result.get("postgis_batched_qps"), 1)
    result["vs_redis_server_side"] = ratio(ours_single["qps"], result.get("redis_lua_qps"), 1)
    result["vs_redis_server_side_pipelined"] = ratio(ours_batch_qps, result.get("redis_lua_pipelined_qps"), 1)
    agreements = [compare(m, "reference", a, truth) for m, a in answers.items()]
    agreements += [
        compare(m, "ours_single", a, answers["ours_single"]) for m, a in answers.items() if not m.startswith("ours")
    ]
    result["agreement"] = [_agreement_row(a) for a in agreements]
    return result


def _agreement_row(a: Agreement) -> dict[str, Any]:
    row = asdict(a)
    row["line"] = a.line()
    return row


def _postgis(
    url: str,
    fleet: Fleet,
    qs: Sequence[MatchQuery],
    w: ScoreWeights,
    answers: dict[str, list[list[Pick]]],
    progress: Progress,
) -> dict[str, Any]:
    task = progress.add_task("like-for-like: loading PostGIS", total=None)
    conn = match_postgis.connect(url)
    match_postgis.load(conn, fleet, w)
    progress.remove_task(task)
    try:
        answers["postgis_single"], single = _single(
            "PostGIS, one statement per query", qs, lambda q: match_postgis.ask_one(conn, q, CUTOFF, w), progress
        )
        answers["postgis_batched"], batched_qps = _batched(
            "PostGIS, unnest + LATERAL per batch", qs, lambda b: match_postgis.ask_batch(conn, b, CUTOFF, w), progress
        )
    finally:
        conn.close()
    return {**{f"postgis_single_{k}": v for k, v in single.items()}, "postgis_batched_qps": batched_qps}


def _redis(
    url: str,
    fleet: Fleet,
    qs: Sequence[MatchQuery],
    w: ScoreWeights,
    answers: dict[str, list[list[Pick]]],
    progress: Progress,
) -> dict[str, Any]:
    import redis

    task = progress.add_task("like-for-like: loading Redis", total=None)
    client = redis.Redis.from_url(url)
    best = RedisBest(client, fleet, w)
    progress.remove_task(task)
    try:
        answers["redis_lua"], single = _single(
            "Redis Lua, one EVALSHA per query", qs, lambda q: best.ask_one(q, CUTOFF), progress
        )
        answers["redis_lua_pipelined"], pipelined_qps = _batched(
            "Redis Lua, pipelined batch", qs, lambda b: best.ask_batch(b, CUTOFF), progress
        )
    finally:
        client.close()
    return {**{f"redis_lua_{k}": v for k, v in single.items()}, "redis_lua_pipelined_qps": pipelined_qps}
