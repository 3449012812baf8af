"""Request and response bodies of transport: carrier assignment of a shipment."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas.master_data import ID_PATTERN
from api.schemas.orders import ShipmentOut


class AssignIn(BaseModel):
    carrier_id: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=ID_PATTERN, description="Omit for the best eligible carrier."
    )
    reason: str | None = Field(default=None, max_length=500, description="Required when carrier_id is given.")


class AssignOut(BaseModel):
    shipment_id: str
    carrier_id: str
    waybill_no: str
    previous_carrier_id: str | None = None
    cancelled_waybill_no: str | None = None


class ShipmentListItemOut(ShipmentOut):
    """A shipment in the desk's list: its order, route and loading position beside what GET /v1/orders/{id}
    shows of it."""

    order_id: str
    route_id: str | None = None
    loading_position: int | None = None
    created_at: datetime
