"""SQLAlchemy tables of carrier callbacks: every event received (unique per carrier and event id, so a
duplicate is recognised and answered as before) and each shipment's tracking state (pickup, ETA, proof).

They sit beside the waybill tables rather than on ``shipments`` so that the carrier's reports stay one
concern: the shipment row keeps the status, the tracking row what the carrier told us about the trip.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from foundation.columns import UtcDateTime
from infra.db import Base


class CarrierEventRow(Base):
    """A callback as received and the answer it got (a duplicate ``event_id`` is answered the same)."""

    __tablename__ = "carrier_events"
    __table_args__ = (
        UniqueConstraint("carrier_id", "event_id", name="uq_carrier_events_carrier_event"),
        # A carrier's newest positions first, for its forecast errors (migration 0017, eta_history).
        Index("ix_carrier_events_carrier_type_id", "carrier_id", "type", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    carrier_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(100))
    waybill_no: Mapped[str] = mapped_column(String(40), index=True)
    shipment_id: Mapped[str] = mapped_column(String(32), index=True)
    type: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    event: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ShipmentTrackingRow(Base):
    """What the carrier reported about one shipment's trip: pickup, attempts, ETA, proof of delivery."""

    __tablename__ = "shipment_tracking"

    shipment_id: Mapped[str] = mapped_column(String(32), ForeignKey("shipments.id"), primary_key=True)
    picked_up_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: The pickup was implied by a delivery outcome that arrived first (its real time may follow).
    pickup_implied: Mapped[bool] = mapped_column(Boolean, default=False)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    returned: Mapped[bool] = mapped_column(Boolean, default=False)
    #: ``at`` of the last status event applied (picked_up, delivered, failed): older ones cannot rewrite it.
    last_status_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    position_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    position_lng: Mapped[float | None] = mapped_column(Float, nullable=True)
    position_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    pickup_eta_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    eta_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    proof: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    delivered_distance_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
