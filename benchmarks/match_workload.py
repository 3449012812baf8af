"""The question every system of ``dispatch bench match`` answers: one seeded fleet, the same queries, timed alike."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from rich.progress import Progress

from benchmarks.report import percentile
from matcher.model import Candidate, MatchQuery
from matcher.simulation import Fleet, generate_fleet, generate_queries

NOW_S = 1_700_000_000.0
MAX_AGE_S = 900.0
DENSITY_PER_KM2 = 5.0

Answer = Callable[[MatchQuery], list[str]]


def build_workload(carriers: int, queries: int, seed: int, id_prefix: str = "car") -> tuple[Fleet, list[MatchQuery]]:
    """A fleet of ``carriers`` at constant density around Hangzhou and ``queries`` seeded queries over it."""
    fleet = generate_fleet(carriers, seed, density_per_km2=DENSITY_PER_KM2, now_s=NOW_S, id_prefix=id_prefix)
    return fleet, generate_queries(fleet, queries, seed + 1)


def carrier_ids(candidates: list[Candidate]) -> list[str]:
    """The answer as every system gives it: carrier ids, best first."""
    return [c.carrier_id for c in candidates]


def run_loop(
    name: str, queries: Sequence[MatchQuery], answer: Answer, progress: Progress
) -> tuple[list[list[str]], list[float], float]:
    """Answer every query in order; returns answers, per-query seconds and the wall time of the loop."""
    task = progress.add_task(name, total=len(queries))
    answers: list[list[str]] = []
    times: list[float] = []
    perf = time.perf_counter
    start = perf()
    for i, query in enumerate(queries):
        t0 = perf()
        answers.append(answer(query))
        times.append(perf() - t0)
        if i % 50 == 0:
            progress.update(task, completed=i)
    wall = perf() - start
    progress.update(task, completed=len(queries))
    progress.remove_task(task)
    return answers, times, wall


def share_equal(answers: Sequence[list[str]], reference: Sequence[list[str]]) -> float:
    """Share of queries whose answer equals the reference's, in the same order."""
    return sum(a == b for a, b in zip(answers, reference, strict=True)) / len(reference)


def percentile_us(seconds: Sequence[float], q: float) -> float:
    """The ``q``-th percentile of per-query times, in microseconds."""
    return percentile(seconds, q) * 1e6
