"""The live carrier index: H3 buckets over NumPy columns, answering "who can take this job?" in microseconds.

:class:`CarrierIndex` is the public face; each of its parts is a module with one job:

- :mod:`matcher.storage`: one row per carrier, its columns (layout in :mod:`matcher.layout`) and the
  rows' allocation;
- :mod:`matcher.buckets`: the H3 buckets as CSR over the rows, the delta of moved rows, and the pool of
  covering cells per pickup ("spans");
- :mod:`matcher.coverage`: carriers' fences as deduplicated groups with H3 covers, and the drop-offs'
  verdicts;
- :mod:`matcher.scheduling`: output slots and thread count of batches;
- :mod:`matcher.kernels`: the compiled inner loops, called through their typed boundary
  (:mod:`matcher.kernel_types`);
- :mod:`matcher.answers`: batch answers as columns, query validation, exact re-ordering.

Query
    The pickup's cell and :func:`geo.h3_radius.cell_disk` give the cells that provably hold every point
    within the radius (pentagons and distortion included; see that module). One compiled kernel walks
    those buckets and the delta, filters by fix age / active / capacity / vehicle / coverage before any
    trigonometry, computes the haversine distance, and selects the top ``limit``. Exact distances of the
    few selected carriers come from NumPy's ``arcsin`` like the brute-force oracle's, so answers agree to
    the last bit (see :mod:`matcher.kernels`). ``match_many`` runs the same kernels over a whole batch in
    one call, on several threads when that pays. Every speed/memory trade-off is a field of
    :class:`matcher.params.MatcherParams`; none changes an answer.

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
from dataclasses import replace
from typing import TYPE_CHECKING

import h3._cy as h3_cy
import numpy as np
import numpy.typing as npt

from foundation.errors import InvalidInput
from geo.distance import EARTH_RADIUS_M, haversine_m, haversine_rad_m
from matcher import kernels
from matcher.answers import BatchMatches, exact_order, validate_query, within
from matcher.buckets import Buckets, scan_all
from matcher.coverage import ALL_OK, CoverageGroups
from matcher.explain import FleetColumns, MatchExplanation, explain_match
from matcher.kernel_types import BatchQueries, FloatArray, IntArray, OneQuery, QueryOutputs
from matcher.layout import BASE, COSPHI, COVG, KG, LMB, M3, PHI, RATE, STATIC, TS_EFF, VEH
from matcher.model import Candidate, CarrierProfile, MatchQuery, ScoreWeights
from matcher.params import DEFAULT_MATCHER_PARAMS, MatcherParams
from matcher.scheduling import BatchScheduler
from matcher.storage import CarrierRows

if TYPE_CHECKING:
    from matcher.model import BatchResult

# The defaults of the tuning knobs (see matcher.params; an index reads its own ``params``).
DEFAULT_RESOLUTION = DEFAULT_MATCHER_PARAMS.resolution
MAX_DISK_K = DEFAULT_MATCHER_PARAMS.max_disk_k
PARALLEL_MIN_QUERIES = DEFAULT_MATCHER_PARAMS.parallel_min_queries
SLOT_LIMIT = DEFAULT_MATCHER_PARAMS.slot_limit
DELTA_MAX = DEFAULT_MATCHER_PARAMS.delta_max

TWO_R = 2.0 * EARTH_RADIUS_M
_new_tuple = tuple.__new__


class CarrierIndex:
    """In-memory index of carriers and their latest positions; see the module docstring."""

    def __init__(
        self,
        weights: ScoreWeights | None = None,
        max_position_age_s: float = 900.0,
        *,
        resolution: int | None = None,
        initial_capacity: int = 1024,
        parallel: bool | None = None,
        params: MatcherParams = DEFAULT_MATCHER_PARAMS,
    ) -> None:
        """``params`` tunes speed against memory (never the answers); ``resolution``, when given, overrides
        ``params.resolution``. ``parallel``: batches on several threads when faster (None), always (True)
        or never (False)."""
        if resolution is not None and resolution != params.resolution:
            params = replace(params, resolution=resolution)
        self.params = params
        # Kernels compile (or load from numba's disk cache) on the first query, or earlier through
        # warm_up() (the service calls it from a background thread so that it answers while they compile).
        self._warm = False
        self._warm_lock = threading.Lock()
        self._exact_a = False
        self._finish = False
        self.weights = weights or ScoreWeights()
        self.max_position_age_s = float(max_position_age_s)
        self.resolution = params.resolution
        self._lock = threading.RLock()
        self._rows = CarrierRows(initial_capacity)
        self._buckets = Buckets(self._rows, params)
        self._coverage = CoverageGroups(params)
        self._scheduler = BatchScheduler(parallel, params)
        self._bufs = QueryOutputs.of_size(params.scratch_slots)

    @property
    def parallel(self) -> bool | None:
        """Batches on several threads: when faster (None), always (True) or never (False)."""
        return self._scheduler.parallel

    @parallel.setter
    def parallel(self, value: bool | None) -> None:
        self._scheduler.parallel = value

    # The buckets' state, read by tests that hold the layout to its promises.
    @property
    def _csr(self) -> tuple[IntArray, FloatArray] | None:
        return self._buckets.csr

    @property
    def _n_delta(self) -> int:
        return self._buckets.n_delta

    @property
    def _span_gen(self) -> int:
        return self._buckets.span_gen

    @property
    def _ids(self) -> list[str | None]:
        return self._rows.ids

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

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)

    # -------------------------------------------------------------------------------- master data
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
            store = self._rows
            row, new = store.take_row(profile.carrier_id)
            if new:
                self._buckets.fit(store.capacity)
            elif store.profiles[row] is not None:
                self._coverage.release(int(store.hot[COVG, row]))
            store.profiles[row] = profile
            store.active[row] = profile.active
            hot = store.hot
            hot[KG, row] = profile.capacity_kg
            hot[M3, row] = profile.capacity_m3
            code = store.vehicle_code(profile.vehicle_type, self.resolution)
            hot[VEH, row] = code
            old_code = int(store.vcode[row])
            store.vcode[row] = code
            cell = int(store.cell[row])
            if cell and old_code != code:
                self._buckets.mark_moved(np.array([row], dtype=np.int64))
            hot[COVG, row] = self._coverage.group_for(profile)
            hot[STATIC, row] = self._static_score(profile)
            hot[RATE, row] = profile.rate_per_km
            hot[BASE, row] = profile.base_fare
            hot[TS_EFF, row] = store.ts[row] if profile.active and store.cell[row] != 0 else -np.inf
            self._buckets.sync(np.array([row], dtype=np.int64))

    def remove_carrier(self, carrier_id: str) -> bool:
        """Forget a carrier (profile and position); answers whether it was known."""
        with self._lock:
            store = self._rows
            row = store.row.pop(carrier_id, None)
            if row is None:
                return False
            self._coverage.release(int(store.hot[COVG, row]))
            if int(store.cell[row]):
                self._buckets.mark_moved(np.array([row], dtype=np.int64))
            store.free_row(row)
            return True

    def profile_of(self, carrier_id: str) -> CarrierProfile | None:
        """The master data the index holds for a carrier."""
        with self._lock:
            row = self._rows.row.get(carrier_id)
            return None if row is None else self._rows.profiles[row]

    def carrier_ids(self) -> list[str]:
        """Ids of all carriers in the index."""
        with self._lock:
            return list(self._rows.row)

    # ----------------------------------------------------------------------------------- positions
    def position_of(self, carrier_id: str) -> tuple[float, float, float] | None:
        """Latest accepted fix of a carrier as (lat, lng, ts_s), or None."""
        with self._lock:
            store = self._rows
            row = store.row.get(carrier_id)
            if row is None or store.cell[row] == 0:
                return None
            return float(store.lat[row]), float(store.lng[row]), float(store.ts[row])

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
            store = self._rows
            get = store.row.get
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
            newer = ts_a > store.ts[rows]
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
            old_cells = store.cell[rows]
            store.lat[rows] = lat_a
            store.lng[rows] = lng_a
            store.ts[rows] = ts_a
            phi = np.radians(lat_a)
            hot = store.hot
            hot[PHI, rows] = phi
            hot[LMB, rows] = np.radians(lng_a)
            hot[COSPHI, rows] = np.cos(phi)
            hot[TS_EFF, rows] = np.where(store.active[rows], ts_a, -np.inf)
            store.cell[rows] = new_cells
            moved = old_cells != new_cells
            self._buckets.mark_moved(rows[moved])
            self._buckets.sync(rows[~moved])
            return accepted

    # --------------------------------------------------------------------------------------- query
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
            code = self._rows.vehicle_codes.get(vehicle, -1)
            if code < 0:
                return [], [], [], False
        buckets = self._buckets
        csr_args = buckets.csr_args
        if csr_args is None:
            csr_args = buckets.ensure_args()
        plat = query.pickup_lat
        plng = query.pickup_lng
        dlat = query.dropoff_lat
        dlng = query.dropoff_lng
        radius = query.radius_m
        entry = buckets.pickups.get((plat, plng, radius, code))
        if entry is None:
            entry = buckets.pickup(plat, plng, radius, code)
        by_dist = query.rank_by == "distance"
        w = self.weights
        wd1000 = w.distance_per_km / 1000.0
        trip_km = haversine_m(plat, plng, dlat, dlng) / 1000.0
        # With fenced carriers around, the kernel needs the drop-off's verdict per coverage group.
        coverage = self._coverage
        use_ok = coverage.n_covered > 0
        ok = coverage.dropoffs.get((dlat, dlng)) if use_ok else ALL_OK
        if ok is None:
            ok = coverage.verdicts(dlat, dlng)
        bufs = self._bufs
        finish = self._finish
        # OneQuery(...) without the Python frame of its generated __new__ (a fifth of the boundary's cost).
        args = _new_tuple(OneQuery, (
            radius, cutoff, query.weight_kg, query.volume_m3, code, by_dist, wd1000, w.price, trip_km, limit, ok,
            use_ok, finish,
        ))  # fmt: skip
        while True:
            n, m, flags = kernels.match_one(buckets.spans_args, csr_args, self._rows.args, entry, args, bufs)
            if n >= 0:
                break
            bufs = self._bufs = QueryOutputs.of_size(len(bufs.rows) * 4)  # the scratch buffers were too small
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
                hot = self._rows.hot
                dists = haversine_rad_m(
                    entry.phi, entry.lmb, entry.cos_phi, hot[PHI].take(sel), hot[LMB].take(sel), hot[COSPHI].take(sel)
                ).tolist()
                flags |= kernels.FLAG_EXACT
            p_l = out_p[:m].tolist()
            s_l = out_s[:m].tolist()
            scores = [wd1000 * d + p + s for d, p, s in zip(dists, p_l, s_l, strict=False)]
        if flags & kernels.FLAG_EXACT:
            return (*within(radius, row_l, dists, scores), True)
        return row_l, dists, scores, False

    def _candidates(
        self, query: MatchQuery, row_l: list[int], dists: list[float], scores: list[float], exact: bool
    ) -> list[Candidate]:
        ids = self._ids
        order = exact_order(query, ids, row_l, dists, scores) if exact else range(len(row_l))
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

    def match_many_arrays(self, queries: Sequence[MatchQuery], now_s: float | None = None) -> BatchMatches:
        """Answer many queries at once as columns (see :class:`BatchMatches`): what a batch consumer needs,
        without one Python object per candidate. Same answers as ``match`` (ids, distances, scores).

        Python touches each query only to read its fields, find its H3 cell and its (pooled) disk;
        validation, trip lengths, coverage verdicts (per fence, for all queries at once), gather,
        filters, distances and top-k selection run vectorised or in one compiled call (several threads
        for big batches, see ``params.parallel_min_queries``).
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
        params = self.params
        if any(scan_all(res, r, params.max_disk_k) for r in set(radius_l)):
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
        scheduler = self._scheduler
        slot = scheduler.output_slots(limit)
        with self._lock:
            buckets = self._buckets
            coverage = self._coverage
            vcodes = self._rows.vehicle_codes
            code_l = [0 if k[1] is None else vcodes.get(k[1], -1) for k in kinds]
            code = np.array(code_l, dtype=np.int64)
            csr_args = buckets.ensure_args()
            for _ in range(2):  # once more if the pool started over while this batch filled it
                gen = buckets.span_gen
                span = buckets.spans_of
                known = buckets.known_span
                spans = np.array(
                    [
                        (0, 0) if c < 0 else known((cell, r, c)) or span(cell, r, c)
                        for cell, r, c in zip(cells, radius_l, code_l, strict=True)
                    ],
                    dtype=np.int64,
                ).reshape(n_q, 2)
                if buckets.span_gen == gen:
                    break
            else:  # this batch alone needs more than the whole pool: answer it query by query
                return self._arrays_from_loop(queries, now_s)
            # Work in H3 order: neighbouring pickups read the same buckets while they are still in cache.
            order = np.argsort(np.array(cells, dtype=np.int64), kind="stable")
            if coverage.n_covered > 0:
                table = coverage.table(dlat, dlng)
                use_ok = np.ones(n_q, dtype=np.bool_)
            else:
                table = np.ones((n_q, 1), dtype=bool)
                use_ok = np.zeros(n_q, dtype=np.bool_)
            batch_queries = BatchQueries(
                order, np.ascontiguousarray(spans[:, 0]), np.ascontiguousarray(spans[:, 1]), lat, lng, radius,
                cutoff, kg, m3, code, by_dist, wd1000, w.price, trip_km, limit, table, use_ok, slot,
            )  # fmt: skip
            threads = scheduler.threads(n_q)
            t0 = time.perf_counter()
            offsets, sel_rows, sel_a, sel_p, sel_s, flags = kernels.run_batch(
                buckets.spans_args, csr_args, self._rows.args, batch_queries, threads=threads,
                chunks=params.chunks_per_thread,
            )  # fmt: skip
            if scheduler.timed(n_q):
                scheduler.record(threads > 1, (time.perf_counter() - t0) / n_q)
            # Exact distances (NumPy's arcsin, as the oracle) and scores of every kept candidate.
            if self._exact_a:
                dist = TWO_R * np.arcsin(sel_a)
            else:  # pragma: no cover - only where compiled sin differs from NumPy's
                qs = np.repeat(np.arange(n_q), np.diff(offsets))
                q_phi = np.radians(lat)
                hot = self._rows.hot
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
                    row_l, dists, scores = within(q.radius_m, row_l, dists, scores)
            order = exact_order(q, ids, row_l, dists, scores) if exact else range(len(row_l))
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
            rows = [self._rows.row[c.carrier_id] for a in answers for c in a]
        offsets = np.zeros(len(queries) + 1, dtype=np.int64)
        np.cumsum([len(a) for a in answers], out=offsets[1:])
        return BatchMatches(
            offsets,
            np.array(rows, dtype=np.int64),
            np.array([c.distance_m for a in answers for c in a], dtype=np.float64),
            np.array([c.score for a in answers for c in a], dtype=np.float64),
            self._ids,
        )

    def _explain(self, query: MatchQuery, row: int, distance_m: float) -> dict[str, float]:
        profile = self._rows.profiles[row]
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

    def explain(
        self, query: MatchQuery, now_s: float | None = None, nearest_answer_m: float | None = None
    ) -> MatchExplanation:
        """Why carriers are not eligible for ``query``: counts per reason (see :mod:`matcher.explain`).

        A scan of every carrier (not the indexed path): for empty answers and explicit requests only."""
        validate_query(query)
        now = time.time() if now_s is None else now_s
        with self._lock:
            store = self._rows
            ids = list(store.row)
            rows = np.fromiter(store.row.values(), dtype=np.int64, count=len(ids))
            positioned = store.cell[rows] != 0
            code = 0 if query.vehicle_type is None else store.vehicle_codes.get(query.vehicle_type, -1)
            groups = store.hot[COVG, rows].astype(np.int64)
            verdicts = (
                self._coverage.coverage_ok(query.dropoff_lat, query.dropoff_lng) if self._coverage.covers else ALL_OK
            )
            fleet = FleetColumns(
                ids=ids,
                active=store.active[rows].copy(),
                lat=np.where(positioned, store.lat[rows], np.nan),
                lng=np.where(positioned, store.lng[rows], np.nan),
                ts_s=store.ts[rows].copy(),
                capacity_kg=store.hot[KG, rows].copy(),
                capacity_m3=store.hot[M3, rows].copy(),
                vehicle_ok=np.ones(len(ids), dtype=bool) if code == 0 else store.vcode[rows] == code,
                coverage_ok=np.where(groups >= 0, verdicts[np.maximum(groups, -1) + 1], True),
            )
        return explain_match(fleet, query, now, self.max_position_age_s, nearest_answer_m)

    def nearest_distance_any_age(self, query: MatchQuery) -> float | None:
        """Distance to the pickup of the nearest carrier eligible for ``query`` if fixes never aged (None:
        nobody): one more indexed query, so an answer can tell cheaply whether a nearer carrier was stale."""
        validate_query(query)
        probe = replace(query, rank_by="distance", limit=1, explain=False)
        with self._lock:
            _, dists, _, _ = self._run_one(probe, -sys.float_info.max, 1)
        return min(dists, default=None)

    def knows_vehicle_type(self, vehicle_type: str) -> bool:
        """Whether any carrier has (or had) this vehicle type: the cheap check before :meth:`vehicle_types`."""
        with self._lock:
            return vehicle_type in self._rows.vehicle_codes

    def vehicle_types(self) -> list[str]:
        """The vehicle types of the carriers in the index, sorted."""
        with self._lock:
            return sorted({p.vehicle_type for p in self._rows.profiles if p is not None})

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
