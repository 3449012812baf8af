"""Tuning knobs of :class:`matcher.index.CarrierIndex`, as one documented parameter object.

The defaults are what the benchmarks (``dispatch bench match``) were tuned with; an operator may override
any of them through settings (``DISPATCH_MATCHER__<FIELD>``, see ``api.settings``), a test or a benchmark
by constructing :class:`MatcherParams` directly. None of them changes an answer: every value gives the
answers of the brute-force oracle (``matcher.bruteforce``); they trade memory for speed only.
Facts of the data layout (column numbers, row strides) are not knobs: they live in ``matcher.layout``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

MAX_H3_RESOLUTION = 15


@dataclass(frozen=True)
class MatcherParams:
    """How the carrier index trades memory and threads for speed; see each field."""

    #: H3 resolution of the buckets. Finer cells mean fewer carriers per bucket but more cells per query
    #: disk; 7 (cells of ~1.2 km edge) suits pickup radii of a few km. Limits the number of vehicle
    #: types to ``8 ** (15 - resolution) - 1``.
    resolution: int = 7
    #: Past this many H3 rings (about 34 km at resolution 7) a query scans every carrier instead of its
    #: disk of cells: the disk's bucket lookups then cost more than a linear pass.
    max_disk_k: int = 40
    #: ``match_many`` decides coverage fence by fence, vectorised over the batch's drop-offs, up to this
    #: many distinct fences; with more, drop-off by drop-off (each with its cached per-cell verdicts).
    vector_cover_groups: int = 64
    #: Batches of at least this many queries may run on several threads (below it, thread start-up
    #: costs more than it saves).
    parallel_min_queries: int = 64
    #: Most threads a batch runs on (numba's pool may have more; the service shares the cores).
    max_threads: int = 2
    #: With ``parallel=None`` the index times both modes and keeps the faster; every this many big
    #: batches it re-tries the slower one (load changes).
    retry_every: int = 32
    #: A parallel batch is split into this many runs per thread, so threads that draw cheap pickups
    #: take more runs (pickups differ in cost).
    chunks_per_thread: int = 4
    #: Output slots per query of a batch: ``min(limit, slot_limit) + near_tie_slots``. A query that keeps
    #: more candidates (a large limit, many near-ties) is answered again on its own: correct, slower.
    slot_limit: int = 64
    #: Extra output slots per batch query for candidates tied (within float tolerance) with the last one.
    near_tie_slots: int = 8
    #: Rows (40 bytes each) of the pool of covering cells with their bucket runs, kept per (pickup cell,
    #: radius, vehicle) until the pool starts over; it also starts over whenever the buckets are rebuilt.
    span_pool_max: int = 1 << 22
    #: Drop-off points whose coverage verdicts single queries remember before that cache starts over.
    dropoffs_max: int = 1 << 16
    #: Pickup points (entries of ~200 bytes) single queries remember before that cache starts over.
    pickups_max: int = 1 << 16
    #: Coverage verdicts cached per tuple of drop-off cells before that cache starts over.
    ok_cache_max: int = 1 << 16
    #: Carriers that changed cell since the buckets were built are scanned linearly by every query; past
    #: this many the buckets are rebuilt (lazily, O(n log n), by the next query).
    delta_max: int = 4096
    #: Initial candidate slots of the single-query scratch buffers (grown x4 when a query needs more).
    scratch_slots: int = 4096

    def __post_init__(self) -> None:
        if not 0 <= self.resolution <= MAX_H3_RESOLUTION:
            raise ValueError(f"resolution must be an H3 resolution (0..{MAX_H3_RESOLUTION}), got {self.resolution}")
        at_least = {
            "max_disk_k": 0,
            "vector_cover_groups": 0,
            "parallel_min_queries": 1,
            "max_threads": 1,
            "retry_every": 1,
            "chunks_per_thread": 1,
            "slot_limit": 1,
            "near_tie_slots": 0,
            "span_pool_max": 1,
            "dropoffs_max": 1,
            "pickups_max": 1,
            "ok_cache_max": 1,
            "delta_max": 0,
            "scratch_slots": 1,
        }
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{f.name} must be an integer, got {value!r}")
            low = at_least.get(f.name)
            if low is not None and value < low:
                raise ValueError(f"{f.name} must be at least {low}, got {value}")


DEFAULT_MATCHER_PARAMS = MatcherParams()

__all__ = ["DEFAULT_MATCHER_PARAMS", "MatcherParams"]
