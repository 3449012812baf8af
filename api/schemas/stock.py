"""Request and response bodies for stock levels."""

from __future__ import annotations

from pydantic import BaseModel, Field

#: Counts are 32-bit integers in the database; 10^9 (the largest order-line quantity too) leaves headroom.
MAX_ON_HAND = 1_000_000_000


class StockLevelIn(BaseModel):
    """The count of goods on hand (reservations are managed by orders)."""

    on_hand: int = Field(
        ge=0, le=MAX_ON_HAND, description="Units physically at the warehouse; never negative, at most 10^9."
    )


class StockLevelOut(BaseModel):
    """Counts of one SKU at one warehouse; ``available = on_hand - reserved``."""

    warehouse_id: str
    sku: str
    on_hand: int
    reserved: int
    available: int
    #: Held orders this change let through (on hand rose: orders waiting for the SKU were retried).
    allocated_orders: list[str] = Field(default_factory=list)
    #: Units held softly for pre-booking customers (GET of one level; not in ``reserved``: firm orders may take
    #: them, docs/STOCK_PROTOCOL.md "Pre-booked stock"); never more than ``available``.
    prebooked: int | None = None
