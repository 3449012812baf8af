"""Request and response bodies for pick routes, SKU slots, waves and pick tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from warehouse_picking.routes import RouteMethod


class PickRouteIn(BaseModel):
    """Slots to visit; duplicates and both sides of one position count as one stop."""

    slots: list[Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\x00]+$")]] = Field(
        description="Slot ids, e.g. A03-L-012 for rectangular layouts.", max_length=1000
    )
    method: RouteMethod = Field("auto", description="auto: exact where affordable, OR-Tools otherwise.")
    time_limit_s: float = Field(1.0, gt=0, le=30, description="Upper bound on solving time.")


class PickRouteOut(BaseModel):
    """The closed walk from the depot: slot ids in visiting order and its true length."""

    sequence: list[str]
    distance_m: float
    method: str
    lower_bound_m: float | None = None
    proven_optimal: bool
    stops: int
    solve_ms: float


class SkuSlotIn(BaseModel):
    """Where a SKU is picked."""

    slot: str = Field(
        min_length=1, max_length=64, pattern=r"^[^\x00]+$", description="A slot of the layout, e.g. A03-L-012."
    )


class SkuSlotOut(BaseModel):
    """A SKU's slot in one warehouse."""

    warehouse_id: str
    sku: str
    slot: str


class CartIn(BaseModel):
    """What one picking cart carries."""

    max_items: int = Field(gt=0, le=1_000_000)
    # At least the unit's presented precision (a gram, a cubic centimetre): a smaller positive limit would be
    # answered back rounded to 0, which no cart can carry.
    max_weight_kg: float = Field(ge=0.001, le=1_000_000, allow_inf_nan=False)
    max_volume_m3: float = Field(ge=0.000001, le=1_000_000, allow_inf_nan=False)


class CartOut(CartIn):
    """A warehouse's stored cart."""

    warehouse_id: str


class WaveIn(BaseModel):
    """Build pick tasks for the warehouse's allocated orders (or only ``order_ids``) with a cart."""

    cart: CartIn | None = Field(
        default=None, description="Overrides the warehouse's stored cart (PUT /v1/warehouses/{id}/cart)."
    )
    order_ids: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="Only these orders; the others stay allocated for a later wave.",
    )
    time_limit_s: float = Field(0.5, gt=0, le=10, description="Routing time limit per task.")


class PickStepOut(BaseModel):
    """One pick in walking order; ``walk_to_next_m`` leads to the next step (the last one: to the depot)."""

    step: int
    slot: str
    sku: str
    qty: int
    order_id: str
    walk_to_next_m: float
    picked_qty: int | None = None
    confirmed_at: datetime | None = None


class PickTaskOut(BaseModel):
    """A cart's trip."""

    id: str
    warehouse_id: str
    status: str
    distance_m: float
    walk_from_depot_m: float
    method: str
    order_ids: list[str]
    created_at: datetime
    completed_at: datetime | None = None
    steps: list[PickStepOut]


class LeftOutOut(BaseModel):
    """An order the wave did not pick, and why; it stays where it was (e.g. ``allocated``)."""

    order_id: str
    code: str
    reason: str


class WaveOut(BaseModel):
    """The tasks of a wave; orders split across several trips; orders left out with the reason."""

    tasks: list[PickTaskOut]
    orders: int
    distance_m: float
    split_orders: list[str] = Field(default_factory=list, description="Orders picked on more than one trip.")
    left_out: list[LeftOutOut] = Field(default_factory=list)


class PickIn(BaseModel):
    """The picker's count for one step."""

    step: int = Field(ge=1, le=100_000, description="The step's number in the task (1..number of steps).")
    picked_qty: int = Field(ge=0, le=1_000_000_000, description="At most the step's qty (422 invalid_pick).")


class ConfirmIn(BaseModel):
    """Counts for some or all steps of a task."""

    picks: list[PickIn] = Field(min_length=1, max_length=10_000, description="Each step at most once.")
