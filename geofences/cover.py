"""H3 covers of polygons: answer "is this point inside the fence?" with one set lookup in most cases.

A cover splits the H3 cells (at one resolution) that touch a polygon into

* ``interior``: cells lying wholly inside the polygon (a point in such a cell is inside, no geometry test);
* ``boundary``: cells that touch the polygon but are not wholly inside (an exact shapely ``covers`` test
  decides; points exactly on the polygon boundary count as inside).

A point whose cell is in neither set is outside. Candidate cells come from H3's "overlap" polyfill
(so small and thin polygons are not lost) plus one ring of neighbours as a safety margin; each is then
classified with shapely against the cell's boundary polygon enlarged by 0.1% (which absorbs the tiny
difference between H3's great-circle cell edges and straight edges in longitude/latitude, so a cell
is called interior only if every point H3 assigns to it is inside). Geometries are GeoJSON-style
longitude/latitude; fences are city-sized and must not cross the antimeridian.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import h3
import h3.api.basic_int as h3i
import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon

MAX_COVER_CELLS = 8_000
_CELL_ENLARGE = 1.001


@dataclass(frozen=True)
class Cover:
    """The H3 cover of one polygon at resolution ``res``; cells are integer H3 ids."""

    geometry: Polygon | MultiPolygon
    res: int
    interior: frozenset[int]
    boundary: frozenset[int]

    def contains(self, lat: float, lng: float) -> bool:
        """Whether (lat, lng) lies in the polygon or on its boundary."""
        cell = h3.str_to_int(h3.latlng_to_cell(lat, lng, self.res))
        return self.contains_in_cell(lat, lng, cell)

    def contains_in_cell(self, lat: float, lng: float, cell: int) -> bool:
        """As :meth:`contains` when the caller already knows the point's cell at ``self.res``."""
        if cell in self.interior:
            return True
        if cell in self.boundary:
            return bool(self.geometry.covers(Point(lng, lat)))
        return False


def cover_resolution(geometry: Polygon | MultiPolygon, max_cells: int = MAX_COVER_CELLS, finest: int = 10) -> int:
    """The finest resolution (at most ``finest``) at which the polygon's bounding box needs <= max_cells cells."""
    min_lng, min_lat, max_lng, max_lat = geometry.bounds
    mid_lat = math.radians((min_lat + max_lat) / 2.0)
    km_per_deg = 111.195
    area_km2 = max((max_lng - min_lng) * math.cos(mid_lat) * km_per_deg * (max_lat - min_lat) * km_per_deg, 1e-9)
    for res in range(finest, -1, -1):
        if area_km2 / float(h3.average_hexagon_area(res, unit="km^2")) <= max_cells:
            return res
    return 0


def _cell_polygons(cells: list[int]) -> np.ndarray:
    """Each cell's boundary polygon, enlarged by ``_CELL_ENLARGE`` about its vertex mean.

    Built in bulk (one ``shapely.polygons`` call per vertex count: 6, 5 for pentagons, more where a cell
    crosses an icosahedron edge): a fence of thousands of cells costs milliseconds, not a second.
    """
    boundaries = [h3i.cell_to_boundary(cell) for cell in cells]
    by_size: dict[int, list[int]] = {}
    for i, boundary in enumerate(boundaries):
        by_size.setdefault(len(boundary), []).append(i)
    polys = np.empty(len(cells), dtype=object)
    for rows in by_size.values():
        rings = np.array([boundaries[i] for i in rows], dtype=np.float64)[:, :, ::-1]  # lat-lng -> lng-lat
        centre = rings.mean(axis=1, keepdims=True)
        polys[rows] = shapely.polygons(centre + (rings - centre) * _CELL_ENLARGE)
    return polys


def build_cover(geometry: Polygon | MultiPolygon, res: int | None = None) -> Cover:
    """Cover ``geometry`` with H3 cells (resolution chosen from its size unless given)."""
    if res is None:
        res = cover_resolution(geometry)
    shape = h3.geo_to_h3shape(geometry)
    seeds = h3.h3shape_to_cells_experimental(shape, res, contain="overlap")
    if not seeds:
        # Tiny polygons: fall back to the cells of their vertices.
        coords = shapely.get_coordinates(geometry)
        seeds = [h3.latlng_to_cell(lat, lng, res) for lng, lat in coords]
    candidates: set[int] = set()
    for cell in seeds:
        candidates.update(h3i.grid_disk(h3.str_to_int(cell), 1))
    cells = sorted(candidates)
    polygons = _cell_polygons(cells)
    shapely.prepare(geometry)
    inside = shapely.contains(geometry, polygons)
    touches = shapely.intersects(geometry, polygons)
    interior = frozenset(c for c, ok in zip(cells, inside, strict=True) if ok)
    boundary = frozenset(c for c, ok, hit in zip(cells, inside, touches, strict=True) if hit and not ok)
    return Cover(geometry=geometry, res=res, interior=interior, boundary=boundary)


@lru_cache(maxsize=1024)
def _cover_of_wkb(wkb: bytes, res: int | None) -> Cover:
    geometry = shapely.from_wkb(wkb)
    if not isinstance(geometry, Polygon | MultiPolygon):
        raise TypeError(f"a cover needs a Polygon or MultiPolygon, got {geometry.geom_type}")
    return build_cover(geometry, res)


def cached_cover(geometry: Polygon | MultiPolygon, res: int | None = None) -> Cover:
    """:func:`build_cover`, memoised by the geometry's WKB (carriers often share fences; indexes get rebuilt)."""
    return _cover_of_wkb(geometry.wkb, res)
