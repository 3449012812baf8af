"""Durable mirror of stock: levels per (warehouse, sku) and one row per reserved quantity of an order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, Integer, String
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
        # No oversell even if the fast store (Redis) is wrong: the database refuses more holds than goods.
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
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


class StockTransferRow(Base):
    """Goods moving between two warehouses: ``requested`` (held at the source) -> ``in_transit`` (left the
    source) -> ``received`` (on hand at the destination), or ``cancelled`` before it leaves."""

    __tablename__ = "stock_transfers"
    __table_args__ = (
        CheckConstraint("status IN ('requested', 'in_transit', 'received', 'cancelled')", name="status_known"),
        Index("ix_stock_transfers_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    from_warehouse_id: Mapped[str] = mapped_column(String(64), nullable=False)
    to_warehouse_id: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    #: [{"sku", "qty"}] moved.
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    #: [{"status", "at", "actor", "note"}], oldest first.
    timeline: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    #: The held order (and its exception) this transfer was made for, if any: retried when it arrives.
    order_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    exception_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utc_now)
