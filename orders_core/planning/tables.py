"""Tables of the stored forecast (migration 0021): the runs, the forecasts of the latest run per SKU ×
region × week, and its replenishment suggestions per warehouse and SKU.

``week`` is the ISO date (``YYYY-MM-DD``) of the week's Monday: text orders as dates on both backends and
fits the keyset cursor.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from foundation.columns import UtcDateTime
from infra.db import Base


class ForecastRunRow(Base):
    """One forecast run: its settings, the model chosen per class and its backtest scores."""

    __tablename__ = "forecast_runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    history_from: Mapped[str] = mapped_column(String(10))
    history_to: Mapped[str] = mapped_column(String(10))
    series: Mapped[int] = mapped_column(Integer)
    horizon_weeks: Mapped[int] = mapped_column(Integer)
    lead_time_weeks: Mapped[int] = mapped_column(Integer)
    h3_resolution: Mapped[int] = mapped_column(Integer)
    interval_level: Mapped[float] = mapped_column(Float)
    service_level: Mapped[float] = mapped_column(Float)
    incoherence: Mapped[float] = mapped_column(Float)
    chosen: Mapped[dict[str, Any]] = mapped_column(JSON)
    scores: Mapped[list[Any]] = mapped_column(JSON)


class ForecastRow(Base):
    """Forecast demand of one SKU in one region for one week (reconciled), with its interval."""

    __tablename__ = "forecasts"
    __table_args__ = (Index("ix_forecasts_run_region_week", "run_id", "region", "week"),)

    run_id: Mapped[str] = mapped_column(String(32), ForeignKey("forecast_runs.id"), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    region: Mapped[str] = mapped_column(String(32), primary_key=True)
    week: Mapped[str] = mapped_column(String(10), primary_key=True)
    step: Mapped[int] = mapped_column(Integer)
    demand_class: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(32))
    base: Mapped[float] = mapped_column(Float)
    forecast: Mapped[float] = mapped_column(Float)
    lo: Mapped[float] = mapped_column(Float)
    hi: Mapped[float] = mapped_column(Float)


class ReplenishmentRow(Base):
    """What one warehouse should hold of one SKU over lead time + review period, and how to get there."""

    __tablename__ = "replenishment_suggestions"

    run_id: Mapped[str] = mapped_column(String(32), ForeignKey("forecast_runs.id"), primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    demand_class: Mapped[str] = mapped_column(String(16))
    on_hand: Mapped[int] = mapped_column(Integer)
    cover_demand: Mapped[float] = mapped_column(Float)
    safety_stock: Mapped[float] = mapped_column(Float)
    order_up_to: Mapped[int] = mapped_column(Integer)
    transfer_in: Mapped[int] = mapped_column(Integer)
    transfer_out: Mapped[int] = mapped_column(Integer)
    order_qty: Mapped[int] = mapped_column(Integer)
    #: Inbound transfers: ``[{"from_warehouse", "qty"}]``; outbound ones are on the giving warehouse's row.
    transfers: Mapped[list[Any]] = mapped_column(JSON)
