"""``dispatch bench match``: the H3 carrier index against PostGIS and Redis GEO answering the same question.

Headline (issue 9, :mod:`benchmarks.match_likeforlike`): the best carrier by score, asked alike on every
side, one call per query (our ``match()`` / one PostGIS statement per round trip / one Redis Lua
``EVALSHA`` per round trip) and per batch (``match_many_arrays`` / one ``unnest`` + ``LATERAL``
statement / a pipeline of ``EVALSHA``), every answer checked against an independent exhaustive
reference (:mod:`benchmarks.match_reference`); then single-query p99 while positions stream in
(:mod:`benchmarks.match_mixed`). PostgreSQL runs with production durability (fsync, synchronous_commit
and full_page_writes on), read back with ``SHOW`` and printed.

The issue-3 comparison follows, labelled as such: one seeded fleet around Hangzhou (constant density,
the region grows with the fleet) is loaded into
(a) a throwaway PostGIS (``geography(Point)`` + GiST, one prepared ``ST_DWithin ... ORDER BY <-> LIMIT k``
statement with the capacity/vehicle/freshness filters and ``ST_Covers`` on a coverage column),
(b) a throwaway Redis (``GEOADD``; ``GEOSEARCH ... BYRADIUS ... ASC`` then the attributes of the hits in
one pipeline and the same filters in Python), and (c) :class:`matcher.index.CarrierIndex`. Every
system answers the same queries one after the other in a loop (throughput = queries / wall time); our
answers are also compared with a brute-force scan of every carrier (``agree_with_bruteforce``).
The baselines live in :mod:`benchmarks.match_baselines`, the shared workload in :mod:`benchmarks.match_workload`.
"""

from __future__ import annotations

import contextlib
import gc
import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import Progress

from benchmarks.match_baselines import POSTGIS, REDIS, measure_baseline
from benchmarks.match_likeforlike import measure_like_for_like
from benchmarks.match_mixed import measure_mixed
from benchmarks.match_tables import (
    agreement_table,
    comparison_table,
    details_table,
    like_for_like_table,
    mixed_line,
    settings_line,
)
from benchmarks.match_workload import (
    DENSITY_PER_KM2,
    MAX_AGE_S,
    NOW_S,
    build_workload,
    carrier_ids,
    percentile_us,
    run_loop,
    share_equal,
)
from benchmarks.report import JsonOption, print_json_line, progress_bar, ratio
from infra.throwaway import durability_settings, throwaway_postgres, throwaway_redis
from matcher.bruteforce import BruteForceMatcher
from matcher.index import CarrierIndex
from matcher.model import Candidate, MatchQuery
from matcher.simulation import Fleet, load_index, simulate_batch_vs_greedy

BATCH_QUERIES = 500
OURS_PASSES = 5
# Warm single-query passes; p50/p99 and the loop's rate are the median over passes (a shared box's
# scheduler and neighbours move one pass's figures by a third).
LOOP_PASSES = 3
INGEST_BATCH = 100_000
SCORE_CHECKED_QUERIES = 300

Positions = dict[str, tuple[float, float, float]]
LoopPass = tuple[list[list[str]], list[float], float]  # answers, per-query seconds, wall seconds


def command(
    carriers: Annotated[int, typer.Option(help="Fleet size for the main comparison.", min=10)] = 100_000,
    queries: Annotated[int, typer.Option(help="Queries per system.", min=1)] = 2000,
    quick: Annotated[
        bool, typer.Option("--quick", help="Small run (for tests): scaling 2k vs 20k carriers, mixed 1 s.")
    ] = False,
    baselines: Annotated[bool, typer.Option(help="Run the PostGIS and Redis baselines.")] = True,
    seed: Annotated[int, typer.Option(help="Random seed of fleet and queries.")] = 7,
    top: Annotated[
        int, typer.Option(help="Like-for-like: how many best carriers by score each query asks.", min=1)
    ] = 1,
    update_rate: Annotated[int, typer.Option(help="Mixed workload: position fixes per second.", min=1)] = 10_000,
    mixed_seconds: Annotated[
        float, typer.Option(help="Mixed workload: seconds of queries, alone and with updates.")
    ] = 10.0,
    json_output: JsonOption = False,
) -> None:
    """Carrier matching: H3 index vs PostGIS vs Redis, like for like (qps, latency, agreement, mixed load)."""
    result: dict[str, Any] = {"carriers": carriers, "queries": queries, "density_per_km2": DENSITY_PER_KM2}
    result["loadavg_start"] = _loadavg()
    fleet, qs = build_workload(carriers, queries, seed)
    lfl_qs = [replace(q, rank_by="score", limit=top) for q in qs]
    with progress_bar(Console(stderr=True)) as progress, _servers(baselines) as (postgres_url, redis_url):
        if postgres_url is not None:
            result["postgres_settings"] = durability_settings(postgres_url)
        index = CarrierIndex(max_position_age_s=MAX_AGE_S)
        result["profile_load_s"] = load_profiles(index, fleet)
        # The baselines and the oracle get exactly the positions the index holds after ingest.
        fleet, positions, ingest = measure_ingest(index, fleet, seed)
        result.update(ingest)
        ours, ours_answers, batch_answers = measure_ours(index, qs, seed, progress)
        result.update(ours)
        result.update(agreement_with_bruteforce(index, fleet, positions, qs, batch_answers, progress))
        result.update(
            measure_like_for_like(index, fleet, lfl_qs, postgres_url, redis_url if baselines else None, progress)
        )
        result.update(postgis_qps=None, redis_qps=None)
        if postgres_url is not None:
            for baseline, url in ((POSTGIS, postgres_url), (REDIS, redis_url)):
                result.update(measure_baseline(baseline, url, fleet, qs, ours_answers, progress))
        result["vs_postgis"] = ratio(result["ours_qps"], result["postgis_qps"], 1)
        result["vs_redis"] = ratio(result["ours_qps"], result["redis_qps"], 1)
        mixed_s = min(mixed_seconds, 1.0) if quick else mixed_seconds
        result.update(
            measure_mixed(
                index, fleet, lfl_qs, redis_url, rate=update_rate, duration_s=mixed_s, seed=seed, progress=progress
            )
        )
        result.update(measure_scaling(quick, queries, seed, progress))
        result.update(measure_batch_vs_greedy(quick, seed, progress))
    result["loadavg_end"] = _loadavg()
    out = Console()
    out.print(settings_line(result))
    out.print(like_for_like_table(result))
    out.print(agreement_table(result))
    out.print(mixed_line(result))
    out.print(comparison_table(result))
    out.print(details_table(result))
    if json_output:
        print_json_line(result)


@contextlib.contextmanager
def _servers(baselines: bool) -> Iterator[tuple[str | None, str]]:
    """A durable throwaway PostgreSQL (with the baselines) and a throwaway Redis (always: the mixed
    workload's positions travel through it, as in production)."""
    with contextlib.ExitStack() as stack:
        postgres_url = stack.enter_context(throwaway_postgres(durable=True)) if baselines else None
        yield postgres_url, stack.enter_context(throwaway_redis())


def _loadavg() -> str:
    """``/proc/loadavg``'s three load averages (the machine is shared: the figures depend on it)."""
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


# ------------------------------------------------------------------------------- ours: load and ingest
def load_profiles(index: CarrierIndex, fleet: Fleet) -> float:
    """Seconds to register every carrier's profile; then the GC leaves the loaded index alone."""
    t0 = time.perf_counter()
    for profile in fleet.profiles:
        index.upsert_carrier(profile)
    load_s = round(time.perf_counter() - t0, 3)
    # A long-lived index: its objects never need the cyclic GC (what the service does after loading).
    gc.collect()
    gc.freeze()
    return load_s


def measure_ingest(index: CarrierIndex, fleet: Fleet, seed: int) -> tuple[Fleet, Positions, dict[str, Any]]:
    """Initial and steady-state ingest rates; returns the moved fleet and its positions (what the index holds)."""
    ids = fleet.ids
    carriers = len(ids)

    def ingest_s(lats: np.ndarray, lngs: np.ndarray, ts_s: np.ndarray) -> float:
        """Wall seconds to feed every carrier one fix, in batches of ``INGEST_BATCH``."""
        t0 = time.perf_counter()
        for start in range(0, carriers, INGEST_BATCH):
            end = start + INGEST_BATCH
            index.update_positions(ids[start:end], lats[start:end], lngs[start:end], ts_s[start:end])
        return time.perf_counter() - t0

    figures = {"initial_ingest_per_s": round(carriers / ingest_s(fleet.lats, fleet.lngs, fleet.ts_s))}
    # Steady-state ingest: every carrier moves up to ~50 m with a newer fix, in batches of 100k.
    rng = np.random.default_rng(seed + 2)
    moved_lats = fleet.lats + rng.normal(0.0, 0.0003, carriers)
    moved_lngs = fleet.lngs + rng.normal(0.0, 0.0003, carriers)
    moved_ts = fleet.ts_s + 1.0
    figures["ingest_per_s"] = round(carriers / ingest_s(moved_lats, moved_lngs, moved_ts))
    positions = {
        cid: (float(a), float(b), float(t))
        for cid, a, b, t in zip(ids, moved_lats.tolist(), moved_lngs.tolist(), moved_ts.tolist(), strict=True)
    }
    return replace(fleet, lats=moved_lats, lngs=moved_lngs, ts_s=moved_ts), positions, figures


# --------------------------------------------------------------------------------- ours: answering
def measure_ours(
    index: CarrierIndex, qs: Sequence[MatchQuery], seed: int, progress: Progress
) -> tuple[dict[str, Any], list[list[str]], list[list[str]]]:
    """Single queries (cold, warm, new points) then compiled batches; returns figures, loop and batch answers."""

    def ours(q: MatchQuery) -> list[str]:
        return carrier_ids(index.match(q, now_s=NOW_S))

    _, cold_times, _ = run_loop("ours (cold disk cache)", qs, ours, progress)
    loop_passes = [run_loop(f"ours (loop, pass {i + 1})", qs, ours, progress) for i in range(LOOP_PASSES)]
    _, new_point_times, _ = run_loop("ours (loop, new points)", _new_points(qs, seed), ours, progress)
    ours_answers = loop_passes[0][0]
    batch_answers, batch_walls, list_walls = _batch_passes(index, qs, progress)
    figures = {
        "ours_loop_qps": round(len(qs) / statistics.median(p[2] for p in loop_passes)),
        "ours_mode": OURS_MODE,
        "ours_match_many_qps": round(len(qs) / statistics.median(list_walls)),
        "ours_qps": round(len(qs) / statistics.median(batch_walls)),
        "batch_equals_loop": share_equal(batch_answers, ours_answers),
        "p50_us": round(statistics.median(percentile_us(p[1], 50) for p in loop_passes), 1),
        "p99_us": round(statistics.median(percentile_us(p[1], 99) for p in loop_passes), 1),
        "p50_us_passes": [round(percentile_us(p[1], 50), 1) for p in loop_passes],
        "new_points_p50_us": round(percentile_us(new_point_times, 50), 1),
        "new_points_p99_us": round(percentile_us(new_point_times, 99), 1),
        "cold_p50_us": round(percentile_us(cold_times, 50), 1),
        "cold_p99_us": round(percentile_us(cold_times, 99), 1),
        "mean_candidates": round(statistics.fmean(len(a) for a in ours_answers), 2),
    }
    return figures, ours_answers, batch_answers


OURS_MODE = (
    f"batched, columnar: CarrierIndex.match_many_arrays (one compiled call per batch, answers as "
    "BatchMatches arrays: offsets, carrier rows, distances, scores; carrier ids resolved from the rows "
    f"on first use, after the timing) over batches of {BATCH_QUERIES} "
    f"queries, in process, median of {OURS_PASSES} passes; ours_match_many_qps: the same batches as "
    f"Candidate lists (match_many); ours_loop_qps, p50_us, p99_us: one match() call per query, median "
    f"of {LOOP_PASSES} warm passes"
)


def _new_points(qs: Sequence[MatchQuery], seed: int) -> list[MatchQuery]:
    """The same jobs from points a few centimetres off: cells (and their disks) known, but no point seen
    before (what a query costs without the pickup / drop-off point caches)."""
    jitter = np.random.default_rng(seed + 3).uniform(-3e-7, 3e-7, (len(qs), 4)).tolist()
    return [
        replace(
            q,
            pickup_lat=q.pickup_lat + a,
            pickup_lng=q.pickup_lng + b,
            dropoff_lat=q.dropoff_lat + c,
            dropoff_lng=q.dropoff_lng + d,
        )
        for q, (a, b, c, d) in zip(qs, jitter, strict=True)
    ]


def _batch_passes(
    index: CarrierIndex, qs: Sequence[MatchQuery], progress: Progress
) -> tuple[list[list[str]], list[float], list[float]]:
    """``match_many_arrays`` then ``match_many`` over batches of ``BATCH_QUERIES``, ``OURS_PASSES`` times.

    Returns the last pass's columnar answers as id lists and each pass's wall seconds of both paths.
    Columnar answers (BatchMatches) are what assignment / the dispatch desk consume.
    """
    starts = range(0, len(qs), BATCH_QUERIES)
    for _ in range(3):  # warm: disk pool, and the index's serial/threads timing (see CarrierIndex._threads)
        for start in starts:
            index.match_many_arrays(qs[start : start + BATCH_QUERIES], now_s=NOW_S)
    # Short passes are at the mercy of the scheduler on a shared box: median of OURS_PASSES passes.
    task = progress.add_task("ours (compiled batches)", total=len(qs) * OURS_PASSES)
    batches = []
    batch_walls = []
    list_walls = []
    for n_pass in range(OURS_PASSES):
        start_t = time.perf_counter()
        batches = [index.match_many_arrays(qs[start : start + BATCH_QUERIES], now_s=NOW_S) for start in starts]
        batch_walls.append(time.perf_counter() - start_t)
        # The same batches as Candidate lists (match_many), for comparison.
        start_t = time.perf_counter()
        for start in starts:
            index.match_many(qs[start : start + BATCH_QUERIES], now_s=NOW_S)
        list_walls.append(time.perf_counter() - start_t)
        progress.update(task, completed=(n_pass + 1) * len(qs))
    progress.remove_task(task)
    return [batch.ids(i) for batch in batches for i in range(len(batch))], batch_walls, list_walls


# ------------------------------------------------------------------------------- ours: exactness
def agreement_with_bruteforce(
    index: CarrierIndex,
    fleet: Fleet,
    positions: Positions,
    qs: Sequence[MatchQuery],
    batch_answers: Sequence[list[str]],
    progress: Progress,
) -> dict[str, float]:
    """Share of queries where a brute-force scan of every carrier gives our answer (loop and batch paths:
    same carriers, same distances), and the same on the score ranking for the first queries."""
    oracle = BruteForceMatcher(fleet.profiles, positions, max_position_age_s=MAX_AGE_S)
    task = progress.add_task("brute-force agreement", total=len(qs))
    agree = 0
    agree_score = 0
    score_checked = min(len(qs), SCORE_CHECKED_QUERIES)
    for i, q in enumerate(qs):
        truth = oracle.match(q, now_s=NOW_S)
        mine = index.match(q, now_s=NOW_S)
        same = carrier_ids(truth) == carrier_ids(mine) and _distances(truth) == _distances(mine)
        if same and batch_answers[i] == carrier_ids(truth):
            agree += 1
        if i < score_checked:
            by_score = replace(q, rank_by="score")
            if carrier_ids(oracle.match(by_score, now_s=NOW_S)) == carrier_ids(index.match(by_score, now_s=NOW_S)):
                agree_score += 1
        progress.update(task, advance=1)
    progress.remove_task(task)
    return {
        "agree_with_bruteforce": agree / len(qs),
        "agree_with_bruteforce_score_ranking": agree_score / score_checked,
    }


def _distances(candidates: list[Candidate]) -> list[float]:
    return [c.distance_m for c in candidates]


# --------------------------------------------------------------------------- scaling and assignment
def measure_scaling(quick: bool, queries: int, seed: int, progress: Progress) -> dict[str, Any]:
    """Cost per query at constant density, small vs large fleet."""
    small, large = (2_000, 20_000) if quick else (10_000, 1_000_000)
    scale_queries = min(queries, 1000)
    small_us = _cost_per_query_us(small, scale_queries, seed + 10, progress)
    large_us = _cost_per_query_us(large, scale_queries, seed + 20, progress)
    return {
        "scaling_fleets": [small, large],
        "cost_us_small": round(small_us, 1),
        "cost_us_large": round(large_us, 1),
        "cost_ratio_10k_to_1m": round(large_us / small_us, 2),
    }


def _cost_per_query_us(n_carriers: int, queries: int, seed: int, progress: Progress) -> float:
    """Median microseconds per query (warm disk cache) on a fleet of ``n_carriers`` at the same density."""
    fleet, qs = build_workload(n_carriers, queries, seed, id_prefix=f"s{n_carriers}")
    index = CarrierIndex(max_position_age_s=MAX_AGE_S)
    load_index(fleet, index)

    def answer(q: MatchQuery) -> list[str]:
        return carrier_ids(index.match(q, now_s=NOW_S))

    gc.collect()
    gc.freeze()
    run_loop(f"ours warm-up ({n_carriers:,} carriers)", qs, answer, progress)
    _, times, _ = run_loop(f"ours ({n_carriers:,} carriers)", qs, answer, progress)
    # The median is robust to the scheduler pre-empting us on a shared machine.
    return percentile_us(times, 50)


def measure_batch_vs_greedy(quick: bool, seed: int, progress: Progress) -> dict[str, Any]:
    """Batch assignment (min-cost) of jobs to carriers against greedy nearest-first: total pickup and unserved."""
    task = progress.add_task("batch assignment vs greedy", total=None)
    t0 = time.perf_counter()
    sim = simulate_batch_vs_greedy(seed=seed, n_carriers=300 if quick else 600, n_jobs=150 if quick else 400)
    batch_s = round(time.perf_counter() - t0, 3)
    progress.remove_task(task)
    return {
        "batch_s": batch_s,
        "batch_jobs": sim.jobs,
        "batch_carriers": sim.carriers,
        "batch_assignment_cost_m": round(sim.assignment_cost, 1),
        "batch_greedy_cost_m": round(sim.greedy_cost, 1),
        "batch_assignment_unserved": sim.assignment_unserved,
        "batch_greedy_unserved": sim.greedy_unserved,
    }
