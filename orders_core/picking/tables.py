"""SQLAlchemy tables of picking: SKU slot assignments, pick tasks and their ordered steps."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from foundation.clock import utc_now
from foundation.columns import UtcDateTime
from infra.db import Base


class SkuSlotRow(Base):
    """Where a SKU is picked in one warehouse."""

    __tablename__ = "sku_slots"

    warehouse_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    slot_id: Mapped[str] = mapped_column(String(64), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utc_now)


class PickTaskRow(Base):
    """One cart's trip: a batch of orders and its route."""

    __tablename__ = "pick_tasks"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'completed')", name="status_known"),
        Index("ix_pick_tasks_warehouse_id", "warehouse_id"),
        Index("ix_pick_tasks_created_at_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")
    distance_m: Mapped[float] = mapped_column(Float, nullable=False)
    walk_from_depot_m: Mapped[float] = mapped_column(Float, nullable=False)
    method: Mapped[str] = mapped_column(String(32), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utc_now)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class PickTaskStepRow(Base):
    """One pick of a task, in walking order; ``picked_qty`` is set when the picker confirms it."""

    __tablename__ = "pick_task_steps"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("picked_qty IS NULL OR (picked_qty >= 0 AND picked_qty <= qty)", name="picked_in_range"),
        Index("ix_pick_task_steps_order_id", "order_id"),
    )

    task_id: Mapped[str] = mapped_column(String(32), ForeignKey("pick_tasks.id"), primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    slot_id: Mapped[str] = mapped_column(String(64), nullable=False)
    sku: Mapped[str] = mapped_column(String(64), nullable=False)
    qty: Mapped[int] = mapped_column(Integer, nullable=False)
    order_id: Mapped[str] = mapped_column(String(64), nullable=False)
    walk_to_next_m: Mapped[float] = mapped_column(Float, nullable=False)
    picked_qty: Mapped[int | None] = mapped_column(Integer, nullable=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class WarehouseCartRow(Base):
    """The cart a warehouse's waves use when a request names none (one per warehouse)."""

    __tablename__ = "warehouse_carts"

    warehouse_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    max_items: Mapped[int] = mapped_column(Integer, nullable=False)
    max_weight_kg: Mapped[float] = mapped_column(Float, nullable=False)
    max_volume_m3: Mapped[float] = mapped_column(Float, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utc_now)
