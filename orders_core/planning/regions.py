"""Which warehouse serves a forecast region (an H3 cell): kept apart from the forecast run so that readers of
a stored forecast (pre-booking, the API) need not import the forecasting engine."""

from __future__ import annotations

import h3

from geo.distance import haversine_m


def nearest_warehouses(regions: list[str], warehouses: dict[str, tuple[float, float]]) -> dict[str, str]:
    """Each region's serving warehouse: the nearest (great circle) to the region cell's centre."""
    served = {}
    for region in regions:
        lat, lng = h3.cell_to_latlng(region)
        served[region] = min(warehouses, key=lambda w: (haversine_m(lat, lng, *warehouses[w]), w))
    return served if warehouses else {}
