"""The console's live map: carriers, today's orders and H3 heat of demand and of late deliveries on Leaflet,
over a vector basemap (warehouses, coverage areas) with optional raster tiles (``DISPATCH_UI__TILE_URL``).

The page is rendered with its text alternative filled in (the hottest cells and the carriers as tables), so
it says everything without JavaScript; ``map.js`` then draws the layers and reloads them every
``DISPATCH_UI__MAP_REFRESH_S`` from ``/console/map/data/...``, which answer what the JSON API answers
(``api.map_views``) through the session cookie.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import AwareDatetime

from api.auth import scoped_warehouse_filter
from api.console.layout import console_headers, register_page, render_page
from api.console.session import console_roles
from api.container import Container
from api.deps import get_container
from api.map_views import map_basemap, map_carriers, map_heat, map_orders
from api.tokens import Principal
from foundation.clock import utc_now
from geo.crs import wgs84_to_gcj02
from geo.h3_cells import HEAT_RESOLUTIONS, cell_name
from orders_core.map.model import HeatKind
from orders_core.map.queries import heat_cells

router = APIRouter()
readers = console_roles("dispatcher", "warehouse")
register_page("map", "Live map", "/console/map", roles=("dispatcher", "warehouse"), order=10)

#: The heat periods the page offers (label, days back from now); the first is the default.
PERIODS: tuple[tuple[str, int], ...] = (("Last 7 days", 7), ("Last 24 hours", 1), ("Last 30 days", 30))
#: Resolution 7 (about 5 km² a cell) shows the region's districts; the page offers 5 to 9.
DEFAULT_RESOLUTION = 7
#: Rows of the text alternative's hottest-cells table.
HOTTEST_ROWS = 15
#: Most hexagons one layer draws (the hottest).
MAX_CELLS = 2_000


def _shift(container: Container) -> bool:
    """Whether drawn coordinates move to GCJ-02: only under tiles drawn in that datum."""
    ui = container.settings.ui
    return ui.tile_url is not None and ui.tiles_gcj02


def _shift_coordinates(value: Any) -> Any:
    """GeoJSON coordinates (lng, lat, nested) from WGS-84 to GCJ-02."""
    if isinstance(value, list | tuple) and len(value) >= 2 and all(isinstance(v, int | float) for v in value[:2]):
        lat, lng = wgs84_to_gcj02(float(value[1]), float(value[0]))
        return [lng, lat]
    return [_shift_coordinates(v) for v in value]


def _shift_features(collection: dict[str, Any]) -> dict[str, Any]:
    for feature in collection["features"]:
        feature["geometry"]["coordinates"] = _shift_coordinates(feature["geometry"]["coordinates"])
    return collection


def _shift_points(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for item in items:
        if item.get("lat") is not None and item.get("lng") is not None:
            item["lat"], item["lng"] = wgs84_to_gcj02(item["lat"], item["lng"])
    return items


def _json(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, headers=console_headers())


def _tile_csp(tile_url: str | None) -> dict[str, str] | None:
    if tile_url is None or tile_url.startswith("/"):
        return None
    parts = urlsplit(tile_url.replace("{s}", "a"))
    host = parts.netloc.replace("a.", "*.", 1) if "{s}" in tile_url else parts.netloc
    return {"img-src": f"{parts.scheme}://{host}"}


def _hottest(container: Container, principal: Principal, days: int, resolution: int) -> list[dict[str, Any]]:
    """The text alternative's rows: the hottest demand cells with their late count."""
    now = utc_now()
    start = now - timedelta(days=days)
    demand = map_heat(container, principal, HeatKind.DEMAND, resolution, start, now, limit=HOTTEST_ROWS)
    # The late counts only (no hexagon outlines to build): the table shows the demand cells' late figure.
    scope = scoped_warehouse_filter(principal, None)
    late = heat_cells(container.uow, HeatKind.LATE, resolution, start, now, now, warehouse_id=scope)
    late_by_cell = {cell_name(c.cell): c.count for c in late}
    return [
        {
            "cell": f["id"],
            "count": f["properties"]["count"],
            "late": late_by_cell.get(f["id"], 0),
            "lat": f["properties"]["center"]["lat"],
            "lng": f["properties"]["center"]["lng"],
        }
        for f in demand["features"]
    ]


@router.get("/map", response_class=HTMLResponse)
def map_page(
    request: Request,
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
) -> HTMLResponse:
    """The live map with its legend, layer toggles, and the hottest cells and carriers as tables."""
    ui = container.settings.ui
    carriers = map_carriers(container, principal).carriers
    config = {
        "tileUrl": ui.tile_url,
        "tileAttribution": ui.tile_attribution,
        "refreshS": ui.map_refresh_s,
        "resolution": DEFAULT_RESOLUTION,
        "periodDays": PERIODS[0][1],
        "dataUrl": "/console/map/data",
    }
    context = {
        "config": config,
        "carriers": carriers,
        "hottest": _hottest(container, principal, PERIODS[0][1], DEFAULT_RESOLUTION),
        "periods": PERIODS,
        "resolutions": HEAT_RESOLUTIONS,
        "default_resolution": DEFAULT_RESOLUTION,
        "scope": principal.subject if principal.role == "warehouse" else None,
    }
    return render_page(
        request,
        "map.html",
        title="Live map",
        principal=principal,
        section="map",
        context=context,
        vendors=("leaflet",),
        scripts=("map.js",),
        csp_extra=_tile_csp(ui.tile_url),
    )


@router.get("/map/data/carriers")
def map_carriers_data(
    container: Container = Depends(get_container), principal: Principal = Depends(readers)
) -> JSONResponse:
    """The carriers layer (as ``GET /v1/map/carriers``)."""
    body = map_carriers(container, principal).model_dump(mode="json")
    if _shift(container):
        _shift_points(body["carriers"])
    return _json(body)


@router.get("/map/data/orders")
def map_orders_data(
    container: Container = Depends(get_container), principal: Principal = Depends(readers)
) -> JSONResponse:
    """Today's orders layer (as ``GET /v1/map/orders``)."""
    body = map_orders(container, principal, None, limit=5_000).model_dump(mode="json")
    if _shift(container):
        _shift_points(body["orders"])
    return _json(body)


@router.get("/map/data/heat")
def map_heat_data(
    kind: HeatKind = HeatKind.DEMAND,
    resolution: Annotated[int, Query()] = DEFAULT_RESOLUTION,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
) -> JSONResponse:
    """A heat layer (as ``GET /v1/map/heat``), at most the hottest ``MAX_CELLS`` hexagons."""
    body = map_heat(container, principal, kind, resolution, start, end, limit=MAX_CELLS)
    return _json(_shift_features(body) if _shift(container) else body)


@router.get("/map/data/basemap")
def map_basemap_data(
    container: Container = Depends(get_container), principal: Principal = Depends(readers)
) -> JSONResponse:
    """The vector basemap (as ``GET /v1/map/basemap``)."""
    body = map_basemap(container, principal).model_dump(mode="json")
    return _json(_shift_features(body) if _shift(container) else body)
