"""Batch scheduling of the carrier index: how a batch of queries is laid out and on how many threads it runs.

Threads only pay off when the cores are idle: on a loaded box they wait for each other. With
``parallel=None`` the scheduler therefore times both modes (moving averages of the batch kernel's wall
time per query) and keeps the faster, re-trying the other every ``params.retry_every`` big batches.
"""

from __future__ import annotations

import numba
import numpy as np

from matcher.kernel_types import IntArray
from matcher.params import MatcherParams


class BatchScheduler:
    """Thread count and output slots of batches (no locking: the index holds its lock)."""

    def __init__(self, parallel: bool | None, params: MatcherParams) -> None:
        # Batches on several threads: None = the faster mode above params.parallel_min_queries, True =
        # always above it, False = never.
        self.parallel = parallel
        self._params = params
        # Wall seconds per query of the batch kernel on one thread / several (moving averages).
        self._mode_cost_s: list[float | None] = [None, None]
        self._big_batches = 0

    def output_slots(self, limit: IntArray) -> IntArray:
        """Output slots of each query (``slot[q]..slot[q + 1]``): its limit (at most ``params.slot_limit``)
        plus room for near-ties; a query that keeps more is answered alone afterwards."""
        params = self._params
        slot = np.zeros(len(limit) + 1, dtype=np.int64)
        np.cumsum(np.minimum(limit, params.slot_limit) + params.near_tie_slots, out=slot[1:])
        return slot

    def threads(self, n_q: int) -> int:
        """How many threads a batch of ``n_q`` queries runs on: 1 below the threshold or when disabled;
        with ``parallel=None`` whichever mode has been faster per query lately, re-trying the other mode
        every ``params.retry_every`` big batches."""
        params = self._params
        if self.parallel is False or n_q < params.parallel_min_queries:
            return 1
        threads = max(1, min(numba.get_num_threads(), params.max_threads))
        if self.parallel is True or threads == 1:
            return threads
        self._big_batches += 1
        serial, par = self._mode_cost_s
        if serial is None:
            return 1
        if par is None:
            return threads
        prefer_par = par < serial
        if self._big_batches % params.retry_every == 0:
            prefer_par = not prefer_par
        return threads if prefer_par else 1

    def timed(self, n_q: int) -> bool:
        """Whether a batch of ``n_q`` queries should report its kernel time (:meth:`record`)."""
        return self.parallel is None and n_q >= self._params.parallel_min_queries

    def record(self, parallel: bool, seconds_per_query: float) -> None:
        """Moving average of the batch kernel's wall time per query, per mode (see :meth:`threads`)."""
        i = 1 if parallel else 0
        old = self._mode_cost_s[i]
        self._mode_cost_s[i] = seconds_per_query if old is None else 0.7 * old + 0.3 * seconds_per_query


__all__ = ["BatchScheduler"]
