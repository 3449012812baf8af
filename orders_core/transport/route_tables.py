"""SQLAlchemy table of planned delivery routes (a module of its own: ``tables.py`` beside it holds waybills).

A route belongs to one warehouse and one vehicle (an assigned carrier). Its stops, with their planned
times and each shipment's loading position, are kept as the plan made them (JSON); the shipments carry
``route_id``, ``stop_sequence`` and ``loading_position`` too, so a waybill or an order view reads them
without this table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from foundation.columns import UtcDateTime
from infra.db import Base


class DeliveryRouteRow(Base):
    """One vehicle's planned tour from a warehouse; ``status`` planned, or replaced by a later plan."""

    __tablename__ = "delivery_routes"
    __table_args__ = (Index("ix_delivery_routes_warehouse_status", "warehouse_id", "status"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    warehouse_id: Mapped[str] = mapped_column(String(64), ForeignKey("warehouses.id"))
    vehicle_id: Mapped[str] = mapped_column(String(64))
    #: planned | replaced
    status: Mapped[str] = mapped_column(String(16))
    #: Times of the stops are seconds after this instant.
    start_at: Mapped[datetime] = mapped_column(UtcDateTime())
    distance_m: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float] = mapped_column(Float)
    load_kg: Mapped[float] = mapped_column(Float)
    load_m3: Mapped[float] = mapped_column(Float)
    #: [{"shipment_id", "order_id", "sequence", "arrival_s", "start_s", "departure_s", "loading_position",
    #:   "pick_task_id"}] in delivery order.
    stops: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
