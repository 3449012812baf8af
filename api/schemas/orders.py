"""Request and response bodies for orders."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from api.schemas.master_data import Money, NonNegativeMoney


class OrderLineIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    qty: int = Field(gt=0, le=1_000_000_000, description="Units ordered (a positive integer).")
    unit_price: NonNegativeMoney


class DeliveryIn(BaseModel):
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lng: float = Field(ge=-180, le=180, allow_inf_nan=False)
    address: str | None = Field(default=None, max_length=500)


class OrderIn(BaseModel):
    customer_id: str = Field(min_length=1, max_length=64)
    lines: list[OrderLineIn] = Field(min_length=1, max_length=500)
    delivery: DeliveryIn


class OrderLineOut(BaseModel):
    sku: str
    qty: int
    unit_price: Money


class DeliveryOut(BaseModel):
    lat: float
    lng: float
    address: str | None = None


class TimelineEntryOut(BaseModel):
    status: str
    at: datetime
    actor: str
    reason_code: str | None = None
    reason: str | None = None
    expected_next_at: datetime | None = None


class ShipmentLineOut(BaseModel):
    sku: str
    qty: int


class ShipmentOut(BaseModel):
    warehouse_id: str
    lines: list[ShipmentLineOut]


class ExceptionOut(BaseModel):
    id: str
    order_id: str
    kind: str
    status: str
    message: str
    details: dict[str, Any]
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    note: str | None = None


class OrderOut(BaseModel):
    id: str
    status: str
    customer_id: str
    lines: list[OrderLineOut]
    delivery: DeliveryOut
    total: Money
    payment_status: str
    created_at: datetime
    updated_at: datetime
    timeline: list[TimelineEntryOut]
    shipments: list[ShipmentOut]
    exceptions: list[ExceptionOut]


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None = None


class CancelIn(BaseModel):
    reason: str | None = Field(default=None, max_length=500)
