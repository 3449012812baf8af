"""The tracking page's map data: points converted to GCJ-02 unless the configured tiles are WGS-84, the
circle where the vehicle may be by now, the tiles' origin for the page's policy, and tile settings that
cannot smuggle anything into the page."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import ValidationError

from api.schemas.tracking import PointOut, PositionOut, TrackingOut
from api.settings import Settings, TrackingSettings
from api.tracking_map import MIN_RADIUS_M, tile_source, tracking_map
from geo.crs import wgs84_to_gcj02
from geo.distance import haversine_m
from orders_core.transport.tracking import CarrierEventPolicy

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
POLICY = CarrierEventPolicy(speed_kmh=36.0)  # 10 m/s


def answer(
    status: str = "in_transit", age_s: float = 60.0, position: tuple[float, float] = (31.29, 121.53)
) -> TrackingOut:
    return TrackingOut(
        language="zh",
        order_id="ord_1",
        status=status,
        status_label=status,
        created_at=NOW,
        promised_by=NOW,
        total=Decimal("1"),
        lines=[],
        progress=[],
        shipments=[],
        position=PositionOut(lat=position[0], lng=position[1], at=NOW, age_s=age_s),
        dropoff=PointOut(lat=31.22, lng=121.48),
    )


def test_without_tiles_the_points_are_gcj02() -> None:
    shown = tracking_map(answer(), TrackingSettings(), POLICY)
    assert shown is not None and shown.crs == "gcj02" and shown.tile_url is None
    assert shown.carrier == wgs84_to_gcj02(31.29, 121.53) and shown.dropoff == wgs84_to_gcj02(31.22, 121.48)
    assert haversine_m(*shown.carrier, 31.29, 121.53) > 100  # the shift is real in Shanghai


def test_gcj02_tiles_convert_and_wgs84_tiles_do_not() -> None:
    chinese = TrackingSettings(tile_url="https://tiles.example.cn/{z}/{x}/{y}.png")
    world = TrackingSettings(tile_url="https://tiles.example.org/{z}/{x}/{y}.png", tiles_gcj02=False)
    converted, plain = tracking_map(answer(), chinese, POLICY), tracking_map(answer(), world, POLICY)
    assert converted is not None and converted.carrier == wgs84_to_gcj02(31.29, 121.53)
    assert plain is not None and plain.crs == "wgs84" and plain.carrier == (31.29, 121.53)


def test_the_circle_grows_with_the_age_of_the_position_up_to_the_distance_left() -> None:
    fresh = tracking_map(answer(age_s=0), TrackingSettings(), POLICY)
    minutes = tracking_map(answer(age_s=120), TrackingSettings(), POLICY)
    hours = tracking_map(answer(age_s=7200), TrackingSettings(), POLICY)
    assert fresh is not None and minutes is not None and hours is not None
    assert fresh.radius_m == MIN_RADIUS_M and minutes.radius_m == pytest.approx(1200.0)
    assert hours.radius_m == pytest.approx(haversine_m(31.29, 121.53, 31.22, 121.48))


def test_no_map_unless_in_transit_with_a_position() -> None:
    assert tracking_map(answer(status="loaded"), TrackingSettings(), POLICY) is None
    assert tracking_map(answer(status="delivered"), TrackingSettings(), POLICY) is None
    moving = answer().model_copy(update={"position": None})
    assert tracking_map(moving, TrackingSettings(), POLICY) is None


def test_the_tiles_origin_for_the_content_security_policy() -> None:
    assert tile_source(None) is None and tile_source("/tiles/{z}/{x}/{y}.png") is None
    assert tile_source("https://{s}.tile.example.org/{z}/{x}/{y}.png") == "https://*.tile.example.org"
    assert tile_source("https://webrd0{s}.is.example.cn/x?z={z}") == "https:"  # a partial wildcard: the scheme


@pytest.mark.parametrize(
    "tile_url",
    ["javascript:alert(1)", 'https://x.org/"><script>', "ftp://x.org/{z}", "https://x.org/a b", "data:,x"],
)
def test_a_tile_url_that_is_not_http_or_local_is_refused_at_start(tile_url: str) -> None:
    with pytest.raises(ValidationError):
        Settings(tracking={"tile_url": tile_url})  # type: ignore[arg-type]  # as the environment gives it
