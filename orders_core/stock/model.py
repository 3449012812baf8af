"""Stock as the domain sees it: reservation lines, levels and the shortage answer.

Plain Python: the fast stores (memory, Redis) and the durable mirror all speak these types.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from foundation.errors import Conflict, InvalidInput, NotFound


@dataclass(frozen=True)
class ReservationLine:
    """``qty`` units of ``sku`` held (or to hold) at one warehouse."""

    warehouse_id: str
    sku: str
    qty: int


@dataclass(frozen=True)
class StockLevel:
    """Counts of one SKU at one warehouse; ``available = on_hand - reserved`` always."""

    on_hand: int
    reserved: int
    available: int

    @classmethod
    def of(cls, on_hand: int, reserved: int) -> StockLevel:
        """A level with ``available`` derived, so the invariant cannot be broken by construction."""
        return cls(on_hand=on_hand, reserved=reserved, available=on_hand - reserved)


@dataclass(frozen=True)
class Shortage:
    """One line that could not be held: what was asked for and what was free."""

    warehouse_id: str | None
    sku: str
    requested: int
    available: int

    def as_dict(self) -> dict[str, object]:
        """JSON-friendly form (error details, exception records)."""
        return {
            "warehouse_id": self.warehouse_id,
            "sku": self.sku,
            "requested": self.requested,
            "available": self.available,
        }


class InsufficientStock(Conflict):
    """A reservation could not be taken in full; nothing was held. Lists every short line."""

    code = "insufficient_stock"

    def __init__(self, shortages: list[Shortage]) -> None:
        self.shortages = shortages
        parts = [
            f"{s.sku} at {s.warehouse_id or 'any warehouse'}: requested {s.requested}, available {s.available}"
            for s in shortages
        ]
        super().__init__(
            "insufficient stock: " + "; ".join(parts), details={"shortages": [s.as_dict() for s in shortages]}
        )


class StockBelowReserved(Conflict):
    """``on_hand`` may not drop below what orders already hold."""

    code = "stock_below_reserved"


class NegativeQuantity(InvalidInput):
    """Counts of goods are never negative (and reservation quantities are positive)."""

    code = "invalid_quantity"


class StockLevelNotFound(NotFound):
    """No stock level was ever set for this warehouse and SKU."""

    code = "stock_not_found"


class ConsumeExceedsReservation(Conflict):
    """Picked more than the order holds at that warehouse for that SKU."""

    code = "consume_exceeds_reservation"


def merge_lines(lines: Iterable[ReservationLine]) -> list[ReservationLine]:
    """Sum quantities per (warehouse, sku), sorted so every store takes keys in the same order."""
    totals: dict[tuple[str, str], int] = {}
    for line in lines:
        key = (line.warehouse_id, line.sku)
        totals[key] = totals.get(key, 0) + line.qty
    return [ReservationLine(wh, sku, qty) for (wh, sku), qty in sorted(totals.items())]


def validate_lines(lines: Iterable[ReservationLine]) -> list[ReservationLine]:
    """Reject non-positive quantities before anything is touched; answer the merged lines."""
    lines = list(lines)
    for line in lines:
        if line.qty <= 0:
            raise NegativeQuantity(f"quantity of {line.sku} at {line.warehouse_id} must be positive, got {line.qty}")
    return merge_lines(lines)
