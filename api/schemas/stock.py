"""Request and response bodies for stock levels."""

from __future__ import annotations

from pydantic import BaseModel, Field


class StockLevelIn(BaseModel):
    """The count of goods on hand (reservations are managed by orders)."""

    on_hand: int = Field(ge=0, description="Units physically at the warehouse; never negative.")


class StockLevelOut(BaseModel):
    """Counts of one SKU at one warehouse; ``available = on_hand - reserved``."""

    warehouse_id: str
    sku: str
    on_hand: int
    reserved: int
    available: int
