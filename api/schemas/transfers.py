"""Request and response bodies for stock transfers between warehouses."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.stock import MAX_ON_HAND

TransferStatus = Literal["requested", "in_transit", "received", "cancelled"]


class TransferLineIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    qty: int = Field(gt=0, le=MAX_ON_HAND)


class TransferIn(BaseModel):
    """Move goods between warehouses; the units are held at the source at once (409 when not available)."""

    from_warehouse_id: str = Field(min_length=1, max_length=64)
    to_warehouse_id: str = Field(min_length=1, max_length=64)
    lines: list[TransferLineIn] = Field(min_length=1, max_length=500)
    order_id: str | None = Field(default=None, max_length=32, description="The held order this transfer serves.")
    note: str | None = Field(default=None, max_length=500)


class TransferStepIn(BaseModel):
    note: str | None = Field(default=None, max_length=500)


class TransferEventOut(BaseModel):
    status: str
    at: datetime
    actor: str
    note: str | None = None


class TransferLineOut(BaseModel):
    sku: str
    qty: int


class TransferOut(BaseModel):
    """A transfer: requested (held at the source) -> in_transit (left it) -> received (on hand at the
    destination), or cancelled while requested."""

    id: str
    from_warehouse_id: str
    to_warehouse_id: str
    status: TransferStatus
    lines: list[TransferLineOut]
    timeline: list[TransferEventOut]
    order_id: str | None = None
    exception_id: str | None = None
    created_by: str
    created_at: datetime
    updated_at: datetime
    #: After ``receive``: held orders the arrival let through (allocated on retry).
    allocated_orders: list[str] = Field(default_factory=list)


class TransferList(BaseModel):
    items: list[TransferOut]
