"""What the tracking page's small map shows, in the datum of its basemap.

The answer's coordinates are WGS-84 (the contract's); a basemap of mainland China is drawn in GCJ-02,
so the points are converted with ``geo.crs.wgs84_to_gcj02`` here, before they reach the page, unless the
configured tiles are WGS-84 (``TrackingSettings.tiles_gcj02``). The circle is where the vehicle may be by
now: it drives at most at the policy's average speed since its last fix (capped at the distance left).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from api.schemas.tracking import TrackingOut
from api.settings import TrackingSettings
from geo.crs import wgs84_to_gcj02
from geo.distance import haversine_m
from orders_core.transport.tracking import CarrierEventPolicy

#: The circle is drawn at least this wide (a GPS fix is not exact either).
MIN_RADIUS_M = 50.0


@dataclass(frozen=True)
class TrackingMap:
    """The map's points (in ``crs``), the uncertainty circle and the optional tiles."""

    carrier: tuple[float, float]
    dropoff: tuple[float, float]
    radius_m: float
    crs: str
    tile_url: str | None
    tile_attribution: str


def tracking_map(answer: TrackingOut, settings: TrackingSettings, policy: CarrierEventPolicy) -> TrackingMap | None:
    """The map of an order in transit whose carrier has a known position (None: no map on the page)."""
    if answer.status != "in_transit" or answer.position is None or answer.dropoff is None:
        return None
    carrier = (answer.position.lat, answer.position.lng)
    dropoff = (answer.dropoff.lat, answer.dropoff.lng)
    left_m = haversine_m(*carrier, *dropoff)
    radius_m = max(MIN_RADIUS_M, min(answer.position.age_s * policy.speed_kmh / 3.6, left_m))
    convert = settings.tile_url is None or settings.tiles_gcj02
    if convert:
        carrier, dropoff = wgs84_to_gcj02(*carrier), wgs84_to_gcj02(*dropoff)
    return TrackingMap(
        carrier=carrier,
        dropoff=dropoff,
        radius_m=radius_m,
        crs="gcj02" if convert else "wgs84",
        tile_url=settings.tile_url,
        tile_attribution=settings.tile_attribution,
    )


def tile_source(tile_url: str | None) -> str | None:
    """The origin the tiles load from, for the page's Content-Security-Policy (None: no tiles or our own;
    a leading ``{s}`` subdomain becomes a wildcard, any other placeholder in the host the scheme alone)."""
    if tile_url is None or tile_url.startswith("/"):
        return None
    parts = urlsplit(tile_url)
    host = parts.netloc
    if host.startswith("{s}."):
        host = "*." + host.removeprefix("{s}.")
    if "{" in host or "}" in host or not host:  # a wildcard CSP cannot express: the scheme alone
        return f"{parts.scheme}:"
    return f"{parts.scheme}://{host}"
