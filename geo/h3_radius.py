"""H3 grid disks that provably contain every point within a radius of a query point.

The argument (used by the matcher's bucket index, so that no eligible carrier is ever missed):

1. Let ``e_min(res)`` be the shortest cell edge at a resolution. Two cells that are not neighbours
   are separated by at least one other cell whose shared edges with them are non-adjacent edges of
   it (if they shared a vertex, three cells would meet there and the two would be neighbours), so the
   closed cells are at least ``gap(res) >= e_min(res)`` apart (H3 hexagons are near-regular, with
   interior angles near 120 degrees, so non-adjacent edges of one cell are no closer than an edge).
2. Walk the great circle from the query point ``p`` to a point ``q`` at distance ``d`` in steps
   shorter than ``gap``. Consecutive step points lie in the same cell or in neighbouring cells, so the
   grid distance grows by at most one per step: ``grid_distance(cell(p), cell(q)) <= floor(d / gap) + 1``.
3. Hence ``k = floor(radius / gap_lb) + 1`` with a lower bound ``gap_lb <= gap`` makes
   ``grid_disk(cell(p), k)`` contain ``cell(q)`` for every ``q`` within ``radius`` of ``p``.

``gap_lb`` comes from ``h3.average_hexagon_edge_length(res)`` times :data:`MIN_EDGE_FACTOR`. We measured
the shortest edge of *every* cell (pentagons and their neighbours included) at resolutions 0 to 4:
min edge / average edge = 0.933, 0.787, 0.773, 0.714, 0.748; H3's distortion is the same gnomonic
icosahedron projection at every resolution (aperture-7 subdivision), so finer resolutions repeat these
ratios (class II and class III alternate). We use 0.6, about 16% below the smallest observed ratio,
to absorb the difference between an edge's length and the distance between non-adjacent edges.
Hypothesis tests (tests/geo/test_geo_h3_radius.py) check the claim at random points, next to all
pentagons, at latitude +-85 and across the antimeridian. A stress run of 540,000 points exactly on the
radius (3,000 random centres, a third next to pentagons, resolutions 4-9, 180 bearings each) found no
miss with factors 0.6, 0.7 or 0.8 and the first misses at 0.9, so 0.6 keeps a wide margin.

The disk is then pruned: a cell whose centre is farther than ``radius + 2 * r_max`` from the centre
of the query cell cannot hold a point within ``radius`` of ``p`` (``p`` and every point of that cell
are within ``r_max``, the largest centre-to-vertex distance, of their centres). ``r_max`` is bounded by
:data:`MAX_CIRCUMRADIUS_FACTOR` times the average edge (measured maximum over all cells at
resolutions 0 to 4: 1.10 times; we use 1.5). That pruned disk is cached per (cell, radius); each query
then keeps only the cells whose centre is within ``radius + r_max`` of the query point itself
(:meth:`CellDisk.cells_near`), which roughly halves the area scanned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import h3
import h3.api.basic_int as h3i
import numpy as np
import numpy.typing as npt

from geo.distance import EARTH_RADIUS_M, haversine_many_m, haversine_rad_m

MIN_EDGE_FACTOR = 0.6
MAX_CIRCUMRADIUS_FACTOR = 1.5

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def edge_lower_bound_m(res: int) -> float:
    """A lower bound, in metres, of the distance between two non-neighbouring cells at ``res``."""
    return MIN_EDGE_FACTOR * float(h3.average_hexagon_edge_length(res, unit="m"))


def circumradius_upper_bound_m(res: int) -> float:
    """An upper bound, in metres, of the distance from any cell's centre to any point of the cell."""
    return MAX_CIRCUMRADIUS_FACTOR * float(h3.average_hexagon_edge_length(res, unit="m"))


def disk_k_for_radius(res: int, radius_m: float) -> int:
    """The grid-disk size ``k`` that contains every point within ``radius_m`` (see module docstring)."""
    if radius_m < 0 or not math.isfinite(radius_m):
        raise ValueError(f"radius_m must be a finite non-negative number, got {radius_m}")
    return math.floor(radius_m / edge_lower_bound_m(res)) + 1


@dataclass(frozen=True)
class CellDisk:
    """The pruned covering cells of one cell for one radius, with their centres ready for haversine."""

    cells: IntArray
    phi: FloatArray
    lmb: FloatArray
    cos_phi: FloatArray
    slack_m: float  # circumradius bound: keep a cell when the query point is within radius + slack of its centre

    def cells_near(self, lat: float, lng: float, radius_m: float) -> list[int]:
        """The cells that can hold a point within ``radius_m`` of (lat, lng), a point of the disk's own cell.

        A point q of cell c within radius of p satisfies dist(p, centre(c)) <= radius + r_max.
        """
        phi = math.radians(lat)
        dist = haversine_rad_m(phi, math.radians(lng), math.cos(phi), self.phi, self.lmb, self.cos_phi)
        return list(self.cells[dist <= radius_m + self.slack_m].tolist())


@lru_cache(maxsize=32768)  # ~1.7 KB per entry at resolution 7 and 3 km: at most ~55 MB
def cell_disk(cell: int, radius_m: float) -> CellDisk:
    """The covering cells of ``cell`` for ``radius_m`` with their centres, cached per (cell, radius)."""
    res = h3i.get_resolution(cell)
    k = disk_k_for_radius(res, radius_m)
    disk = h3i.grid_disk(cell, k)
    centres = np.array([h3i.cell_to_latlng(c) for c in disk], dtype=np.float64).reshape(-1, 2)
    cells = np.array(disk, dtype=np.int64)
    slack_m = circumradius_upper_bound_m(res)
    # Past the Earth's radius the pruning bound is meaningless; keep the whole disk.
    if radius_m <= EARTH_RADIUS_M:
        lat, lng = h3i.cell_to_latlng(cell)
        keep = haversine_many_m(lat, lng, centres[:, 0], centres[:, 1]) <= radius_m + 2.0 * slack_m
        cells, centres = cells[keep], centres[keep]
    order = np.argsort(cells)
    cells, centres = cells[order], centres[order]
    phi = np.radians(centres[:, 0])
    return CellDisk(cells=cells, phi=phi, lmb=np.radians(centres[:, 1]), cos_phi=np.cos(phi), slack_m=slack_m)


def covering_cells(cell: int, radius_m: float) -> tuple[int, ...]:
    """Cells (integer ids, same resolution) that hold every point within ``radius_m`` of any point of ``cell``.

    Cached per (cell, radius): the matcher asks for the same few radii over and over.
    """
    return tuple(cell_disk(int(cell), float(radius_m)).cells.tolist())


def covering_cells_for_point(lat: float, lng: float, radius_m: float, res: int) -> tuple[int, ...]:
    """Cells at ``res`` that hold every point within ``radius_m`` of (lat, lng)."""
    return covering_cells(h3.str_to_int(h3.latlng_to_cell(lat, lng, res)), radius_m)


def cells_near_point(lat: float, lng: float, radius_m: float, res: int) -> list[int]:
    """The covering cells pruned for the exact point: what the matcher scans for one query."""
    cell = h3i.latlng_to_cell(lat, lng, res)
    return cell_disk(cell, float(radius_m)).cells_near(lat, lng, radius_m)
