"""The carrier index's H3 buckets: a CSR layout over the rows, its delta of moved rows, and the span pool.

Rows are bucketed by their H3 cell at the index's resolution, twice: under the cell id itself (every
vehicle) and under ``cell ^ vehicle_code``, so a query for one vehicle type reads only that type's
carriers. The XOR only touches the low bits that H3 sets to 7 for the unused digits of a cell at the
resolution (3 bits per digit past it), so the two kinds of keys never collide. The buckets are one CSR
layout ordered by (vehicle code, cell): a hash table of the keys with each bucket's run, and a copy of
each entry's columns and row in CSR order so a query reads a bucket sequentially; position updates within
a cell write through to it. A position update that changes a carrier's cell does not touch the CSR: the
entry is hidden (its fix time set to ``-inf``), the row marked stale and appended to a small delta list
that queries scan linearly; when the delta passes ``params.delta_max`` rows the CSR is rebuilt (lazily,
O(n log n)). Per (pickup cell, radius, vehicle code) the covering cells' bucket runs are pooled on first
use (:meth:`Buckets.spans_of`), so a repeated pickup point reads them in one sequential run instead of
one hash lookup (a cache miss) per cell.
"""

from __future__ import annotations

import math
from functools import lru_cache

import h3._cy as h3_cy
import numpy as np

from geo.h3_radius import cell_disk, circumradius_upper_bound_m, disk_k_for_radius
from matcher import kernels
from matcher.kernel_types import CsrBuckets, FloatArray, IntArray, Pickup, SpanPool
from matcher.layout import CSR_COLS, ROW, SPAN_COLS, TS_EFF
from matcher.params import MatcherParams
from matcher.storage import CarrierRows

_EMPTY_ROWS: IntArray = np.zeros(0, dtype=np.int64)


@lru_cache(maxsize=4096)
def scan_all(resolution: int, radius_m: float, max_disk_k: int) -> bool:
    """Whether a radius needs so many rings that scanning every carrier is cheaper (cached per radius)."""
    return disk_k_for_radius(resolution, radius_m) > max_disk_k


class Buckets:
    """The CSR buckets over ``rows``, their delta and the span pool (no locking: the index holds its lock)."""

    def __init__(self, rows: CarrierRows, params: MatcherParams) -> None:
        self.rows = rows
        self.params = params
        self.resolution = params.resolution
        # Buckets as CSR: (hash table of the bucket keys with their runs, entries), built lazily; rows
        # changed since are stale and listed in the delta (see matcher.kernels).
        self.csr: tuple[IntArray, FloatArray] | None = None
        self._pos_plain: IntArray = _EMPTY_ROWS  # per row: its entry in the CSR (every-vehicle key)
        self._pos_veh: IntArray = _EMPTY_ROWS  # per row: its entry under its vehicle key
        self._stale = np.zeros(rows.capacity, dtype=np.bool_)
        self._delta: IntArray = np.zeros(params.delta_max, dtype=np.int64)
        self.n_delta = 0
        # Covering cells of each (pickup cell, radius, vehicle code) with their bucket runs in the CSR,
        # pooled: key -> rows j0..j1 of the pool (see kernels.disk_spans); valid for one CSR build.
        self._spans: dict[tuple[int, float, int], tuple[int, int]] = {}
        self._pool: FloatArray = np.zeros((4096, SPAN_COLS))
        self._span_n = 0
        self._slack_m = circumradius_upper_bound_m(params.resolution)
        # Per pickup point seen (fixed points such as warehouses ask again and again), so a repeated
        # pickup costs one dict lookup; cleared with the span pool.
        self.pickups: dict[tuple[float, float, float, int], Pickup] = {}
        self.span_gen = 0  # bumped whenever the pool starts over (spans taken before are void)
        # The arrays as the kernels take them, replaced whenever an array is: the pool (grown), the CSR
        # with its delta (built, rows moved; None with ``csr``).
        self.spans_args = SpanPool(self._pool, self._slack_m)
        self.csr_args: CsrBuckets | None = None

    def fit(self, capacity: int) -> None:
        """Grow the per-row arrays to the rows' new capacity."""
        extra = capacity - len(self._stale)
        if extra <= 0:
            return
        self._stale = np.concatenate([self._stale, np.zeros(extra, dtype=np.bool_)])
        if len(self._pos_plain):
            self._pos_plain = np.concatenate([self._pos_plain, np.full(extra, -1, dtype=np.int64)])
            self._pos_veh = np.concatenate([self._pos_veh, np.full(extra, -1, dtype=np.int64)])

    # ------------------------------------------------------------------------------- CSR and delta
    def mark_moved(self, rows: IntArray) -> None:
        """Rows whose cell or vehicle changed (or that were removed): their CSR entries become stale and
        they join the delta list, which queries scan linearly; past ``params.delta_max`` the CSR is rebuilt
        lazily."""
        if self.csr is None or len(rows) == 0:
            return
        rows = rows[~self._stale[rows]]
        n = self.n_delta
        if n + len(rows) > self.params.delta_max:
            self.csr = self.csr_args = None
            return
        self._stale[rows] = True
        self._delta[n : n + len(rows)] = rows
        self.n_delta = n + len(rows)
        data = self.csr[1]
        self.csr_args = CsrBuckets(data, self._delta, self.n_delta)
        # Hide their CSR entries from the kernels (a fix time no cutoff accepts).
        for pos in (self._pos_plain[rows], self._pos_veh[rows]):
            data[pos[pos >= 0], TS_EFF] = -np.inf

    def ensure_csr(self) -> tuple[IntArray, FloatArray]:
        """The buckets as CSR: a hash table of the keys with each bucket's run, and a copy of the rows'
        columns (and row) in CSR order, so a query reads each bucket sequentially; rebuilt if dirty."""
        if self.csr is None:
            store = self.rows
            placed = np.flatnonzero(store.cell != 0).astype(np.int64)
            cells = store.cell[placed]
            codes = store.vcode[placed]
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
            cap = store.capacity
            self._pos_plain = np.full(cap, -1, dtype=np.int64)
            self._pos_veh = np.full(cap, -1, dtype=np.int64)
            self._pos_plain[placed] = where[:n_placed]
            self._pos_veh[placed] = where[n_placed:]
            data = np.ascontiguousarray(store.hot_rows[rows, :CSR_COLS])
            data[:, ROW] = rows
            self._stale = np.zeros(cap, dtype=np.bool_)
            self.n_delta = 0
            self.forget_spans()  # they point into the previous build
            self.csr = (kernels.build_table(ukeys, starts), data)
            self.csr_args = CsrBuckets(data, self._delta, 0)
        return self.csr

    def ensure_args(self) -> CsrBuckets:
        """The CSR and its delta as the kernels take them (built first if dirty)."""
        args = self.csr_args
        if args is None:
            self.ensure_csr()
            args = self.csr_args
            assert args is not None
        return args

    def sync(self, rows: IntArray) -> None:
        """Copy the filter/distance columns of ``rows`` (changed in the hot rows) into the CSR copy."""
        if self.csr is None or len(rows) == 0:
            return
        rows = rows[~self._stale[rows]]
        pos = self._pos_plain[rows]
        rows = rows[pos >= 0]
        if len(rows) == 0:
            return
        values = self.rows.hot_rows[rows, :CSR_COLS]
        values[:, ROW] = rows
        data = self.csr[1]
        data[self._pos_plain[rows]] = values
        data[self._pos_veh[rows]] = values

    # ------------------------------------------------------------------------------------ span pool
    def forget_spans(self) -> None:
        """Start the span pool (and the remembered pickups that point into it) over."""
        self._spans.clear()
        self.pickups.clear()
        self._span_n = 0
        self.span_gen += 1

    def pickup(self, lat: float, lng: float, radius_m: float, code: int) -> Pickup:
        """What a single query needs of its pickup point (see :attr:`pickups`), computed and remembered.
        Call after :meth:`ensure_csr`."""
        wide = scan_all(self.resolution, radius_m, self.params.max_disk_k)
        j0 = j1 = 0
        if not wide:
            j0, j1 = self.spans_of(h3_cy.latlng_to_cell(lat, lng, self.resolution), radius_m, code)
        phi = math.radians(lat)
        entry = Pickup(wide, j0, j1, phi, math.radians(lng), math.cos(phi))
        if len(self.pickups) >= self.params.pickups_max:
            self.pickups.clear()
        self.pickups[(lat, lng, radius_m, code)] = entry
        return entry

    def known_span(self, key: tuple[int, float, int]) -> tuple[int, int] | None:
        """The pooled span of (cell, radius, code), if pooled since the pool last started over."""
        return self._spans.get(key)

    def spans_of(self, cell: int, radius_m: float, code: int) -> tuple[int, int]:
        """Rows ``j0..j1`` of the span pool holding the covering cells of (cell, radius) that have a
        bucket for vehicle ``code``, with their bucket runs; computed on first use per CSR build. A query
        then reads its buckets' places sequentially instead of one hash-table cache miss per cell (the
        "precomputed disk" of a pickup point: warehouses ask again and again). Call after ``ensure_csr``."""
        key = (cell, radius_m, code)
        span = self._spans.get(key)
        if span is None:
            disk = cell_disk(cell, radius_m)
            n = self._span_n
            m = len(disk.cells)
            if n + m > self.params.span_pool_max:  # forget every span; the pool restarts empty
                self.forget_spans()
                n = 0
            pool = self._pool
            if n + m > len(pool):
                grown = np.zeros((max(4096, 2 * (n + m)), SPAN_COLS))
                grown[:n] = pool[:n]
                pool = self._pool = grown
                self.spans_args = SpanPool(pool, self._slack_m)
            table = self.ensure_csr()[0]
            end = kernels.disk_spans(disk, table, code, pool, n)
            self._span_n = end
            span = (n, end)
            self._spans[key] = span
        return span


__all__ = ["Buckets", "scan_all"]
