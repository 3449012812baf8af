"""Stored health scores: every computation (``customer_health_runs``) with its indicator lines, and each
customer's latest score (``customer_health``, what the list sorts by)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from foundation.columns import UtcDateTime
from infra.db import Base


class HealthRunRow(Base):
    """One computation of one customer's score (kept: the next one's trend compares with it)."""

    __tablename__ = "customer_health_runs"
    __table_args__ = (Index("ix_customer_health_runs_customer_computed", "customer_id", "computed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(64), ForeignKey("customers.id"))
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    previous_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    trend: Mapped[str] = mapped_column(String(16))
    #: ``schedule`` (the background job) or ``on_demand`` (POST .../health/recompute).
    trigger: Mapped[str] = mapped_column(String(16))


class HealthIndicatorRow(Base):
    """One indicator's line of a computation: raw value, tier score, weights, contribution, trend."""

    __tablename__ = "customer_health_indicators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer, ForeignKey("customer_health_runs.id"), index=True)
    indicator: Mapped[str] = mapped_column(String(40))
    raw_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    tier_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    weight: Mapped[int] = mapped_column(Integer)
    effective_weight: Mapped[float] = mapped_column(Float)
    contribution: Mapped[float] = mapped_column(Float)
    previous_tier_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    trend: Mapped[str] = mapped_column(String(16))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class CustomerHealthRow(Base):
    """A customer's latest computation; ``sort_score`` is the score, -1 when it had no data (keyset order)."""

    __tablename__ = "customer_health"
    __table_args__ = (Index("ix_customer_health_sort_score", "sort_score", "customer_id"),)

    customer_id: Mapped[str] = mapped_column(String(64), ForeignKey("customers.id"), primary_key=True)
    run_id: Mapped[int] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    sort_score: Mapped[float] = mapped_column(Float)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime())
