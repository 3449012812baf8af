"""SQLAlchemy tables of transport: e-waybills (one master per shipment, child waybills for its packages).

The shipment's transport state (carrier, status, load, route stop) lives on ``shipments`` itself
(``orders_core.orders.tables.ShipmentRow``); a waybill keeps the document as issued (sender, receiver,
items, cash on delivery, promise) so that what the carrier was told never changes behind its back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from foundation.columns import UtcDateTime
from infra.db import Base


class WaybillRow(Base):
    """An e-waybill: the master of a shipment (``parent_no`` None) or the child of one of its packages."""

    __tablename__ = "waybills"
    __table_args__ = (
        Index("ix_waybills_shipment_id", "shipment_id"),
        Index("ix_waybills_parent_no", "parent_no"),
        Index("ix_waybills_carrier_status", "carrier_id", "status"),
    )

    waybill_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    parent_no: Mapped[str | None] = mapped_column(String(40), ForeignKey("waybills.waybill_no"), nullable=True)
    #: Position of the package among its siblings (1..pieces) for a child; None for a master.
    package_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    shipment_id: Mapped[str] = mapped_column(String(32), ForeignKey("shipments.id"))
    order_id: Mapped[str] = mapped_column(String(32), ForeignKey("orders.id"))
    carrier_id: Mapped[str] = mapped_column(String(64))
    #: issued | picked_up | delivered | failed | cancelled (orders_core.transport.model.WaybillStatus)
    status: Mapped[str] = mapped_column(String(16))
    weight_kg: Mapped[float] = mapped_column(Float)
    volume_m3: Mapped[float] = mapped_column(Float)
    pieces: Mapped[int] = mapped_column(Integer)
    #: The issued document's fixed part: sender, receiver, items, packages, cash on delivery, promise.
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
