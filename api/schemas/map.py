"""Answers of the live map's data endpoints: carriers, a day's orders, H3 heat cells, the vector basemap."""

from __future__ import annotations

import datetime as dt
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class MapCarrierOut(BaseModel):
    carrier_id: str
    name: str
    vehicle_type: str
    status: str = Field(description="inactive, no_position, stale (fix older than the match limit), busy or idle.")
    lat: float | None = Field(description="Newest fix (WGS-84); null when none is known.")
    lng: float | None
    fixed_at: datetime | None = Field(description="When the newest fix was taken.")
    position_age_s: float | None = Field(description="Seconds since the newest fix.")
    active_shipments: int = Field(description="Shipments assigned to or carried by it now.")


class MapCarriersOut(BaseModel):
    carriers: list[MapCarrierOut]
    max_position_age_s: float = Field(description="Fixes older than this are stale (0: no limit).")


class MapOrderOut(BaseModel):
    order_id: str
    customer_id: str
    status: str
    lat: float
    lng: float
    address: str | None
    placed_at: datetime
    promised_by: datetime | None
    late: bool = Field(description="Delivered after its promise, or not delivered (nor cancelled) past it.")


class MapOrdersOut(BaseModel):
    date: dt.date = Field(description="The day on the desk's clock (Asia/Shanghai).")
    time_zone: str
    total: int = Field(description="Orders placed that day (in scope); 'orders' holds the newest 'limit'.")
    late: int = Field(description="Of the orders listed, how many are late.")
    orders: list[MapOrderOut]


class HeatFeatureOut(BaseModel):
    type: str = Field(description="Always 'Feature'.")
    id: str = Field(description="The H3 cell (hexadecimal).")
    geometry: dict[str, Any] = Field(description="The cell's outline, a GeoJSON Polygon (lng-lat).")
    properties: dict[str, Any] = Field(description="{cell, count, center: {lat, lng}}.")


class HeatOut(BaseModel):
    type: str = Field(description="Always 'FeatureCollection' (the answer is GeoJSON).")
    kind: str = Field(description="demand or late.")
    resolution: int
    from_: datetime = Field(alias="from", description="Orders placed at or after (UTC).")
    to: datetime = Field(description="Orders placed before (UTC).")
    total: int = Field(description="Orders counted over every cell.")
    cells: int = Field(description="Cells with at least one order (features holds the hottest 'limit').")
    max_count: int = Field(description="The hottest cell's count (0 when there is none): the legend's top.")
    features: list[HeatFeatureOut]


class BasemapOut(BaseModel):
    type: str = Field(description="Always 'FeatureCollection'.")
    features: list[dict[str, Any]] = Field(
        description="Warehouses (Point, properties.layer 'warehouse') and active carriers' coverage areas"
        " (Polygon/MultiPolygon, properties.layer 'coverage')."
    )
