"""Request and response bodies for carrier master data and position fixes."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from geo.crs import to_wgs84
from geofences.validation import parse_polygonal
from orders_core.carriers.model import Carrier, PositionFix

Crs = Literal["wgs84", "gcj02"]


class CarrierIn(BaseModel):
    """PUT /v1/carriers/{id}: the contract's fields plus optional matching extras."""

    name: str = Field(min_length=1, max_length=200)
    vehicle_type: str = Field(min_length=1, max_length=32)
    capacity_kg: float = Field(ge=0, allow_inf_nan=False)
    capacity_m3: float = Field(ge=0, allow_inf_nan=False)
    coverage: dict[str, Any] | None = Field(
        default=None, description="GeoJSON Polygon or MultiPolygon (lng-lat), or null for anywhere"
    )
    webhook_url: str | None = Field(default=None, max_length=2000, pattern=r"^https?://\S+$")
    webhook_secret: str | None = Field(default=None, max_length=200, description="whsec_ + base64 of the key bytes")
    active: bool = True
    rate_per_km: Decimal = Field(default=Decimal("1"), ge=0, max_digits=12, decimal_places=4)
    base_fare: Decimal = Field(default=Decimal("0"), ge=0, max_digits=12, decimal_places=2)
    on_time_rate: float = Field(default=0.95, ge=0, le=1)
    rating: float = Field(default=4.5, ge=0, le=5)

    @field_validator("webhook_secret")
    @classmethod
    def _standard_webhooks_secret(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith("whsec_"):
            raise ValueError("must start with 'whsec_' followed by base64 of the key bytes")
        try:
            key = base64.b64decode(value[len("whsec_") :], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the part after 'whsec_' must be valid base64") from None
        if len(key) < 16:
            raise ValueError("the key must be at least 16 bytes")
        return value

    def to_carrier(self, carrier_id: str) -> Carrier:
        """The domain carrier this body describes; the coverage must be a valid GeoJSON (Multi)Polygon (422)."""
        return Carrier(
            id=carrier_id,
            name=self.name,
            vehicle_type=self.vehicle_type,
            capacity_kg=self.capacity_kg,
            capacity_m3=self.capacity_m3,
            coverage=None if self.coverage is None else parse_polygonal(self.coverage, field="coverage"),
            webhook_url=self.webhook_url,
            webhook_secret=self.webhook_secret,
            active=self.active,
            rate_per_km=self.rate_per_km,
            base_fare=self.base_fare,
            on_time_rate=self.on_time_rate,
            rating=self.rating,
        )


class CarrierOut(BaseModel):
    id: str
    name: str
    vehicle_type: str
    capacity_kg: float
    capacity_m3: float
    coverage: dict[str, Any] | None
    webhook_url: str | None
    webhook_secret: str | None
    active: bool
    rate_per_km: Decimal
    base_fare: Decimal
    on_time_rate: float
    rating: float
    position: dict[str, float] | None = Field(default=None, description="last known fix: lat, lng, ts_s")
    position_at: datetime | None = Field(default=None, description="time of the last known fix (UTC)")
    position_age_s: float | None = Field(
        default=None, description="seconds since the last known fix (null: no fix); older than the limit: not matched"
    )
    position_stale: bool | None = Field(
        default=None, description="the fix is older than DISPATCH_MAX_POSITION_AGE_S, so the carrier is not matched"
    )


class PositionIn(BaseModel):
    carrier_id: str = Field(min_length=1, max_length=64)
    lat: float
    lng: float
    ts: datetime = Field(description="ISO-8601; a time without offset is taken as UTC")
    crs: Crs | None = Field(default=None, description="coordinate system of lat/lng; default wgs84")


class PositionsIn(BaseModel):
    positions: list[PositionIn] = Field(max_length=10_000)

    def to_fixes(self) -> list[PositionFix]:
        """The fixes in WGS-84 with unix-second timestamps (a time without offset is UTC)."""
        fixes = []
        for p in self.positions:
            lat, lng = to_wgs84(p.lat, p.lng, p.crs)
            ts = p.ts if p.ts.tzinfo is not None else p.ts.replace(tzinfo=UTC)
            fixes.append(PositionFix(p.carrier_id, lat, lng, ts.timestamp()))
        return fixes


class PositionsAccepted(BaseModel):
    accepted: int = Field(description="fixes newer than the carrier's stored one (older ones are ignored)")
