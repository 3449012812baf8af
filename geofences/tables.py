"""SQLAlchemy table of geofences; the bounding box columns give both backends a cheap prefilter."""

from __future__ import annotations

from datetime import datetime

from shapely.geometry.base import BaseGeometry
from sqlalchemy import Boolean, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from foundation.columns import UtcDateTime
from infra.db import Base
from infra.geometry import GeometryType


class GeofenceRow(Base):
    """A fence; ``geometry`` is GiST-indexed on PostGIS by the migration."""

    __tablename__ = "geofences"
    __table_args__ = (
        Index("ix_geofences_kind_owner", "kind", "owner_id"),
        Index("ix_geofences_bbox", "min_lng", "max_lng", "min_lat", "max_lat"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    owner_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    geometry: Mapped[BaseGeometry] = mapped_column(GeometryType("GEOMETRY"), nullable=False)
    min_lng: Mapped[float] = mapped_column(Float, nullable=False)
    min_lat: Mapped[float] = mapped_column(Float, nullable=False)
    max_lng: Mapped[float] = mapped_column(Float, nullable=False)
    max_lat: Mapped[float] = mapped_column(Float, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)


class GeofenceEventRow(Base):
    """A confirmed enter/exit of a carrier, appended as fixes arrive."""

    __tablename__ = "geofence_events"
    __table_args__ = (
        Index("ix_geofence_events_carrier", "carrier_id", "ts_s"),
        Index("ix_geofence_events_fence", "fence_id", "ts_s"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    carrier_id: Mapped[str] = mapped_column(String(64), nullable=False)
    fence_id: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)
    ts_s: Mapped[float] = mapped_column(Float, nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    lng: Mapped[float] = mapped_column(Float, nullable=False)
    via_crossing: Mapped[bool] = mapped_column(Boolean, nullable=False)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False)
