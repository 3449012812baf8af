"""Response bodies of the customer health score and of pre-booked stock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class IndicatorOut(BaseModel):
    """One indicator's line: raw value, tier score, weights, contribution to the score, trend."""

    indicator: str
    label: str
    unit: str
    raw_value: float | None = Field(description="null: no data (the indicator's weight went to the others)")
    tier_score: int | None
    weight: int = Field(description="documented weight out of 100")
    effective_weight: float = Field(description="weight after renormalising over the indicators with data")
    contribution: float = Field(description="tier_score * effective_weight / 100; the lines sum to the score")
    previous_tier_score: int | None
    trend: str = Field(description="up, down, flat, new (no previous computation) or no_data")
    details: dict[str, Any]


class HealthHistoryOut(BaseModel):
    """An earlier computation's score."""

    score: float | None
    computed_at: datetime
    trigger: str


class HealthOut(BaseModel):
    """A customer's latest health score with its breakdown."""

    customer_id: str
    score: float | None = Field(description="0-100; null when no indicator has data")
    previous_score: float | None
    trend: str
    computed_at: datetime
    trigger: str = Field(description="schedule or on_demand")
    indicators: list[IndicatorOut]
    history: list[HealthHistoryOut]


class HealthSummaryOut(BaseModel):
    """One customer's latest score in the list."""

    customer_id: str
    score: float | None
    computed_at: datetime


class PrebookingOut(BaseModel):
    """One soft reservation: requested by the forecast, consumed by the customer's own orders, held softly
    from the free stock, bumped by firm orders of others."""

    id: str
    customer_id: str
    warehouse_id: str
    sku: str
    week_start: datetime
    expires_at: datetime
    requested: int
    consumed: int
    held: int
    bumped: int
    priority: float
    source: str


class PrebookedSkuOut(BaseModel):
    """Pre-booked units of one SKU at a warehouse (``prebooked`` never exceeds what firm orders left free)."""

    sku: str
    prebooked: int
    requested: int = Field(description="units the active pre-bookings still want (requested - consumed)")
    prebookings: list[PrebookingOut]


class PrebookedOut(BaseModel):
    """Soft reservations at one warehouse."""

    warehouse_id: str
    items: list[PrebookedSkuOut]
