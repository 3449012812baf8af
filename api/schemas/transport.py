"""Request and response bodies of transport: carrier assignment of a shipment."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.master_data import ID_PATTERN


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
