"""SQLAlchemy tables of carriers and their last durable position (one row per carrier)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from shapely.geometry.base import BaseGeometry
from sqlalchemy import Boolean, Float, ForeignKey, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from foundation.columns import UtcDateTime
from infra.db import Base
from infra.geometry import GeometryType


class CarrierRow(Base):
    """A carrier; ``coverage`` is a (Multi)Polygon in lng-lat (GiST-indexed on PostGIS by the migration)."""

    __tablename__ = "carriers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    vehicle_type: Mapped[str] = mapped_column(String(32), nullable=False)
    capacity_kg: Mapped[float] = mapped_column(Float, nullable=False)
    capacity_m3: Mapped[float] = mapped_column(Float, nullable=False)
    coverage: Mapped[BaseGeometry | None] = mapped_column(GeometryType("GEOMETRY"), nullable=True)
    webhook_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    webhook_secret: Mapped[str | None] = mapped_column(String(200), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    rate_per_km: Mapped[Decimal] = mapped_column(Numeric(12, 4), nullable=False)
    base_fare: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    on_time_rate: Mapped[float] = mapped_column(Float, nullable=False)
    rating: Mapped[float] = mapped_column(Float, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class CarrierPositionRow(Base):
    """The newest known fix of a carrier, so a restart without Redis still knows where carriers are."""

    __tablename__ = "carrier_positions"

    carrier_id: Mapped[str] = mapped_column(String(64), ForeignKey("carriers.id", ondelete="CASCADE"), primary_key=True)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    lng: Mapped[float] = mapped_column(Float, nullable=False)
    ts_s: Mapped[float] = mapped_column(Float, nullable=False)
