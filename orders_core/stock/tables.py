"""Durable mirror of stock: levels per (warehouse, sku) and one row per reserved quantity of an order."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from foundation.clock import utc_now
from foundation.columns import UtcDateTime
from infra.db import Base


class StockLevelRow(Base):
    """Goods on hand and reserved at one warehouse; written in the same transaction as the order."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        Index("ix_stock_levels_sku", "sku"),
    )

    warehouse_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    on_hand: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    reserved: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utc_now)


class StockReservationRow(Base):
    """A quantity an order holds (``held``), gave back (``released``) or shipped (``consumed``)."""

    __tablename__ = "stock_reservations"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("state IN ('held', 'released', 'consumed')", name="state_known"),
        Index("ix_stock_reservations_order_id", "order_id"),
        Index("ix_stock_reservations_state", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(64), nullable=False)
    warehouse_id: Mapped[str] = mapped_column(String(64), nullable=False)
    sku: Mapped[str] = mapped_column(String(64), nullable=False)
    qty: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="held")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utc_now)
