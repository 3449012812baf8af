"""Picking as plain values: pick tasks and their steps, and the commands the picking use cases take."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from warehouse_picking.waves import CartLimits


@dataclass(frozen=True)
class PickStep:
    """One pick in walking order."""

    step: int
    slot_id: str
    sku: str
    qty: int
    order_id: str
    walk_to_next_m: float
    picked_qty: int | None
    confirmed_at: datetime | None


@dataclass(frozen=True)
class PickTask:
    """A cart's trip with its ordered steps."""

    id: str
    warehouse_id: str
    status: str
    distance_m: float
    walk_from_depot_m: float
    method: str
    created_at: datetime
    completed_at: datetime | None
    steps: tuple[PickStep, ...]

    @property
    def order_ids(self) -> list[str]:
        """Orders in this task, in first-pick order."""
        return list(dict.fromkeys(s.order_id for s in self.steps))


@dataclass(frozen=True)
class CreateWave:
    """Batch a warehouse's allocated orders (all, or only ``order_ids``) into pick tasks, each within one
    cart's limits: ``cart`` when given, else the cart stored for the warehouse."""

    warehouse_id: str
    actor: str
    cart: CartLimits | None = None
    order_ids: tuple[str, ...] | None = None
    time_limit_s: float | None = None  # routing time limit per task; None: the picking params' wave_time_limit_s


@dataclass(frozen=True)
class PickConfirmation:
    """The picker's count for one step."""

    step: int
    picked_qty: int
