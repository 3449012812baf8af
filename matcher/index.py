"""The live carrier index: H3 buckets over NumPy columns, answering "who can take this job?" in microseconds.

Layout
    One row per carrier. Hot columns sit in one column-major float64 matrix (``_hot``, one contiguous
    row per attribute): latitude/longitude in radians, cos(latitude), effective fix time (``-inf`` when
    inactive or without a position), capacities, vehicle code, coverage group, and the query-independent
    part of the score. Rows are bucketed by their H3 cell at ``resolution`` (``dict key -> int64 array of
    rows``), twice: under the cell id itself (every vehicle) and under ``cell ^ vehicle_code``, so a query
    for one vehicle type reads only that type's carriers. The XOR only touches the low bits that H3
    sets to 7 for the unused digits of a cell at ``resolution`` (3 bits per digit past it), so the two
    kinds of keys never collide. Bucket arrays are replaced, never mutated, on updates.

Query
    The pickup's cell and :func:`geo.h3_radius.covering_cells` give the cells that provably hold every
    point within the radius (pentagons and distortion included; see that module). Candidate rows are
    concatenated, filtered by fix age / active / capacity / vehicle *before* any trigonometry, then by
    exact haversine distance (``<= radius_m``), then by coverage: coverages are deduplicated into groups,
    each with an H3 cover (:mod:`geofences.cover`); the dropoff's cell answers "interior" groups outright
    and only "boundary" groups need an exact polygon test, once per query rather than once per carrier.

Concurrency
    One writer and many readers: every public method takes one lock, so a reader never sees a half-applied
    batch. (NumPy releases the GIL rarely at these sizes; a lock costs ~0.1 us.)
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import h3.api.basic_int as h3i
import numpy as np
import numpy.typing as npt
import shapely

from geo.distance import haversine_m, haversine_rad_m, haversine_rad_m_pairs
from geo.errors import InvalidInput
from geo.h3_radius import cell_disk, disk_k_for_radius
from geofences.cover import Cover, cached_cover
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

# Columns of the hot matrix.
PHI, LMB, COSPHI, TS_EFF, KG, M3, VEH, COVG, STATIC, RATE, BASE = range(11)
_N_HOT = 11

_EMPTY_ROWS: IntArray = np.zeros(0, dtype=np.int64)


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
    ) -> None:
        self.weights = weights or ScoreWeights()
        self.max_position_age_s = float(max_position_age_s)
        self.resolution = resolution
        self._lock = threading.RLock()
        cap = max(16, initial_capacity)
        self._hot: FloatArray = np.zeros((_N_HOT, cap), dtype=np.float64)
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
        self._buckets: dict[int, IntArray] = {}
        # The buckets flattened (sorted keys, starts, lengths, rows) for match_many; rebuilt when dirty.
        self._flat: tuple[IntArray, IntArray, IntArray, IntArray] | None = None
        self._rank: IntArray | None = None
        self._vehicle_codes: dict[str, int] = {}
        # Coverage groups: identical polygons share one cover and one group id.
        self._group_of_wkb: dict[bytes, int] = {}
        self._covers: list[Cover] = []
        self._group_refs: list[int] = []
        self._cover_interior: dict[int, dict[int, list[int]]] = {}
        self._cover_boundary: dict[int, dict[int, list[int]]] = {}
        self._cover_arr: dict[int, tuple[IntArray, IntArray]] = {}

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
        hot = np.zeros((_N_HOT, new_cap), dtype=np.float64)
        hot[:, :cap] = self._hot
        hot[TS_EFF, cap:] = -np.inf
        self._hot = hot
        self._lat = np.concatenate([self._lat, np.full(extra, np.nan)])
        self._lng = np.concatenate([self._lng, np.full(extra, np.nan)])
        self._ts = np.concatenate([self._ts, np.full(extra, -np.inf)])
        self._active = np.concatenate([self._active, np.zeros(extra, dtype=bool)])
        self._cell = np.concatenate([self._cell, np.zeros(extra, dtype=np.int64)])
        self._vcode = np.concatenate([self._vcode, np.zeros(extra, dtype=np.int64)])
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
        self._group_refs[group] += 1
        return group

    def _release_group(self, group: int) -> None:
        if group >= 0:
            self._group_refs[group] -= 1

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
                self._rank = None
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
                one = np.array([row], dtype=np.int64)
                self._bucket_remove(cell ^ old_code, one)
                self._bucket_add(cell ^ code, one)
            hot[COVG, row] = self._group_for(profile)
            hot[STATIC, row] = self._static_score(profile)
            hot[RATE, row] = profile.rate_per_km
            hot[BASE, row] = profile.base_fare
            hot[TS_EFF, row] = self._ts[row] if profile.active and self._cell[row] != 0 else -np.inf

    def remove_carrier(self, carrier_id: str) -> bool:
        """Forget a carrier (profile and position); answers whether it was known."""
        with self._lock:
            row = self._row.pop(carrier_id, None)
            if row is None:
                return False
            self._release_group(int(self._hot[COVG, row]))
            cell = int(self._cell[row])
            if cell:
                one = np.array([row], dtype=np.int64)
                self._bucket_remove(cell, one)
                self._bucket_remove(cell ^ int(self._vcode[row]), one)
            self._vcode[row] = 0
            self._hot[:, row] = 0.0
            self._hot[TS_EFF, row] = -np.inf
            self._lat[row] = self._lng[row] = np.nan
            self._ts[row] = -np.inf
            self._active[row] = False
            self._cell[row] = 0
            self._ids[row] = None
            self._profiles[row] = None
            self._rank = None
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

    def _bucket_remove(self, cell: int, rows: IntArray) -> None:
        self._flat = None
        current = self._buckets.get(cell)
        if current is None:
            return
        kept = current[~np.isin(current, rows)] if len(rows) > 1 else current[current != rows[0]]
        if len(kept):
            self._buckets[cell] = kept
        else:
            del self._buckets[cell]

    def _bucket_add(self, cell: int, rows: IntArray) -> None:
        self._flat = None
        current = self._buckets.get(cell)
        self._buckets[cell] = rows.copy() if current is None else np.concatenate([current, rows])

    def _flat_buckets(self) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """The buckets as sorted keys + (start, length) into one rows array, for vectorised lookups."""
        if self._flat is None:
            keys = np.fromiter(self._buckets.keys(), dtype=np.int64, count=len(self._buckets))
            values = list(self._buckets.values())
            order = np.argsort(keys)
            lens = np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values))[order]
            rows = np.concatenate([values[i] for i in order.tolist()]) if values else _EMPTY_ROWS
            self._flat = (keys[order], np.cumsum(lens) - lens, lens, rows)
        return self._flat

    def _rebuild_buckets(self) -> None:
        self._flat = None
        rows = np.flatnonzero(self._cell != 0).astype(np.int64)
        if len(rows) == 0:
            self._buckets = {}
            return
        cells = self._cell[rows]
        cells = np.concatenate([cells, cells ^ self._vcode[rows]])
        rows = np.concatenate([rows, rows])
        order = np.argsort(cells, kind="stable")
        rows = rows[order]
        cells = cells[order]
        starts = np.flatnonzero(np.concatenate([[True], cells[1:] != cells[:-1]]))
        groups = np.split(rows, starts[1:])
        self._buckets = dict(zip(cells[starts].tolist(), groups, strict=True))

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
            to_cell = h3i.latlng_to_cell
            res = self.resolution
            new_cells = np.fromiter(
                (to_cell(la, ln, res) for la, ln in zip(lat_a.tolist(), lng_a.tolist(), strict=True)),
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
            moved = np.flatnonzero(old_cells != new_cells)
            if len(moved) > max(2048, len(self._row) // 20):
                self._rebuild_buckets()
            elif len(moved):
                self._move_rows(rows[moved], old_cells[moved], new_cells[moved])
            return accepted

    def _move_rows(self, rows: IntArray, old_cells: IntArray, new_cells: IntArray) -> None:
        codes = self._vcode[rows]
        placed = old_cells != 0
        old_cells = np.concatenate([old_cells, np.where(placed, old_cells ^ codes, 0)])
        new_cells = np.concatenate([new_cells, new_cells ^ codes])
        rows = np.concatenate([rows, rows])
        order = np.argsort(old_cells, kind="stable")
        self._apply_grouped(rows[order], old_cells[order], self._bucket_remove, skip_zero=True)
        order = np.argsort(new_cells, kind="stable")
        self._apply_grouped(rows[order], new_cells[order], self._bucket_add, skip_zero=False)

    @staticmethod
    def _apply_grouped(rows: IntArray, cells: IntArray, action: object, *, skip_zero: bool) -> None:
        starts = np.flatnonzero(np.concatenate([[True], cells[1:] != cells[:-1]]))
        ends = np.append(starts[1:], len(cells))
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            cell = int(cells[start])
            if skip_zero and cell == 0:
                continue
            action(cell, rows[start:end])  # type: ignore[operator]

    # --------------------------------------------------------------------------------------- query
    def _coverage_ok(self, lat: float, lng: float) -> npt.NDArray[np.bool_]:
        """Per coverage group (shifted by one; index 0 = "no coverage"), whether it holds (lat, lng)."""
        ok = np.zeros(len(self._covers) + 1, dtype=bool)
        ok[0] = True
        for res, interior in self._cover_interior.items():
            cell = h3i.latlng_to_cell(lat, lng, res)
            for group in interior.get(cell, ()):
                ok[group + 1] = True
            for group in self._cover_boundary[res].get(cell, ()):
                if not ok[group + 1] and self._covers[group].contains_in_cell(lat, lng, cell):
                    ok[group + 1] = True
        return ok

    def _coverage_table(self, queries: Sequence[MatchQuery], need: IntArray) -> npt.NDArray[np.bool_]:
        """Per query (rows ``need``) and coverage group, whether the dropoff is covered; vectorised per group.

        Same decision as :meth:`_coverage_ok`: interior cell -> yes, boundary cell -> exact ``covers``.
        """
        table = np.ones((len(queries), len(self._covers) + 1), dtype=bool)
        lat = np.array([queries[i].dropoff_lat for i in need.tolist()])
        lng = np.array([queries[i].dropoff_lng for i in need.tolist()])
        cells_by_res: dict[int, IntArray] = {}
        points = None
        for group, cover in enumerate(self._covers):
            if self._group_refs[group] <= 0:
                continue
            cells = cells_by_res.get(cover.res)
            if cells is None:
                to_cell = h3i.latlng_to_cell
                res = cover.res
                cells = np.fromiter(
                    (to_cell(a, b, res) for a, b in zip(lat.tolist(), lng.tolist(), strict=True)),
                    dtype=np.int64,
                    count=len(lat),
                )
                cells_by_res[cover.res] = cells
            interior, boundary = self._cover_arrays(group)
            inside = np.isin(cells, interior)
            edge = np.flatnonzero(np.isin(cells, boundary))
            if len(edge):
                if points is None:
                    points = shapely.points(lng, lat)
                inside[edge] = shapely.covers(cover.geometry, points[edge])
            table[need, group + 1] = inside
        return table

    def _cover_arrays(self, group: int) -> tuple[IntArray, IntArray]:
        arrays = self._cover_arr.get(group)
        if arrays is None:
            cover = self._covers[group]
            arrays = (
                np.fromiter(cover.interior, dtype=np.int64, count=len(cover.interior)),
                np.fromiter(cover.boundary, dtype=np.int64, count=len(cover.boundary)),
            )
            self._cover_arr[group] = arrays
        return arrays

    def _cutoff(self, now_s: float) -> float:
        """Oldest acceptable fix time; always finite, so inactive carriers (``-inf``) never pass."""
        cutoff = now_s - self.max_position_age_s
        return cutoff if math.isfinite(cutoff) else -sys.float_info.max

    def _eligible(self, query: MatchQuery, cutoff: float) -> tuple[IntArray, FloatArray, FloatArray]:
        """Rows eligible for the query, their pickup distances and their hot columns (caller holds the lock)."""
        code = 0
        if query.vehicle_type is not None:
            code = self._vehicle_codes.get(query.vehicle_type, -1)
            if code < 0:
                return _EMPTY_ROWS, np.zeros(0), np.zeros((_N_HOT, 0))
        plat, plng = query.pickup_lat, query.pickup_lng
        if disk_k_for_radius(self.resolution, query.radius_m) > MAX_DISK_K:
            # A radius of hundreds of km: scanning every carrier beats walking thousands of cells.
            idx = np.flatnonzero(self._cell != 0).astype(np.int64)
            if code:
                idx = idx[self._vcode.take(idx) == code]
        else:
            cell = h3i.latlng_to_cell(plat, plng, self.resolution)
            buckets = self._buckets
            near = cell_disk(cell, query.radius_m).cells_near(plat, plng, query.radius_m)
            # code 0 = every vehicle; otherwise the bucket of that vehicle type only (see the module docstring).
            parts = [b for c in near if (b := buckets.get(c ^ code)) is not None]
            if not parts:
                return _EMPTY_ROWS, np.zeros(0), np.zeros((_N_HOT, 0))
            idx = np.concatenate(parts) if len(parts) > 1 else parts[0]
        hot = self._hot
        # Cheap attribute filters first, on one contiguous column at a time; trigonometry only on survivors.
        mask = hot[TS_EFF].take(idx) >= cutoff
        mask &= hot[KG].take(idx) >= query.weight_kg
        mask &= hot[M3].take(idx) >= query.volume_m3
        idx = idx[mask]
        phi = math.radians(plat)
        dist = haversine_rad_m(
            phi, math.radians(plng), math.cos(phi), hot[PHI].take(idx), hot[LMB].take(idx), hot[COSPHI].take(idx)
        )
        within = dist <= query.radius_m
        idx, dist = idx[within], dist[within]
        if len(idx) and self._covers:
            groups = hot[COVG].take(idx).astype(np.int64)
            if groups.max() >= 0:
                covered = self._coverage_ok(query.dropoff_lat, query.dropoff_lng)[groups + 1]
                idx, dist = idx[covered], dist[covered]
        return idx, dist, hot.take(idx, axis=1)

    def _scores(self, query: MatchQuery, sub: FloatArray, dist: FloatArray) -> FloatArray:
        w = self.weights
        trip_km = haversine_m(query.pickup_lat, query.pickup_lng, query.dropoff_lat, query.dropoff_lng) / 1000.0
        return np.asarray(
            (w.distance_per_km / 1000.0) * dist + w.price * (sub[BASE] + sub[RATE] * trip_km) + sub[STATIC],
            dtype=np.float64,
        )

    def match(self, query: MatchQuery, now_s: float | None = None) -> list[Candidate]:
        """Eligible carriers for the query, best first (by score, or by distance with rank_by="distance")."""
        validate_query(query)
        now = time.time() if now_s is None else now_s
        with self._lock:
            idx, dist, sub = self._eligible(query, self._cutoff(now))
            n = len(idx)
            if n == 0:
                return []
            score = self._scores(query, sub, dist)
            key = dist if query.rank_by == "distance" else score
            limit = query.limit
            top = np.argpartition(key, limit - 1)[:limit] if n > limit else np.arange(n)
            ids = self._ids
            order = sorted(top.tolist(), key=lambda i: (key[i], ids[idx[i]]))
            if not query.explain:
                return [Candidate(str(ids[idx[i]]), float(dist[i]), float(score[i]), None) for i in order]
            return [
                Candidate(str(ids[idx[i]]), float(dist[i]), float(score[i]), self._explain(query, int(idx[i]), dist[i]))
                for i in order
            ]

    def match_many(self, queries: Sequence[MatchQuery], now_s: float | None = None) -> list[list[Candidate]]:
        """Answer many queries in one vectorised pass: the same answers as ``[match(q) for q in queries]``.

        Per query only the bucket lookups run in Python; pruning, filters, distances, coverage, scores and
        ranking run once over the candidates of all queries together (each tagged with its query number).
        """
        n_q = len(queries)
        if n_q == 0:
            return []
        for query in queries:
            validate_query(query)
        if any(disk_k_for_radius(self.resolution, q.radius_m) > MAX_DISK_K for q in queries):
            return [self.match(q, now_s=now_s) for q in queries]
        now = time.time() if now_s is None else now_s
        cutoff = self._cutoff(now)
        q_radius = np.array([q.radius_m for q in queries])
        # math (not NumPy) for the query side, exactly as the single-query path: identical distances.
        q_phi = np.array([math.radians(q.pickup_lat) for q in queries])
        q_lmb = np.array([math.radians(q.pickup_lng) for q in queries])
        q_cos = np.array([math.cos(phi) for phi in q_phi.tolist()])
        with self._lock:
            codes = np.zeros(n_q, dtype=np.int64)
            for i, q in enumerate(queries):
                if q.vehicle_type is not None:
                    codes[i] = self._vehicle_codes.get(q.vehicle_type, -1)
            res = self.resolution
            to_cell = h3i.latlng_to_cell
            disks = [cell_disk(to_cell(q.pickup_lat, q.pickup_lng, res), q.radius_m) for q in queries]
            lens = np.fromiter((len(d.cells) for d in disks), dtype=np.int64, count=n_q)
            cell_q = np.repeat(np.arange(n_q), lens)
            cells = np.concatenate([d.cells for d in disks])
            near_mask = haversine_rad_m_pairs(
                q_phi[cell_q],
                q_lmb[cell_q],
                q_cos[cell_q],
                np.concatenate([d.phi for d in disks]),
                np.concatenate([d.lmb for d in disks]),
                np.concatenate([d.cos_phi for d in disks]),
            ) <= (q_radius[cell_q] + disks[0].slack_m)
            near = np.flatnonzero(near_mask)
            cell_code = codes.take(cell_q[near])
            if (cell_code < 0).any():  # unknown vehicle type: nobody can serve those queries
                known = cell_code >= 0
                near = near[known]
                cell_code = cell_code[known]
            # Bucket lookups for every (query, cell) pair at once: binary search in the flattened buckets.
            keys = cells[near] ^ cell_code
            pair_q = cell_q[near]
            out: list[list[Candidate]] = [[] for _ in range(n_q)]
            flat_keys, flat_starts, flat_lens, flat_rows = self._flat_buckets()
            if len(flat_keys) == 0 or len(keys) == 0:
                return out
            pos = np.minimum(np.searchsorted(flat_keys, keys), len(flat_keys) - 1)
            hit = flat_keys[pos] == keys
            pos, pair_q = pos[hit], pair_q[hit]
            lens_hit = flat_lens[pos]
            total = int(lens_hit.sum())
            if total == 0:
                return out
            shift = np.repeat(flat_starts[pos] - (np.cumsum(lens_hit) - lens_hit), lens_hit)
            idx = flat_rows[shift + np.arange(total)]
            qid = np.repeat(pair_q, lens_hit)
            hot = self._hot
            mask = hot[TS_EFF].take(idx) >= cutoff
            mask &= hot[KG].take(idx) >= np.array([q.weight_kg for q in queries]).take(qid)
            mask &= hot[M3].take(idx) >= np.array([q.volume_m3 for q in queries]).take(qid)
            idx, qid = idx[mask], qid[mask]
            dist = haversine_rad_m_pairs(
                q_phi.take(qid),
                q_lmb.take(qid),
                q_cos.take(qid),
                hot[PHI].take(idx),
                hot[LMB].take(idx),
                hot[COSPHI].take(idx),
            )
            within = dist <= q_radius.take(qid)
            idx, qid, dist = idx[within], qid[within], dist[within]
            if len(idx) and self._covers:
                groups = hot[COVG].take(idx).astype(np.int64)
                has = groups >= 0
                if has.any():
                    need = np.unique(qid[has])
                    if len(self._covers) <= VECTOR_COVER_GROUPS:
                        table = self._coverage_table(queries, need)
                    else:
                        table = np.ones((n_q, len(self._covers) + 1), dtype=bool)
                        for qi in need.tolist():
                            q = queries[qi]
                            table[qi] = self._coverage_ok(q.dropoff_lat, q.dropoff_lng)
                    covered = table[qid, groups + 1]
                    idx, qid, dist = idx[covered], qid[covered], dist[covered]
            if len(idx) == 0:
                return out
            w = self.weights
            trip_km = np.array(
                [haversine_m(q.pickup_lat, q.pickup_lng, q.dropoff_lat, q.dropoff_lng) / 1000.0 for q in queries]
            )
            score = (
                (w.distance_per_km / 1000.0) * dist
                + w.price * (hot[BASE].take(idx) + hot[RATE].take(idx) * trip_km.take(qid))
                + hot[STATIC].take(idx)
            )
            by_distance = np.array([q.rank_by == "distance" for q in queries]).take(qid)
            key = np.where(by_distance, dist, score)
            # Sort by (query, key, carrier id) and keep each query's first `limit` rows.
            order = np.lexsort((self._id_ranks().take(idx), key, qid))
            qid_sorted = qid[order]
            first = np.searchsorted(qid_sorted, qid_sorted)
            limits = np.array([q.limit for q in queries], dtype=np.int64)
            top = order[(np.arange(len(order)) - first) < limits.take(qid_sorted)]
            ids = self._ids
            for qi, row, d, sc in zip(
                qid.take(top).tolist(),
                idx.take(top).tolist(),
                dist.take(top).tolist(),
                score.take(top).tolist(),
                strict=True,
            ):
                q = queries[qi]
                terms = self._explain(q, row, d) if q.explain else None
                out[qi].append(Candidate(str(ids[row]), d, sc, terms))
            return out

    def _id_ranks(self) -> IntArray:
        """Per row, the rank of its carrier id in sorted order (ties in distance or score break by id)."""
        if self._rank is None or len(self._rank) != len(self._ids):
            rank = np.zeros(len(self._ids), dtype=np.int64)
            live = sorted((cid, row) for row, cid in enumerate(self._ids) if cid is not None)
            if live:
                rank[np.fromiter((row for _, row in live), dtype=np.int64, count=len(live))] = np.arange(len(live))
            self._rank = rank
        return self._rank

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
            idx, dist, sub = self._eligible(query, self._cutoff(now))
            if len(idx) == 0:
                return []
            score = self._scores(query, sub, dist)
            ids = self._ids
            return [(str(ids[r]), d, s) for r, d, s in zip(idx.tolist(), dist.tolist(), score.tolist(), strict=True)]

    def match_batch(
        self, queries: Sequence[MatchQuery], now_s: float | None = None, per_carrier_capacity: int = 1
    ) -> BatchResult:
        """Assign many jobs at once with minimum total score (see :mod:`matcher.batch`)."""
        from matcher.batch import assign_batch

        return assign_batch(self, queries, now_s=now_s, per_carrier_capacity=per_carrier_capacity)


__all__ = ["DEFAULT_RESOLUTION", "CarrierIndex", "validate_query"]
