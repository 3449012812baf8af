"""The live carrier index: H3 buckets over NumPy columns, answering "who can take this job?" in microseconds.

Layout
    One row per carrier. Hot attributes sit in one row-major float64 matrix (``_hot_rows``, 128 bytes
    per carrier; ``_hot`` is its transpose for column-wise NumPy code): latitude/longitude in radians,
    cos(latitude), effective fix time (``-inf`` when inactive or without a position), capacities, vehicle
    code, coverage group, and the query-independent part of the score. Rows are bucketed by their H3
    cell at ``resolution``, twice: under the cell id itself (every vehicle) and under
    ``cell ^ vehicle_code``, so a query for one vehicle type reads only that type's carriers. The XOR
    only touches the low bits that H3 sets to 7 for the unused digits of a cell at ``resolution`` (3 bits
    per digit past it), so the two kinds of keys never collide. The buckets are one CSR layout ordered by
    (vehicle code, cell) (a hash table of the keys with each bucket's run, and a copy of each entry's
    columns and row in CSR order so a query reads a bucket sequentially; position updates within a cell
    write through to it). A position update that changes a carrier's cell does not touch the CSR: the
    entry is hidden (its fix time set to ``-inf``), the row marked stale and appended to a small delta
    list that queries scan linearly; when the delta passes :data:`DELTA_MAX` rows the CSR is rebuilt
    (lazily, O(n log n)). Per (pickup cell, radius, vehicle code) the covering cells' bucket runs are
    pooled on first use (:meth:`CarrierIndex._spans_of`), so a repeated pickup point reads them in one
    sequential run instead of one hash lookup (a cache miss) per cell.

Query
    The pickup's cell and :func:`geo.h3_radius.cell_disk` give the cells that provably hold every point
    within the radius (pentagons and distortion included; see that module). One compiled kernel
    (:mod:`matcher.kernels`) walks those buckets and the delta, filters by fix age / active / capacity /
    vehicle before any trigonometry, computes the haversine distance, and selects the top ``limit``.
    Coverages are deduplicated into groups, each with an H3 cover (:mod:`geofences.cover`); when any
    carrier has one, the drop-off's verdicts per group are decided before the kernel runs (the dropoff's
    cell answers "interior" groups outright, "boundary" groups need one prepared polygon test).
    Exact distances of the few selected carriers come from NumPy's ``arcsin`` like the brute-force
    oracle's, so answers agree to the last bit (see :mod:`matcher.kernels`). ``match_many`` runs the
    same kernels in parallel over queries.

Concurrency
    One writer and many readers: every public method takes one lock, so a reader never sees a half-applied
    batch (and the per-index scratch buffers of the single-query kernel are never shared).
"""

from __future__ import annotations

import itertools
import math
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import h3._cy as h3_cy
import numba
import numpy as np
import numpy.typing as npt
import shapely

from foundation.errors import InvalidInput
from geo.distance import EARTH_RADIUS_M, haversine_m, haversine_rad_m
from geo.h3_radius import cell_disk, circumradius_upper_bound_m, disk_k_for_radius
from geofences.cover import Cover, cached_cover
from matcher import kernels
from matcher.model import Candidate, CarrierProfile, MatchQuery, ScoreWeights

if TYPE_CHECKING:
    from matcher.model import BatchResult

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

DEFAULT_RESOLUTION = 7
# Past this many rings (about 34 km at resolution 7) a query scans all carriers instead of the disk.
MAX_DISK_K = 40
# match_many tests coverage group by group (vectorised over queries) up to this many distinct fences.
VECTOR_COVER_GROUPS = 64

# match_many_arrays: batches of at least this many queries run on several threads (numba prange)...
PARALLEL_MIN_QUERIES = 64
MAX_THREADS = 2
RETRY_EVERY = 32  # parallel=None: every this many big batches, time the mode that was slower
CHUNKS_PER_THREAD = 4  # ...split into this many runs per thread (pickups differ in cost)
# Output slots per query in a batch: min(limit, SLOT_LIMIT) + 8 (near-ties past that: answered alone).
SLOT_LIMIT = 64
# Covering cells with their bucket runs, pooled per (cell, radius, vehicle code) (rows of 40 bytes)
# before the pool starts over; the pool also starts over whenever the CSR is rebuilt.
SPAN_POOL_MAX = 1 << 22
# Drop-off points whose coverage verdicts single queries remember, before that cache starts over.
DROPOFFS_MAX = 1 << 16
# Pickup points remembered by single queries (entries of ~200 bytes) before that cache starts over.
PICKUPS_MAX = 1 << 16

# Columns of the hot matrix.
PHI, LMB, COSPHI, TS_EFF, KG, M3, VEH, COVG, STATIC, RATE, BASE = range(11)
# PHI..BASE and the row (kernels.ROW): everything a query reads of a carrier sits in its CSR entry (96
# bytes), so a bucket is read sequentially and nothing of a carrier is fetched from the hot matrix.
_CSR_COLS = 12
_HOT_STRIDE = 16  # columns PHI..COVG (what the filters and the distance read) share one cache line

# Cached coverage verdicts per dropoff cell (entries) before the cache starts over.
OK_CACHE_MAX = 1 << 16

# Rows whose cell changed since the CSR was built, scanned by every query, before the CSR is rebuilt.
DELTA_MAX = 4096

_EMPTY_ROWS: IntArray = np.zeros(0, dtype=np.int64)
_ALL_OK = np.ones(1, dtype=np.bool_)
TWO_R = 2.0 * EARTH_RADIUS_M


def _buffers(size: int) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """Scratch buffers of the kernels: rows, sqrt of haversine terms, keys, price terms, static terms."""
    return (
        np.zeros(size, dtype=np.int64),
        np.zeros(size),
        np.zeros(size),
        np.zeros(size),
        np.zeros(size),
    )


@lru_cache(maxsize=4096)
def _scan_all(resolution: int, radius_m: float) -> bool:
    """Whether a radius needs so many rings that scanning every carrier is cheaper (cached per radius)."""
    return disk_k_for_radius(resolution, radius_m) > MAX_DISK_K


def _member(values: IntArray, sorted_set: IntArray) -> npt.NDArray[np.bool_]:
    """``np.isin(values, sorted_set)`` for an already sorted set (no sort per call)."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=np.bool_)
    pos = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return np.asarray(sorted_set[pos] == values)


@dataclass
class BatchMatches:
    """Answers of a batch of queries as columns: query ``i`` owns entries ``offsets[i]:offsets[i + 1]``
    (best first) of ``rows`` (the carriers' index rows), ``distance_m``, ``score`` and ``carrier_ids``.
    What a batch consumer (assignment, dispatch desk) works on without per-candidate objects;
    :meth:`to_candidates` gives ``match``'s lists.

    ``carrier_ids`` is resolved from the rows on first use (touching 100k-carrier id strings at random
    costs more than the rest of a query's Python work); ``id_of_row`` is the index's row -> id list as it
    was when the batch ran (the index replaces that list instead of editing a row when a carrier leaves,
    so the resolution stays right however late it happens)."""

    offsets: IntArray
    rows: IntArray
    distance_m: FloatArray
    score: FloatArray
    id_of_row: list[str | None]
    _carrier_ids: list[str] | None = None

    @staticmethod
    def empty(n_queries: int) -> BatchMatches:
        """No candidate for any of ``n_queries`` queries."""
        return BatchMatches(np.zeros(n_queries + 1, dtype=np.int64), _EMPTY_ROWS, np.zeros(0), np.zeros(0), [])

    @property
    def carrier_ids(self) -> list[str]:
        """Carrier id of every entry (resolved once, on first use)."""
        if self._carrier_ids is None:
            self._carrier_ids = list(map(self.id_of_row.__getitem__, self.rows.tolist()))  # type: ignore[arg-type]
        return self._carrier_ids

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def ids(self, i: int) -> list[str]:
        """Carrier ids of query ``i``, best first."""
        return self.carrier_ids[int(self.offsets[i]) : int(self.offsets[i + 1])]

    def candidates(self, i: int) -> list[Candidate]:
        """Query ``i``'s answer as ``match`` gives it."""
        b, e = int(self.offsets[i]), int(self.offsets[i + 1])
        return [
            Candidate(c, d, s)
            for c, d, s in zip(
                self.carrier_ids[b:e], self.distance_m[b:e].tolist(), self.score[b:e].tolist(), strict=True
            )
        ]

    def to_candidates(self) -> list[list[Candidate]]:
        """Every query's answer as ``match`` gives it (one Candidate per entry: build only when needed)."""
        cands = list(map(Candidate, self.carrier_ids, self.distance_m.tolist(), self.score.tolist()))
        off = self.offsets.tolist()
        return [cands[b:e] for b, e in itertools.pairwise(off)]


def _within(
    radius_m: float, rows: list[int], dists: list[float], scores: list[float]
) -> tuple[list[int], list[float], list[float]]:
    """The candidates whose exact distance is within the radius (a flagged answer may hold borderline ones)."""
    keep = [i for i, d in enumerate(dists) if d <= radius_m]
    if len(keep) == len(dists):
        return rows, dists, scores
    return [rows[i] for i in keep], [dists[i] for i in keep], [scores[i] for i in keep]


def _exact_order(
    query: MatchQuery, ids: list[str | None], rows: list[int], dists: list[float], scores: list[float]
) -> list[int]:
    """Positions of the best ``query.limit`` candidates by (exact key, carrier id): the answer's order."""
    key = dists if query.rank_by == "distance" else scores
    return sorted(range(len(rows)), key=lambda i: (key[i], str(ids[rows[i]])))[: query.limit]


def _check_latlng(lat: float, lng: float, what: str) -> None:
    if not (math.isfinite(lat) and math.isfinite(lng) and -90.0 <= lat <= 90.0 and -180.0 <= lng <= 180.0):
        raise InvalidInput(f"{what} must have lat in [-90, 90] and lng in [-180, 180], got ({lat}, {lng})")


def validate_query(query: MatchQuery) -> None:
    """Raise :class:`InvalidInput` for a query no carrier could answer sensibly."""
    _check_latlng(query.pickup_lat, query.pickup_lng, "pickup")
    _check_latlng(query.dropoff_lat, query.dropoff_lng, "dropoff")
    if not (math.isfinite(query.radius_m) and 0.0 <= query.radius_m <= 1_000_000.0):
        raise InvalidInput(f"radius_m must be between 0 and 1,000,000 metres, got {query.radius_m}")
    if not (math.isfinite(query.weight_kg) and query.weight_kg >= 0):
        raise InvalidInput(f"weight_kg must be a non-negative number, got {query.weight_kg}")
    if not (math.isfinite(query.volume_m3) and query.volume_m3 >= 0):
        raise InvalidInput(f"volume_m3 must be a non-negative number, got {query.volume_m3}")
    if query.limit < 1:
        raise InvalidInput(f"limit must be at least 1, got {query.limit}")
    if query.rank_by not in ("score", "distance"):
        raise InvalidInput(f"rank_by must be 'score' or 'distance', got {query.rank_by!r}")


class CarrierIndex:
    """In-memory index of carriers and their latest positions; see the module docstring."""

    def __init__(
        self,
        weights: ScoreWeights | None = None,
        max_position_age_s: float = 900.0,
        *,
        resolution: int = DEFAULT_RESOLUTION,
        initial_capacity: int = 1024,
        parallel: bool | None = None,
    ) -> None:
        # Kernels compile (or load from numba's disk cache) on the first query, or earlier through
        # warm_up() (the service calls it from a background thread so that it answers while they compile).
        self._warm = False
        self._warm_lock = threading.Lock()
        self._exact_a = False
        self._finish = False
        # Batches on several threads: None = above PARALLEL_MIN_QUERIES queries, False = never.
        self.parallel = parallel
        self.weights = weights or ScoreWeights()
        self.max_position_age_s = float(max_position_age_s)
        self.resolution = resolution
        self._lock = threading.RLock()
        cap = max(16, initial_capacity)
        # Row-major storage (one 128-byte row per carrier, for the kernels' random access) and its
        # transpose, through which NumPy code reads and writes whole columns.
        self._hot_rows: FloatArray = np.zeros((cap, _HOT_STRIDE), dtype=np.float64)
        self._hot: FloatArray = self._hot_rows.T
        self._hot[TS_EFF] = -np.inf
        self._lat: FloatArray = np.full(cap, np.nan)
        self._lng: FloatArray = np.full(cap, np.nan)
        self._ts: FloatArray = np.full(cap, -np.inf)
        self._active = np.zeros(cap, dtype=bool)
        self._cell: IntArray = np.zeros(cap, dtype=np.int64)
        self._vcode: IntArray = np.zeros(cap, dtype=np.int64)
        self._ids: list[str | None] = [None] * cap
        self._profiles: list[CarrierProfile | None] = [None] * cap
        self._row: dict[str, int] = {}
        self._free: list[int] = list(range(cap - 1, -1, -1))
        # Buckets as CSR: (hash table of the bucket keys with their runs, entries), built lazily; rows
        # changed since are stale and listed in the delta (see matcher.kernels).
        self._csr: tuple[IntArray, FloatArray] | None = None
        self._pos_plain: IntArray = _EMPTY_ROWS  # per row: its entry in the CSR (every-vehicle key)
        self._pos_veh: IntArray = _EMPTY_ROWS  # per row: its entry under its vehicle key
        self._stale = np.zeros(cap, dtype=np.bool_)
        self._delta: IntArray = np.zeros(DELTA_MAX, dtype=np.int64)
        self._n_delta = 0
        self._bufs = _buffers(4096)
        # Covering cells of each (pickup cell, radius, vehicle code) with their bucket runs in the CSR,
        # pooled: key -> rows j0..j1 of the pool (see kernels.disk_spans); valid for one CSR build.
        self._spans: dict[tuple[int, float, int], tuple[int, int]] = {}
        self._span_pool: FloatArray = np.zeros((4096, 5))
        self._span_n = 0
        self._slack_m = circumradius_upper_bound_m(resolution)
        # Per pickup point seen (fixed points such as warehouses ask again and again): (scan_all, j0, j1,
        # phi, lmb, cos phi), so a repeated pickup costs one dict lookup; cleared with the span pool.
        self._pickups: dict[tuple[float, float, float, int], tuple[bool, int, int, float, float, float]] = {}
        self._span_gen = 0  # bumped whenever the pool starts over (spans taken before are void)
        # Wall seconds per query of the batch kernel on one thread / several (moving averages).
        self._mode_cost_s: list[float | None] = [None, None]
        self._big_batches = 0
        self._vehicle_codes: dict[str, int] = {}
        # Coverage groups: identical polygons share one cover and one group id.
        self._group_of_wkb: dict[bytes, int] = {}
        self._covers: list[Cover] = []
        self._group_refs: list[int] = []
        self._n_covered = 0  # carriers with a coverage group
        self._cover_interior: dict[int, dict[int, list[int]]] = {}
        self._cover_boundary: dict[int, dict[int, list[int]]] = {}
        self._cover_arr: dict[int, tuple[IntArray, IntArray]] = {}
        # Dropoff cells (one per cover resolution) -> (verdicts decided by the cells alone, the
        # (group, cell) pairs that still need a polygon test); cleared when a coverage group is added.
        self._ok_cache: dict[tuple[int, ...], tuple[npt.NDArray[np.bool_], tuple[tuple[int, int], ...]]] = {}
        # Final verdicts per drop-off point seen (an FMCG distributor delivers to the same shops week after
        # week), boundary polygon tests included; cleared with _ok_cache.
        self._dropoffs: dict[tuple[float, float], npt.NDArray[np.bool_]] = {}
        self._cover_res: tuple[int, ...] = ()

    def warm_up(self) -> None:
        """Compile the kernels and check them against NumPy (once per process; then a flag test per query)."""
        with self._warm_lock:
            if self._warm:
                return
            kernels.warm_up()
            self._exact_a = kernels.exact_a()  # compiled haversine term == NumPy's here (checked once)
            # ...and compiled asin == NumPy's arcsin: a single query's distances are finished in the kernel.
            self._finish = self._exact_a and kernels.exact_asin()
            self._warm = True

    # ----------------------------------------------------------------------------------------- sizes
    def __len__(self) -> int:
        with self._lock:
            return len(self._row)

    def _grow(self, needed: int) -> None:
        cap = len(self._ids)
        if needed <= cap:
            return
        new_cap = max(needed, cap * 2)
        extra = new_cap - cap
        rows = np.zeros((new_cap, _HOT_STRIDE), dtype=np.float64)
        rows[:cap] = self._hot_rows
        rows[cap:, TS_EFF] = -np.inf
        self._hot_rows = rows
        self._hot = rows.T
        self._lat = np.concatenate([self._lat, np.full(extra, np.nan)])
        self._lng = np.concatenate([self._lng, np.full(extra, np.nan)])
        self._ts = np.concatenate([self._ts, np.full(extra, -np.inf)])
        self._active = np.concatenate([self._active, np.zeros(extra, dtype=bool)])
        self._cell = np.concatenate([self._cell, np.zeros(extra, dtype=np.int64)])
        self._vcode = np.concatenate([self._vcode, np.zeros(extra, dtype=np.int64)])
        self._stale = np.concatenate([self._stale, np.zeros(extra, dtype=np.bool_)])
        if len(self._pos_plain):
            self._pos_plain = np.concatenate([self._pos_plain, np.full(extra, -1, dtype=np.int64)])
            self._pos_veh = np.concatenate([self._pos_veh, np.full(extra, -1, dtype=np.int64)])
        self._ids.extend([None] * extra)
        self._profiles.extend([None] * extra)
        self._free.extend(range(new_cap - 1, cap - 1, -1))

    # -------------------------------------------------------------------------------- master data
    def _vehicle_code(self, vehicle_type: str) -> int:
        code = self._vehicle_codes.get(vehicle_type)
        if code is None:
            code = len(self._vehicle_codes) + 1
            if code >= 1 << (3 * (15 - self.resolution)):
                raise InvalidInput(f"too many vehicle types for an index at H3 resolution {self.resolution}")
            self._vehicle_codes[vehicle_type] = code
        return code

    def _group_for(self, profile: CarrierProfile) -> int:
        if profile.coverage is None:
            return -1
        key = profile.coverage.wkb
        group = self._group_of_wkb.get(key)
        if group is None:
            cover = cached_cover(profile.coverage)
            shapely.prepare(cover.geometry)  # the boundary-cell test runs once per query that needs it
            group = len(self._covers)
            self._covers.append(cover)
            self._group_refs.append(0)
            self._group_of_wkb[key] = group
            interior = self._cover_interior.setdefault(cover.res, {})
            boundary = self._cover_boundary.setdefault(cover.res, {})
            for cell in cover.interior:
                interior.setdefault(cell, []).append(group)
            for cell in cover.boundary:
                boundary.setdefault(cell, []).append(group)
            self._ok_cache.clear()
            self._dropoffs.clear()
            self._cover_res = tuple(self._cover_interior)
        self._group_refs[group] += 1
        self._n_covered += 1
        return group

    def _release_group(self, group: int) -> None:
        if group >= 0:
            self._group_refs[group] -= 1
            self._n_covered -= 1

    def _static_score(self, profile: CarrierProfile) -> float:
        w = self.weights
        return (
            w.lateness * (1.0 - profile.on_time_rate)
            + w.load_per_job * profile.current_load
            + w.rating_gap * (5.0 - profile.rating)
        )

    def upsert_carrier(self, profile: CarrierProfile) -> None:
        """Add a carrier or replace its master data; a known position is kept."""
        with self._lock:
            row = self._row.get(profile.carrier_id)
            if row is None:
                if not self._free:
                    self._grow(len(self._ids) + 1)
                row = self._free.pop()
                self._row[profile.carrier_id] = row
                self._ids[row] = profile.carrier_id
            else:
                old = self._profiles[row]
                if old is not None:
                    self._release_group(int(self._hot[COVG, row]))
            self._profiles[row] = profile
            self._active[row] = profile.active
            hot = self._hot
            hot[KG, row] = profile.capacity_kg
            hot[M3, row] = profile.capacity_m3
            code = self._vehicle_code(profile.vehicle_type)
            hot[VEH, row] = code
            old_code = int(self._vcode[row])
            self._vcode[row] = code
            cell = int(self._cell[row])
            if cell and old_code != code:
                self._mark_moved(np.array([row], dtype=np.int64))
            hot[COVG, row] = self._group_for(profile)
            hot[STATIC, row] = self._static_score(profile)
            hot[RATE, row] = profile.rate_per_km
            hot[BASE, row] = profile.base_fare
            hot[TS_EFF, row] = self._ts[row] if profile.active and self._cell[row] != 0 else -np.inf
            self._sync_csr(np.array([row], dtype=np.int64))

    def remove_carrier(self, carrier_id: str) -> bool:
        """Forget a carrier (profile and position); answers whether it was known."""
        with self._lock:
            row = self._row.pop(carrier_id, None)
            if row is None:
                return False
            self._release_group(int(self._hot[COVG, row]))
            cell = int(self._cell[row])
            if cell:
                self._mark_moved(np.array([row], dtype=np.int64))
            self._vcode[row] = 0
            self._hot[:, row] = 0.0
            self._hot[TS_EFF, row] = -np.inf
            self._lat[row] = self._lng[row] = np.nan
            self._ts[row] = -np.inf
            self._active[row] = False
            self._cell[row] = 0
            # A new list rather than an edit: BatchMatches still holding the old one resolve their rows
            # (this carrier's included) correctly; removals are rare, the copy is O(n) pointers.
            self._ids = list(self._ids)
            self._ids[row] = None
            self._profiles[row] = None
            self._free.append(row)
            return True

    def profile_of(self, carrier_id: str) -> CarrierProfile | None:
        """The master data the index holds for a carrier."""
        with self._lock:
            row = self._row.get(carrier_id)
            return None if row is None else self._profiles[row]

    def carrier_ids(self) -> list[str]:
        """Ids of all carriers in the index."""
        with self._lock:
            return list(self._row)

    # ----------------------------------------------------------------------------------- positions
    def position_of(self, carrier_id: str) -> tuple[float, float, float] | None:
        """Latest accepted fix of a carrier as (lat, lng, ts_s), or None."""
        with self._lock:
            row = self._row.get(carrier_id)
            if row is None or self._cell[row] == 0:
                return None
            return float(self._lat[row]), float(self._lng[row]), float(self._ts[row])

    def _mark_moved(self, rows: IntArray) -> None:
        """Rows whose cell or vehicle changed (or that were removed): their CSR entries become stale and
        they join the delta list, which queries scan linearly; past DELTA_MAX the CSR is rebuilt lazily."""
        if self._csr is None or len(rows) == 0:
            return
        rows = rows[~self._stale[rows]]
        n = self._n_delta
        if n + len(rows) > DELTA_MAX:
            self._csr = None
            return
        self._stale[rows] = True
        self._delta[n : n + len(rows)] = rows
        self._n_delta = n + len(rows)
        # Hide their CSR entries from the kernels (a fix time no cutoff accepts).
        data = self._csr[1]
        for pos in (self._pos_plain[rows], self._pos_veh[rows]):
            data[pos[pos >= 0], TS_EFF] = -np.inf

    def _ensure_csr(self) -> tuple[IntArray, FloatArray]:
        """The buckets as CSR: a hash table of the keys with each bucket's run, and a copy of the rows'
        columns (and row) in CSR order, so a query reads each bucket sequentially; rebuilt if dirty."""
        if self._csr is None:
            placed = np.flatnonzero(self._cell != 0).astype(np.int64)
            cells = self._cell[placed]
            codes = self._vcode[placed]
            keys = np.concatenate([cells, cells ^ codes])
            rows = np.concatenate([placed, placed])
            # Buckets by (vehicle code, cell): a query reads one code's buckets, and H3 ids of nearby cells
            # share prefixes, so the buckets of a covering disk fall into a few contiguous runs.
            order = np.lexsort((np.concatenate([cells, cells]), np.concatenate([np.zeros_like(codes), codes])))
            keys = keys[order]
            rows = np.ascontiguousarray(rows[order])
            if len(keys):
                breaks = np.flatnonzero(keys[1:] != keys[:-1]) + 1
                starts = np.concatenate([[0], breaks, [len(keys)]]).astype(np.int64)
                ukeys = np.ascontiguousarray(keys[starts[:-1]])
            else:
                starts = np.zeros(1, dtype=np.int64)
                ukeys = _EMPTY_ROWS
            n_placed = len(placed)
            where = np.empty(len(order), dtype=np.int64)
            where[order] = np.arange(len(order))
            cap = len(self._ids)
            self._pos_plain = np.full(cap, -1, dtype=np.int64)
            self._pos_veh = np.full(cap, -1, dtype=np.int64)
            self._pos_plain[placed] = where[:n_placed]
            self._pos_veh[placed] = where[n_placed:]
            data = np.ascontiguousarray(self._hot_rows[rows, :_CSR_COLS])
            data[:, kernels.ROW] = rows
            self._stale = np.zeros(cap, dtype=np.bool_)
            self._n_delta = 0
            self._forget_spans()  # they point into the previous build
            self._csr = (kernels.build_table(ukeys, starts), data)
        return self._csr

    def _sync_csr(self, rows: IntArray) -> None:
        """Copy the filter/distance columns of ``rows`` (changed in ``_hot``) into the CSR copy."""
        if self._csr is None or len(rows) == 0:
            return
        rows = rows[~self._stale[rows]]
        pos = self._pos_plain[rows]
        rows = rows[pos >= 0]
        if len(rows) == 0:
            return
        values = self._hot_rows[rows, :_CSR_COLS]
        values[:, kernels.ROW] = rows
        data = self._csr[1]
        data[self._pos_plain[rows]] = values
        data[self._pos_veh[rows]] = values

    def update_positions(
        self,
        ids: Sequence[str],
        lats: npt.ArrayLike,
        lngs: npt.ArrayLike,
        ts_s: npt.ArrayLike,
    ) -> int:
        """Apply a batch of fixes (vectorised); unknown carriers, invalid coordinates and fixes not newer
        than the one held are ignored. Answers how many fixes were accepted."""
        lat_a = np.asarray(lats, dtype=np.float64).reshape(-1)
        lng_a = np.asarray(lngs, dtype=np.float64).reshape(-1)
        ts_a = np.asarray(ts_s, dtype=np.float64).reshape(-1)
        n = len(ids)
        if not (len(lat_a) == len(lng_a) == len(ts_a) == n):
            raise InvalidInput("ids, lats, lngs and ts_s must have the same length")
        if n == 0:
            return 0
        with self._lock:
            get = self._row.get
            rows = np.fromiter((get(i, -1) for i in ids), dtype=np.int64, count=n)
            ok = (
                (rows >= 0)
                & np.isfinite(lat_a)
                & np.isfinite(lng_a)
                & np.isfinite(ts_a)
                & (np.abs(lat_a) <= 90.0)
                & (np.abs(lng_a) <= 180.0)
            )
            sel = np.flatnonzero(ok)
            if len(sel) == 0:
                return 0
            rows, lat_a, lng_a, ts_a = rows[sel], lat_a[sel], lng_a[sel], ts_a[sel]
            # Keep the newest fix per carrier within the batch.
            if np.bincount(rows, minlength=1).max() > 1:
                order = np.lexsort((ts_a, rows))
                rows, lat_a, lng_a, ts_a = rows[order], lat_a[order], lng_a[order], ts_a[order]
                last = np.concatenate([rows[1:] != rows[:-1], [True]])
                rows, lat_a, lng_a, ts_a = rows[last], lat_a[last], lng_a[last], ts_a[last]
            newer = ts_a > self._ts[rows]
            if not newer.all():
                rows, lat_a, lng_a, ts_a = rows[newer], lat_a[newer], lng_a[newer], ts_a[newer]
            accepted = len(rows)
            if accepted == 0:
                return 0
            # h3's compiled latlng_to_cell without its Python wrapper, mapped (no generator frame per fix).
            new_cells = np.fromiter(
                map(h3_cy.latlng_to_cell, lat_a.tolist(), lng_a.tolist(), itertools.repeat(self.resolution, accepted)),
                dtype=np.int64,
                count=accepted,
            )
            old_cells = self._cell[rows]
            self._lat[rows] = lat_a
            self._lng[rows] = lng_a
            self._ts[rows] = ts_a
            phi = np.radians(lat_a)
            hot = self._hot
            hot[PHI, rows] = phi
            hot[LMB, rows] = np.radians(lng_a)
            hot[COSPHI, rows] = np.cos(phi)
            hot[TS_EFF, rows] = np.where(self._active[rows], ts_a, -np.inf)
            self._cell[rows] = new_cells
            moved = old_cells != new_cells
            self._mark_moved(rows[moved])
            self._sync_csr(rows[~moved])
            return accepted

    # --------------------------------------------------------------------------------------- query
    def _coverage_ok(self, lat: float, lng: float) -> npt.NDArray[np.bool_]:
        """Per coverage group (shifted by one; index 0 = "no coverage"), whether it holds (lat, lng).

        What the dropoff's cells decide (interior -> yes, neither interior nor boundary -> no) is cached
        per tuple of cells; only boundary cells cost a polygon test per call. The answer is read-only."""
        to_cell = h3_cy.latlng_to_cell
        cover_res = self._cover_res
        n_res = len(cover_res)
        # (No comprehension for the usual one or two resolutions: on 3.11 it costs a frame per call.)
        if n_res == 1:
            key: tuple[int, ...] = (to_cell(lat, lng, cover_res[0]),)
        elif n_res == 2:
            key = (to_cell(lat, lng, cover_res[0]), to_cell(lat, lng, cover_res[1]))
        else:
            key = tuple([to_cell(lat, lng, res) for res in cover_res])
        entry = self._ok_cache.get(key)
        if entry is None:
            entry = self._coverage_entry(key)
        base, checks = entry
        if not checks:
            return base
        ok = base.copy()
        covers = self._covers
        for group, _cell in checks:  # boundary cells: for a point, covers == intersects (cheaper ufunc)
            if not ok[group + 1] and shapely.intersects_xy(covers[group].geometry, lng, lat):
                ok[group + 1] = True
        return ok

    def _dropoff_ok(self, lat: float, lng: float) -> npt.NDArray[np.bool_]:
        """:meth:`_coverage_ok`, remembered per drop-off point (see ``_dropoffs``)."""
        ok = self._coverage_ok(lat, lng)
        if len(self._dropoffs) >= DROPOFFS_MAX:
            self._dropoffs.clear()
        self._dropoffs[(lat, lng)] = ok
        return ok

    def _coverage_entry(self, cells: tuple[int, ...]) -> tuple[npt.NDArray[np.bool_], tuple[tuple[int, int], ...]]:
        """Cache entry of :meth:`_coverage_ok` for the dropoff's cells (one per resolution of ``_cover_res``)."""
        base = np.zeros(len(self._covers) + 1, dtype=bool)
        base[0] = True
        checks: list[tuple[int, int]] = []
        for res, cell in zip(self._cover_res, cells, strict=True):
            for group in self._cover_interior[res].get(cell, ()):
                base[group + 1] = True
            checks += [(group, cell) for group in self._cover_boundary[res].get(cell, ())]
        checks = [(g, c) for g, c in checks if not base[g + 1]]
        if len(self._ok_cache) >= OK_CACHE_MAX:
            self._ok_cache.clear()
        entry = (base, tuple(checks))
        self._ok_cache[cells] = entry
        return entry

    def _coverage_table(self, lat: FloatArray, lng: FloatArray) -> npt.NDArray[np.bool_]:
        """Per query (dropoffs ``lat``/``lng``) and coverage group, whether the dropoff is covered;
        vectorised per group. Same decision as :meth:`_coverage_ok`: interior cell -> yes, boundary cell ->
        exact ``covers``."""
        table = np.ones((len(lat), len(self._covers) + 1), dtype=bool)
        lat_l = lat.tolist()
        lng_l = lng.tolist()
        cells_by_res: dict[int, IntArray] = {}
        points = None
        for group, cover in enumerate(self._covers):
            if self._group_refs[group] <= 0:
                continue
            cells = cells_by_res.get(cover.res)
            if cells is None:
                to_cell = h3_cy.latlng_to_cell  # what h3.latlng_to_cell calls, without its wrapper
                cells = np.fromiter(
                    map(to_cell, lat_l, lng_l, itertools.repeat(cover.res, len(lat_l))),
                    dtype=np.int64,
                    count=len(lat_l),
                )
                cells_by_res[cover.res] = cells
            interior, boundary = self._cover_arrays(group)
            inside = _member(cells, interior)
            edge = np.flatnonzero(_member(cells, boundary))
            if len(edge):
                if points is None:
                    points = shapely.points(lng, lat)
                inside[edge] = shapely.covers(cover.geometry, points[edge])
            table[:, group + 1] = inside
        return table

    def _cover_arrays(self, group: int) -> tuple[IntArray, IntArray]:
        arrays = self._cover_arr.get(group)
        if arrays is None:
            cover = self._covers[group]
            arrays = (  # sorted, for binary-search membership
                np.sort(np.fromiter(cover.interior, dtype=np.int64, count=len(cover.interior))),
                np.sort(np.fromiter(cover.boundary, dtype=np.int64, count=len(cover.boundary))),
            )
            self._cover_arr[group] = arrays
        return arrays

    def _cutoff(self, now_s: float) -> float:
        """Oldest acceptable fix time; always finite, so inactive carriers (``-inf``) never pass."""
        cutoff = now_s - self.max_position_age_s
        return cutoff if math.isfinite(cutoff) else -sys.float_info.max

    def _run_one(
        self, query: MatchQuery, cutoff: float, limit: int
    ) -> tuple[list[int], list[float], list[float], bool]:
        """Rows, exact distances and scores of the best ``limit`` (and near-tied) eligible carriers, best
        first by approximate key; the flag says the caller must re-sort by (exact key, id). Holds the lock.

        The common path of a single query: attributes read once into locals, no per-call allocation but
        the answer's lists (this Python around the kernel is most of a query's time)."""
        if not self._warm:
            self.warm_up()
        code = 0
        vehicle = query.vehicle_type
        if vehicle is not None:
            code = self._vehicle_codes.get(vehicle, -1)
            if code < 0:
                return [], [], [], False
        csr = self._csr
        csr_data = (self._ensure_csr() if csr is None else csr)[1]
        plat = query.pickup_lat
        plng = query.pickup_lng
        dlat = query.dropoff_lat
        dlng = query.dropoff_lng
        radius = query.radius_m
        entry = self._pickups.get((plat, plng, radius, code))
        if entry is None:
            entry = self._pickup_entry(plat, plng, radius, code)
        scan_all, j0, j1, phi, lmb, cos_phi = entry
        by_dist = query.rank_by == "distance"
        w = self.weights
        wd1000 = w.distance_per_km / 1000.0
        trip_km = haversine_m(plat, plng, dlat, dlng) / 1000.0
        # With fenced carriers around, the kernel needs the drop-off's verdict per coverage group.
        use_ok = self._n_covered > 0
        ok = self._dropoffs.get((dlat, dlng)) if use_ok else _ALL_OK
        if ok is None:
            ok = self._dropoff_ok(dlat, dlng)
        hot_rows = self._hot_rows
        bufs = self._bufs
        pool = self._span_pool
        slack = self._slack_m
        finish = self._finish
        while True:
            n, m, flags = kernels.match_one(
                pool, j0, j1, slack, csr_data, self._delta, self._n_delta, self._cell, self._vcode, scan_all,
                hot_rows, phi, lmb, cos_phi, radius, cutoff, query.weight_kg,
                query.volume_m3, code, by_dist, wd1000, w.price, trip_km, limit, ok, use_ok, finish, *bufs,
            )  # fmt: skip
            if n >= 0:
                break
            bufs = self._bufs = _buffers(len(bufs[0]) * 4)  # the scratch buffers were too small
        if m == 0:
            return [], [], [], False
        out_rows, out_a, _, out_p, out_s = bufs
        row_l = out_rows[:m].tolist()
        if finish:  # distances and scores already final (the same bits as below)
            dists = out_a[:m].tolist()
            scores = out_s[:m].tolist()
        else:
            if self._exact_a:
                dists = [TWO_R * v for v in np.arcsin(out_a[:m]).tolist()]
            else:  # pragma: no cover - only where compiled sin differs from NumPy's
                sel = out_rows[:m]
                hot = self._hot
                dists = haversine_rad_m(
                    phi, lmb, cos_phi, hot[PHI].take(sel), hot[LMB].take(sel), hot[COSPHI].take(sel)
                ).tolist()
                flags |= kernels.FLAG_EXACT
            p_l = out_p[:m].tolist()
            s_l = out_s[:m].tolist()
            scores = [wd1000 * d + p + s for d, p, s in zip(dists, p_l, s_l, strict=False)]
        if flags & kernels.FLAG_EXACT:
            return (*_within(radius, row_l, dists, scores), True)
        return row_l, dists, scores, False

    def _candidates(
        self, query: MatchQuery, row_l: list[int], dists: list[float], scores: list[float], exact: bool
    ) -> list[Candidate]:
        ids = self._ids
        order = _exact_order(query, ids, row_l, dists, scores) if exact else range(len(row_l))
        if query.explain:
            return [
                Candidate(str(ids[row_l[i]]), dists[i], scores[i], self._explain(query, row_l[i], dists[i]))
                for i in order
            ]
        return [Candidate(str(ids[row_l[i]]), dists[i], scores[i]) for i in order]

    def match(self, query: MatchQuery, now_s: float | None = None) -> list[Candidate]:
        """Eligible carriers for the query, best first (by score, or by distance with rank_by="distance")."""
        q = query
        # One chained test for the usual valid query (NaN fails every comparison); anything else gets
        # validate_query's precise error.
        if not (
            -90.0 <= q.pickup_lat <= 90.0
            and -180.0 <= q.pickup_lng <= 180.0
            and -90.0 <= q.dropoff_lat <= 90.0
            and -180.0 <= q.dropoff_lng <= 180.0
            and 0.0 <= q.radius_m <= 1_000_000.0
            and 0.0 <= q.weight_kg < math.inf
            and 0.0 <= q.volume_m3 < math.inf
            and q.limit >= 1
            and (q.rank_by == "score" or q.rank_by == "distance")
        ):
            validate_query(query)
        cutoff = (time.time() if now_s is None else now_s) - self.max_position_age_s
        if not math.isfinite(cutoff):
            cutoff = -sys.float_info.max  # as _cutoff: inactive carriers (-inf) never pass
        with self._lock:
            row_l, dists, scores, exact = self._run_one(query, cutoff, query.limit)
            if exact or query.explain:
                return self._candidates(query, row_l, dists, scores, exact)
            # map, not a comprehension: no per-candidate frame (a third of the time of building them)
            return list(map(Candidate, map(self._ids.__getitem__, row_l), dists, scores))  # type: ignore[arg-type]

    def match_many(self, queries: Sequence[MatchQuery], now_s: float | None = None) -> list[list[Candidate]]:
        """Answer many queries in one pass: the same answers as ``[match(q) for q in queries]``.

        Built on :meth:`match_many_arrays` (one compiled call for the whole batch); only the Candidate
        objects are made here, with the score terms for queries that ask ``explain``.
        """
        if len(queries) == 0:
            return []
        with self._lock:
            batch = self.match_many_arrays(queries, now_s=now_s)
            out = batch.to_candidates()
            for qi, q in enumerate(queries):
                if q.explain:
                    b, e = int(batch.offsets[qi]), int(batch.offsets[qi + 1])
                    out[qi] = [
                        Candidate(c.carrier_id, c.distance_m, c.score, self._explain(q, int(r), c.distance_m))
                        for c, r in zip(out[qi], batch.rows[b:e].tolist(), strict=True)
                    ]
            return out

    def _forget_spans(self) -> None:
        self._spans.clear()
        self._pickups.clear()
        self._span_n = 0
        self._span_gen += 1

    def _pickup_entry(
        self, lat: float, lng: float, radius_m: float, code: int
    ) -> tuple[bool, int, int, float, float, float]:
        """What a single query needs of its pickup point (see ``_pickups``), computed and remembered."""
        scan_all = _scan_all(self.resolution, radius_m)
        j0 = j1 = 0
        if not scan_all:
            j0, j1 = self._spans_of(h3_cy.latlng_to_cell(lat, lng, self.resolution), radius_m, code)
        phi = math.radians(lat)
        entry = (scan_all, j0, j1, phi, math.radians(lng), math.cos(phi))
        if len(self._pickups) >= PICKUPS_MAX:
            self._pickups.clear()
        self._pickups[(lat, lng, radius_m, code)] = entry
        return entry

    def _spans_of(self, cell: int, radius_m: float, code: int) -> tuple[int, int]:
        """Rows ``j0..j1`` of the span pool holding the covering cells of (cell, radius) that have a
        bucket for vehicle ``code``, with their bucket runs; computed on first use per CSR build. A query
        then reads its buckets' places sequentially instead of one hash-table cache miss per cell (the
        "precomputed disk" of a pickup point: warehouses ask again and again). Call after ``_ensure_csr``."""
        key = (cell, radius_m, code)
        span = self._spans.get(key)
        if span is None:
            disk = cell_disk(cell, radius_m)
            n = self._span_n
            m = len(disk.cells)
            if n + m > SPAN_POOL_MAX:  # forget every span; the pool restarts empty
                self._forget_spans()
                n = 0
            pool = self._span_pool
            if n + m > len(pool):
                grown = np.zeros((max(4096, 2 * (n + m)), 5))
                grown[:n] = pool[:n]
                pool = self._span_pool = grown
            table = self._ensure_csr()[0]
            end = kernels.disk_spans(disk.cells, disk.phi, disk.lmb, disk.cos_phi, table, code, pool, n)
            self._span_n = end
            span = (n, end)
            self._spans[key] = span
        return span

    def match_many_arrays(self, queries: Sequence[MatchQuery], now_s: float | None = None) -> BatchMatches:
        """Answer many queries at once as columns (see :class:`BatchMatches`): what a batch consumer needs,
        without one Python object per candidate. Same answers as ``match`` (ids, distances, scores).

        Python touches each query only to read its fields, find its H3 cell and its (pooled) disk;
        validation, trip lengths, coverage verdicts (per fence, for all queries at once), gather,
        filters, distances and top-k selection run vectorised or in one compiled call (several threads
        for big batches, see :data:`PARALLEL_MIN_QUERIES`).
        """
        if not self._warm:
            self.warm_up()
        n_q = len(queries)
        if n_q == 0:
            return BatchMatches.empty(0)
        num = np.array(
            [
                (
                    q.pickup_lat,
                    q.pickup_lng,
                    q.dropoff_lat,
                    q.dropoff_lng,
                    q.weight_kg,
                    q.volume_m3,
                    q.radius_m,
                    q.limit,
                )
                for q in queries
            ],
            dtype=np.float64,
        ).reshape(n_q, 8)
        cols = np.ascontiguousarray(num.T)
        lat, lng, dlat, dlng = cols[0], cols[1], cols[2], cols[3]
        kg, m3, radius = cols[4], cols[5], cols[6]
        kinds = [(q.rank_by, q.vehicle_type) for q in queries]
        by_dist = np.fromiter((k[0] == "distance" for k in kinds), dtype=np.bool_, count=n_q)
        with np.errstate(invalid="ignore"):
            valid = (
                (np.abs(lat) <= 90.0)
                & (np.abs(lng) <= 180.0)
                & (np.abs(dlat) <= 90.0)
                & (np.abs(dlng) <= 180.0)
                & (radius >= 0.0)
                & (radius <= 1_000_000.0)
                & (kg >= 0.0)
                & np.isfinite(kg)
                & (m3 >= 0.0)
                & np.isfinite(m3)
                & (num[:, 7] >= 1.0)
            )
        if not valid.all() or not all(k[0] == "score" or k[0] == "distance" for k in kinds):
            for query in queries:
                validate_query(query)  # raises the precise error of the first bad query
        res = self.resolution
        radius_l = radius.tolist()
        if any(_scan_all(res, r) for r in set(radius_l)):
            return self._arrays_from_loop(queries, now_s)
        now = time.time() if now_s is None else now_s
        cutoff = self._cutoff(now)
        limit = num[:, 7].astype(np.int64)
        cells = list(map(h3_cy.latlng_to_cell, lat.tolist(), lng.tolist(), itertools.repeat(res, n_q)))
        trip_km = np.empty(n_q)
        kernels.trip_km_many(lat, lng, dlat, dlng, trip_km)
        w = self.weights
        wd1000 = w.distance_per_km / 1000.0
        # Output slots per query: the limit plus room for near-ties (more -> the query is answered alone).
        slot = np.zeros(n_q + 1, dtype=np.int64)
        np.cumsum(np.minimum(limit, SLOT_LIMIT) + 8, out=slot[1:])
        with self._lock:
            vcodes = self._vehicle_codes
            code_l = [0 if k[1] is None else vcodes.get(k[1], -1) for k in kinds]
            code = np.array(code_l, dtype=np.int64)
            csr_data = self._ensure_csr()[1]
            for _ in range(2):  # once more if the pool started over while this batch filled it
                gen = self._span_gen
                span = self._spans_of
                known = self._spans.get
                spans = np.array(
                    [
                        (0, 0) if c < 0 else known((cell, r, c)) or span(cell, r, c)
                        for cell, r, c in zip(cells, radius_l, code_l, strict=True)
                    ],
                    dtype=np.int64,
                ).reshape(n_q, 2)
                if self._span_gen == gen:
                    break
            else:  # this batch alone needs more than the whole pool: answer it query by query
                return self._arrays_from_loop(queries, now_s)
            # Work in H3 order: neighbouring pickups read the same buckets while they are still in cache.
            order = np.argsort(np.array(cells, dtype=np.int64), kind="stable")
            if self._n_covered > 0:
                if len(self._covers) <= VECTOR_COVER_GROUPS:
                    table = self._coverage_table(dlat, dlng)
                else:
                    table = np.ones((n_q, len(self._covers) + 1), dtype=bool)
                    for qi, (a, b) in enumerate(zip(dlat.tolist(), dlng.tolist(), strict=True)):
                        table[qi] = self._coverage_ok(a, b)
                use_ok = np.ones(n_q, dtype=np.bool_)
            else:
                table = np.ones((n_q, 1), dtype=bool)
                use_ok = np.zeros(n_q, dtype=np.bool_)
            threads = self._threads(n_q)
            kernel = kernels.batch_parallel if threads > 1 else kernels.batch_serial
            t0 = time.perf_counter()
            offsets, sel_rows, sel_a, sel_p, sel_s, flags = kernel(
                threads * CHUNKS_PER_THREAD, order, self._span_pool,
                np.ascontiguousarray(spans[:, 0]), np.ascontiguousarray(spans[:, 1]), self._slack_m,
                csr_data, self._delta, self._n_delta, self._cell, self._vcode,
                self._hot_rows, lat, lng, radius, cutoff, kg, m3, code, by_dist, wd1000, w.price,
                trip_km, limit, table, use_ok, slot,
            )  # fmt: skip
            if self.parallel is None and n_q >= PARALLEL_MIN_QUERIES:
                self._record_kernel_time(threads > 1, (time.perf_counter() - t0) / n_q)
            # Exact distances (NumPy's arcsin, as the oracle) and scores of every kept candidate.
            if self._exact_a:
                dist = TWO_R * np.arcsin(sel_a)
            else:  # pragma: no cover - only where compiled sin differs from NumPy's
                qs = np.repeat(np.arange(n_q), np.diff(offsets))
                q_phi = np.radians(lat)
                hot = self._hot
                dist = haversine_rad_m(
                    q_phi.take(qs), np.radians(lng).take(qs), np.cos(q_phi).take(qs),
                    hot[PHI].take(sel_rows), hot[LMB].take(sel_rows), hot[COSPHI].take(sel_rows),
                )  # fmt: skip
                flags[:] |= kernels.FLAG_EXACT
            score = wd1000 * dist + sel_p + sel_s
            batch = BatchMatches(offsets, sel_rows, dist, score, self._ids)
            flagged = np.flatnonzero(flags)
            if len(flagged):
                batch = self._finish_flagged(batch, queries, flagged, flags, cutoff)
            return batch

    def _finish_flagged(
        self, batch: BatchMatches, queries: Sequence[MatchQuery], flagged: IntArray, flags: IntArray, cutoff: float
    ) -> BatchMatches:
        """Redo the few queries the kernel flagged: re-check the radius and re-sort by (exact key, id) with
        exact values, or answer alone a query whose kept candidates overflowed its slots. Holds the lock."""
        ids = self._ids
        offsets = batch.offsets
        parts_r: list[IntArray] = []
        parts_d: list[FloatArray] = []
        parts_s: list[FloatArray] = []
        counts = np.diff(offsets)
        prev = 0
        for qi in flagged.tolist():
            q = queries[qi]
            b, e = int(offsets[qi]), int(offsets[qi + 1])
            if flags[qi] & kernels.FLAG_OVERFLOW:
                row_l, dists, scores, exact = self._run_one(q, cutoff, q.limit)
            else:
                row_l = batch.rows[b:e].tolist()
                dists = batch.distance_m[b:e].tolist()
                scores = batch.score[b:e].tolist()
                exact = bool(flags[qi] & kernels.FLAG_EXACT)
                if exact:
                    row_l, dists, scores = _within(q.radius_m, row_l, dists, scores)
            order = _exact_order(q, ids, row_l, dists, scores) if exact else range(len(row_l))
            parts_r += [batch.rows[prev:b], np.array([row_l[i] for i in order], dtype=np.int64)]
            parts_d += [batch.distance_m[prev:b], np.array([dists[i] for i in order], dtype=np.float64)]
            parts_s += [batch.score[prev:b], np.array([scores[i] for i in order], dtype=np.float64)]
            counts[qi] = len(order)
            prev = e
        parts_r.append(batch.rows[prev:])
        parts_d.append(batch.distance_m[prev:])
        parts_s.append(batch.score[prev:])
        new_off = np.zeros(len(offsets), dtype=np.int64)
        np.cumsum(counts, out=new_off[1:])
        return BatchMatches(
            new_off, np.concatenate(parts_r), np.concatenate(parts_d), np.concatenate(parts_s), self._ids
        )

    def _arrays_from_loop(self, queries: Sequence[MatchQuery], now_s: float | None) -> BatchMatches:
        """Queries whose radius needs a scan of every carrier: answered one by one, packed as columns."""
        with self._lock:
            answers = [self.match(q, now_s=now_s) for q in queries]
            rows = [self._row[c.carrier_id] for a in answers for c in a]
        offsets = np.zeros(len(queries) + 1, dtype=np.int64)
        np.cumsum([len(a) for a in answers], out=offsets[1:])
        return BatchMatches(
            offsets,
            np.array(rows, dtype=np.int64),
            np.array([c.distance_m for a in answers for c in a], dtype=np.float64),
            np.array([c.score for a in answers for c in a], dtype=np.float64),
            self._ids,
        )

    def _threads(self, n_q: int) -> int:
        """How many threads a batch of ``n_q`` queries runs on: 1 below the threshold or when disabled;
        with ``parallel=None`` whichever mode has been faster per query lately (threads only pay off when
        the cores are idle: on a loaded box they wait for each other), re-trying the other mode every
        :data:`RETRY_EVERY` big batches."""
        if self.parallel is False or n_q < PARALLEL_MIN_QUERIES:
            return 1
        threads = max(1, min(numba.get_num_threads(), MAX_THREADS))
        if self.parallel is True or threads == 1:
            return threads
        self._big_batches += 1
        serial, par = self._mode_cost_s
        if serial is None:
            return 1
        if par is None:
            return threads
        prefer_par = par < serial
        if self._big_batches % RETRY_EVERY == 0:
            prefer_par = not prefer_par
        return threads if prefer_par else 1

    def _record_kernel_time(self, parallel: bool, seconds_per_query: float) -> None:
        """Moving average of the batch kernel's wall time per query, per mode (see :meth:`_threads`)."""
        i = 1 if parallel else 0
        old = self._mode_cost_s[i]
        self._mode_cost_s[i] = seconds_per_query if old is None else 0.7 * old + 0.3 * seconds_per_query

    def _explain(self, query: MatchQuery, row: int, distance_m: float) -> dict[str, float]:
        profile = self._profiles[row]
        assert profile is not None
        w = self.weights
        trip_km = haversine_m(query.pickup_lat, query.pickup_lng, query.dropoff_lat, query.dropoff_lng) / 1000.0
        return {
            "pickup_distance": w.distance_per_km * distance_m / 1000.0,
            "price": w.price * (profile.base_fare + profile.rate_per_km * trip_km),
            "lateness": w.lateness * (1.0 - profile.on_time_rate),
            "load": w.load_per_job * profile.current_load,
            "rating": w.rating_gap * (5.0 - profile.rating),
        }

    def eligible_with_scores(self, query: MatchQuery, now_s: float | None = None) -> list[tuple[str, float, float]]:
        """Every eligible carrier as (carrier_id, distance_m, score), unordered; used by batch assignment."""
        validate_query(query)
        now = time.time() if now_s is None else now_s
        with self._lock:
            row_l, dists, scores, _ = self._run_one(query, self._cutoff(now), len(self._ids) + 1)
            ids = self._ids
            return [(str(ids[r]), d, s) for r, d, s in zip(row_l, dists, scores, strict=True)]

    def match_batch(
        self, queries: Sequence[MatchQuery], now_s: float | None = None, per_carrier_capacity: int = 1
    ) -> BatchResult:
        """Assign many jobs at once with minimum total score (see :mod:`matcher.batch`)."""
        from matcher.batch import assign_batch

        return assign_batch(self, queries, now_s=now_s, per_carrier_capacity=per_carrier_capacity)


__all__ = ["DEFAULT_RESOLUTION", "BatchMatches", "CarrierIndex", "validate_query"]
