"""Pre-booked stock: soft reservations of a customer's forecast weekly demand (docs/STOCK_PROTOCOL.md,
"Pre-booked stock"). Not in ``stock_levels.reserved`` and not in the fast store: firm orders never see them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from foundation.columns import UtcDateTime
from infra.db import Base


class PrebookingRow(Base):
    """One customer's soft reservation of one SKU at one warehouse for one week.

    ``requested_qty`` is the forecast; ``consumed_qty`` what the customer's own firm orders took of it;
    ``held_qty`` what the last settlement could hold of the rest from the stock left over by firm orders;
    ``bumped_qty`` what firm demand took away (``requested = consumed + held + bumped`` while active).
    """

    __tablename__ = "stock_prebookings"
    __table_args__ = (
        UniqueConstraint("customer_id", "sku", "week_start", name="uq_stock_prebookings_customer_sku_week"),
        CheckConstraint("requested_qty > 0", name="requested_positive"),
        CheckConstraint("consumed_qty >= 0 AND held_qty >= 0 AND bumped_qty >= 0", name="quantities_not_negative"),
        CheckConstraint("consumed_qty + held_qty + bumped_qty <= requested_qty", name="within_requested"),
        CheckConstraint("status IN ('active', 'fulfilled', 'expired', 'cancelled')", name="status_known"),
        Index("ix_stock_prebookings_warehouse_sku_status", "warehouse_id", "sku", "status"),
        Index("ix_stock_prebookings_status_expires", "status", "expires_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    warehouse_id: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(64))
    week_start: Mapped[datetime] = mapped_column(UtcDateTime())
    requested_qty: Mapped[int] = mapped_column(Integer)
    consumed_qty: Mapped[int] = mapped_column(Integer, default=0)
    held_qty: Mapped[int] = mapped_column(Integer, default=0)
    bumped_qty: Mapped[int] = mapped_column(Integer, default=0)
    #: The customer's health score when booked: a higher one keeps its soft hold longer when stock runs short.
    priority: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    #: Which demand source sized it (``history_mean_4w``, a forecast model's name, ...).
    source: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
