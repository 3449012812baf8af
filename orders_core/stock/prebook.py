"""Pre-booked stock, the rules (pure): soft holds take only what firm orders leave, by priority.

Priority rule (docs/STOCK_PROTOCOL.md, "Pre-booked stock"): firm orders see ``on_hand - reserved`` and
nothing else; soft holds are not in ``reserved`` nor in the fast store. At each ``(warehouse, sku)`` the
stock left free by firm holds is shared among the active soft holds, highest customer score first (then
oldest, then id); what does not fit is ``bumped``. A customer's own firm orders of the SKU in the
pre-booked week consume its soft hold first (``consumed``), so the same units are never counted twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

StockKey = tuple[str, str]


@dataclass(frozen=True)
class SoftHold:
    """An active pre-booking as settlement sees it."""

    id: str
    customer_id: str
    warehouse_id: str
    sku: str
    requested: int
    priority: float
    created_at: datetime


@dataclass(frozen=True)
class Settlement:
    """Where a pre-booking stands: ``consumed`` by its customer's own orders, ``held`` softly from the free
    stock, ``bumped`` by firm demand; ``consumed + held + bumped == requested``."""

    consumed: int
    held: int
    bumped: int

    @property
    def fulfilled(self) -> bool:
        """The customer's own orders took all of it."""
        return self.held == 0 and self.bumped == 0


def settle(
    holds: Iterable[SoftHold], free: Mapping[StockKey, int], own_firm: Mapping[str, int]
) -> dict[str, Settlement]:
    """Settle every soft hold: ``free`` is ``on_hand - reserved`` per (warehouse, sku) (what firm orders left),
    ``own_firm`` the firm units of the hold's SKU its customer ordered in the pre-booked week, per hold id."""
    by_key: dict[StockKey, list[SoftHold]] = {}
    for hold in holds:
        by_key.setdefault((hold.warehouse_id, hold.sku), []).append(hold)
    answer: dict[str, Settlement] = {}
    for key, group in by_key.items():
        left = max(free.get(key, 0), 0)
        for hold in sorted(group, key=lambda h: (-h.priority, h.created_at, h.id)):
            consumed = min(hold.requested, max(own_firm.get(hold.id, 0), 0))
            need = hold.requested - consumed
            held = min(need, left)
            left -= held
            answer[hold.id] = Settlement(consumed, held, need - held)
    return answer


def week_of(moment: datetime) -> tuple[datetime, datetime]:
    """The UTC week (Monday 00:00 to the next Monday) containing ``moment``: a pre-booking's period; its end
    is the deadline by which the customer's orders must come."""
    moment = moment.astimezone(UTC)
    start = (moment - timedelta(days=moment.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=7)
