"""SQLAlchemy tables of master data; the warehouse location is a geometry point plus plain lat/lng."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import JSON, Boolean, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from foundation.columns import MONEY, UtcDateTime
from infra.db import Base
from infra.geometry import GeometryType


class WarehouseRow(Base):
    """A warehouse; ``layout`` is stored verbatim as JSON for picking to parse."""

    __tablename__ = "warehouses"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    location: Mapped[BaseGeometry] = mapped_column(GeometryType("POINT"))
    layout: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SkuRow(Base):
    """A catalogue item with its list price and physical size."""

    __tablename__ = "skus"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    weight_kg: Mapped[float] = mapped_column(Float)
    volume_m3: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class CustomerRow(Base):
    """A customer with its credit line and (optional) default delivery location."""

    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    credit_limit: Mapped[Decimal] = mapped_column(MONEY)
    temporary_credit_limit: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    #: A temporary limit lapses at this time (issue 12); NULL only when there is no temporary limit.
    temporary_credit_limit_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    overdue_amount: Mapped[Decimal] = mapped_column(MONEY)
    prepaid: Mapped[bool] = mapped_column(Boolean)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lng: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Printed masked on e-waybills (issue 11).
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
