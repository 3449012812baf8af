"""Request and response bodies for carrier master data and position fixes."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from api.schemas.geofences import PolygonalGeoJson
from api.schemas.presentation import Money
from foundation.errors import InvalidInput
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
    coverage: PolygonalGeoJson | None = Field(
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


class PositionOut(BaseModel):
    """A carrier's last known fix (WGS-84)."""

    lat: float
    lng: float
    ts: datetime = Field(description="when the fix was taken (RFC 3339, UTC)")
    ts_s: float = Field(description="the same instant in unix seconds (kept for older clients)")


class CarrierOut(BaseModel):
    """A carrier as the API shows it: never its webhook secret, only whether one is set and a hint."""

    id: str
    name: str
    vehicle_type: str
    capacity_kg: float
    capacity_m3: float
    coverage: dict[str, Any] | None
    webhook_url: str | None
    webhook_secret_set: bool = Field(description="whether webhooks to this carrier are signed with a secret")
    webhook_secret_hint: str | None = Field(
        default=None, description="the secret's last 4 characters, to tell secrets apart; the secret is never shown"
    )
    active: bool
    rate_per_km: Money
    base_fare: Money
    on_time_rate: float
    rating: float
    position: PositionOut | None = Field(default=None, description="last known fix")
    position_at: datetime | None = Field(default=None, description="time of the last known fix (UTC)")
    position_age_s: float | None = Field(
        default=None, description="seconds since the last known fix (null: no fix); older than the limit: not matched"
    )
    position_stale: bool | None = Field(
        default=None, description="the fix is older than DISPATCH_MAX_POSITION_AGE_S, so the carrier is not matched"
    )


class CarrierSaved(CarrierOut):
    """PUT's answer: as GET, plus the secret the service generated in this request (shown this once)."""

    webhook_secret: str | None = Field(
        default=None,
        description="only when this request made the service generate the secret (a webhook_url without a"
        " webhook_secret, and none kept from before): store it now, it is never shown again; null otherwise",
    )


class PositionIn(BaseModel):
    carrier_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="optional with a carrier token: its own carrier"
    )
    lat: float
    lng: float
    ts: datetime = Field(description="ISO-8601; a time without offset is taken as UTC")
    crs: Crs | None = Field(default=None, description="coordinate system of lat/lng; default wgs84")


class PositionsIn(BaseModel):
    positions: list[PositionIn] = Field(max_length=10_000)

    def to_fixes(self, own_carrier_id: str | None = None) -> list[PositionFix]:
        """The fixes in WGS-84 with unix-second timestamps (a time without offset is UTC).

        A fix without ``carrier_id`` is ``own_carrier_id``'s (a carrier token's subject); without one
        either, the batch is refused (422) naming the fix.
        """
        fixes = []
        for index, p in enumerate(self.positions):
            carrier_id = p.carrier_id or own_carrier_id
            if carrier_id is None:
                raise InvalidInput(f"positions[{index}].carrier_id: required (only a carrier token may leave it out)")
            lat, lng = to_wgs84(p.lat, p.lng, p.crs)
            ts = p.ts if p.ts.tzinfo is not None else p.ts.replace(tzinfo=UTC)
            fixes.append(PositionFix(carrier_id, lat, lng, ts.timestamp()))
        return fixes


class PositionsAccepted(BaseModel):
    accepted: int = Field(description="fixes newer than the carrier's stored one (older ones are ignored)")
