"""The Pareto of exceptions: bars sorted by count, each with its share and the running (cumulative) share.

Pure: counts in, bars out, so a test can check every figure by hand. Ties are ordered by key (a missing
key, e.g. "no warehouse yet", last) so the same data always draws the same chart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ParetoBar:
    """One bar: its key (None: the exceptions that have no value of the dimension), how many exceptions and
    distinct orders, its share of all exceptions counted and the share of it and every bar before it."""

    key: str | None
    exceptions: int
    orders: int
    share: float
    cumulative_share: float


def pareto(counts: Mapping[str | None, tuple[int, int]]) -> list[ParetoBar]:
    """Bars from ``key -> (exceptions, orders)``, most exceptions first; shares are of the exceptions."""
    total = sum(exceptions for exceptions, _ in counts.values())
    ordered = sorted(counts.items(), key=lambda item: (-item[1][0], item[0] is None, item[0] or ""))
    bars = []
    running = 0
    for key, (exceptions, orders) in ordered:
        running += exceptions
        bars.append(
            ParetoBar(
                key=key,
                exceptions=exceptions,
                orders=orders,
                share=exceptions / total if total else 0.0,
                cumulative_share=running / total if total else 0.0,
            )
        )
    return bars
