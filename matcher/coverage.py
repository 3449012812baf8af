"""Coverage groups of the carrier index: carriers' service fences, deduplicated, with their H3 covers.

Identical polygons share one group and one cover (:mod:`geofences.cover`). When any carrier has a fence,
a query's drop-off gets a verdict per group before the kernels run (they read it by the carrier's group,
column ``layout.COVG``): the drop-off's cell answers "interior" groups outright, "boundary" groups need
one prepared polygon test. Verdicts are cached per tuple of drop-off cells and per drop-off point.
"""

from __future__ import annotations

import itertools

import h3._cy as h3_cy
import numpy as np
import numpy.typing as npt
import shapely

from geofences.cover import Cover, cached_cover
from matcher.kernel_types import BoolArray, FloatArray, IntArray
from matcher.model import CarrierProfile
from matcher.params import MatcherParams

#: The verdicts when no carrier has a fence: index 0 ("no coverage") only.
ALL_OK: BoolArray = np.ones(1, dtype=np.bool_)


def _member(values: IntArray, sorted_set: IntArray) -> npt.NDArray[np.bool_]:
    """``np.isin(values, sorted_set)`` for an already sorted set (no sort per call)."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=np.bool_)
    pos = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    return np.asarray(sorted_set[pos] == values)


class CoverageGroups:
    """The fences of the index's carriers and the drop-offs' verdicts (no locking: the index holds its lock).

    Verdicts are arrays indexed by group + 1 (index 0 = "no coverage", always true)."""

    def __init__(self, params: MatcherParams) -> None:
        self._params = params
        # Coverage groups: identical polygons share one cover and one group id.
        self._group_of_wkb: dict[bytes, int] = {}
        self.covers: list[Cover] = []
        self._group_refs: list[int] = []
        self.n_covered = 0  # carriers with a coverage group
        self._cover_interior: dict[int, dict[int, list[int]]] = {}
        self._cover_boundary: dict[int, dict[int, list[int]]] = {}
        self._cover_arr: dict[int, tuple[IntArray, IntArray]] = {}
        # Dropoff cells (one per cover resolution) -> (verdicts decided by the cells alone, the
        # (group, cell) pairs that still need a polygon test); cleared when a coverage group is added.
        self._ok_cache: dict[tuple[int, ...], tuple[npt.NDArray[np.bool_], tuple[tuple[int, int], ...]]] = {}
        # Final verdicts per drop-off point seen (an FMCG distributor delivers to the same shops week after
        # week), boundary polygon tests included; cleared with _ok_cache.
        self.dropoffs: dict[tuple[float, float], npt.NDArray[np.bool_]] = {}
        self._cover_res: tuple[int, ...] = ()

    def verdicts(self, lat: float, lng: float) -> BoolArray:
        """The drop-off's verdict per group, remembered per point (:data:`ALL_OK` without fences)."""
        if self.n_covered == 0:
            return ALL_OK
        ok = self.dropoffs.get((lat, lng))
        return self._dropoff_ok(lat, lng) if ok is None else ok

    def table(self, lat: FloatArray, lng: FloatArray) -> BoolArray:
        """Verdicts of many drop-offs, one row per drop-off (vectorised per group up to
        ``params.vector_cover_groups`` groups, drop-off by drop-off past that)."""
        if len(self.covers) <= self._params.vector_cover_groups:
            return self._table_by_group(lat, lng)
        table = np.ones((len(lat), len(self.covers) + 1), dtype=bool)
        for qi, (a, b) in enumerate(zip(lat.tolist(), lng.tolist(), strict=True)):
            table[qi] = self.coverage_ok(a, b)
        return table

    def group_for(self, profile: CarrierProfile) -> int:
        """The coverage group of the carrier's fence (-1: none), counted as one more reference."""
        if profile.coverage is None:
            return -1
        key = profile.coverage.wkb
        group = self._group_of_wkb.get(key)
        if group is None:
            cover = cached_cover(profile.coverage)
            shapely.prepare(cover.geometry)  # the boundary-cell test runs once per query that needs it
            group = len(self.covers)
            self.covers.append(cover)
            self._group_refs.append(0)
            self._group_of_wkb[key] = group
            interior = self._cover_interior.setdefault(cover.res, {})
            boundary = self._cover_boundary.setdefault(cover.res, {})
            for cell in cover.interior:
                interior.setdefault(cell, []).append(group)
            for cell in cover.boundary:
                boundary.setdefault(cell, []).append(group)
            self._ok_cache.clear()
            self.dropoffs.clear()
            self._cover_res = tuple(self._cover_interior)
        self._group_refs[group] += 1
        self.n_covered += 1
        return group

    def release(self, group: int) -> None:
        """One reference less to a group (from a carrier that left or changed its fence)."""
        if group >= 0:
            self._group_refs[group] -= 1
            self.n_covered -= 1

    def coverage_ok(self, lat: float, lng: float) -> npt.NDArray[np.bool_]:
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
        covers = self.covers
        for group, _cell in checks:  # boundary cells: for a point, covers == intersects (cheaper ufunc)
            if not ok[group + 1] and shapely.intersects_xy(covers[group].geometry, lng, lat):
                ok[group + 1] = True
        return ok

    def _dropoff_ok(self, lat: float, lng: float) -> npt.NDArray[np.bool_]:
        """:meth:`coverage_ok`, remembered per drop-off point (see ``dropoffs``)."""
        ok = self.coverage_ok(lat, lng)
        if len(self.dropoffs) >= self._params.dropoffs_max:
            self.dropoffs.clear()
        self.dropoffs[(lat, lng)] = ok
        return ok

    def _coverage_entry(self, cells: tuple[int, ...]) -> tuple[npt.NDArray[np.bool_], tuple[tuple[int, int], ...]]:
        """Cache entry of :meth:`coverage_ok` for the dropoff's cells (one per resolution of ``_cover_res``)."""
        base = np.zeros(len(self.covers) + 1, dtype=bool)
        base[0] = True
        checks: list[tuple[int, int]] = []
        for res, cell in zip(self._cover_res, cells, strict=True):
            for group in self._cover_interior[res].get(cell, ()):
                base[group + 1] = True
            checks += [(group, cell) for group in self._cover_boundary[res].get(cell, ())]
        checks = [(g, c) for g, c in checks if not base[g + 1]]
        if len(self._ok_cache) >= self._params.ok_cache_max:
            self._ok_cache.clear()
        entry = (base, tuple(checks))
        self._ok_cache[cells] = entry
        return entry

    def _table_by_group(self, lat: FloatArray, lng: FloatArray) -> npt.NDArray[np.bool_]:
        """Per query (dropoffs ``lat``/``lng``) and coverage group, whether the dropoff is covered;
        vectorised per group. Same decision as :meth:`coverage_ok`: interior cell -> yes, boundary cell ->
        exact ``covers``."""
        table = np.ones((len(lat), len(self.covers) + 1), dtype=bool)
        lat_l = lat.tolist()
        lng_l = lng.tolist()
        cells_by_res: dict[int, IntArray] = {}
        points = None
        for group, cover in enumerate(self.covers):
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
            cover = self.covers[group]
            arrays = (  # sorted, for binary-search membership
                np.sort(np.fromiter(cover.interior, dtype=np.int64, count=len(cover.interior))),
                np.sort(np.fromiter(cover.boundary, dtype=np.int64, count=len(cover.boundary))),
            )
            self._cover_arr[group] = arrays
        return arrays


__all__ = ["ALL_OK", "CoverageGroups"]
