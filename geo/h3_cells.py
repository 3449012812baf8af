"""H3 cells of points at the map's resolutions, and cell outlines as GeoJSON, for heat maps.

A point's cell is stored at every resolution the heat map offers (``HEAT_RESOLUTIONS``) instead of being
derived from one fine cell: H3 is not exactly hierarchical (a fine cell's parent need not contain every
point of it), so ``latlng_to_cell`` at each resolution is the only count that matches the drawn outline.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import h3
import h3.api.basic_int as h3_int

#: Resolutions of the heat map, from region-wide (res 5: ~250 km² cells) to street blocks (res 9: ~0.1 km²).
HEAT_RESOLUTIONS: tuple[int, ...] = (5, 6, 7, 8, 9)


def point_cells(lat: float, lng: float) -> dict[int, int]:
    """The 64-bit H3 cell containing (lat, lng) at each heat resolution (ints, so they index well in SQL)."""
    return dict(zip(HEAT_RESOLUTIONS, point_cell_ints(lat, lng), strict=True))


def point_cell_ints(lat: float, lng: float) -> list[int]:
    """The cells of ``point_cells`` in ``HEAT_RESOLUTIONS`` order, computed as integers directly (a quarter
    of the time of going through the hexadecimal names: a year of imported orders needs two million)."""
    return [h3_int.latlng_to_cell(lat, lng, res) for res in HEAT_RESOLUTIONS]


def cell_polygon(cell: int) -> dict[str, Any]:
    """The outline of a cell as a GeoJSON Polygon (RFC 7946: lng-lat order, closed ring); a new dict each
    call (the caller may change it), the outline itself computed once per cell."""
    return {"type": "Polygon", "coordinates": [[list(vertex) for vertex in _ring(cell)]]}


@lru_cache(maxsize=65_536)
def _ring(cell: int) -> tuple[tuple[float, float], ...]:
    """A cell's closed ring as (lng, lat) vertices: a heat map asks for the same cells on every refresh."""
    ring = [(float(lng), float(lat)) for lat, lng in h3.cell_to_boundary(h3.int_to_str(cell))]
    return (*ring, ring[0])


@lru_cache(maxsize=65_536)
def cell_center(cell: int) -> tuple[float, float]:
    """The centre (lat, lng) of a cell."""
    lat, lng = h3.cell_to_latlng(h3.int_to_str(cell))
    return float(lat), float(lng)


def cell_name(cell: int) -> str:
    """The cell's usual hexadecimal name (``8830e1d8b5fffff``), as h3 tools and people quote it."""
    return str(h3.int_to_str(cell))
