"""Carrier callbacks (``POST /v1/carriers/{id}/events``): the contract's body, with the optional extras
``proof`` fields and ``strategy`` for a failed delivery, and the answer."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.schemas.master_data import ID_PATTERN, TEXT_PATTERN
from orders_core.transport.carrier_events import CarrierEventResult
from orders_core.transport.tracking import CarrierEvent, CarrierEventType, FailStrategy


class EventLocationIn(BaseModel):
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lng: float = Field(ge=-180, le=180, allow_inf_nan=False)


class ProofIn(BaseModel):
    """Proof of delivery: who signed, a reference to the photo taken (the photo itself stays with the carrier).

    The contract leaves ``proof`` open, so other keys a carrier sends are kept as given.
    """

    model_config = ConfigDict(extra="allow")

    signer: str | None = Field(default=None, max_length=200, pattern=TEXT_PATTERN)
    photo_ref: str | None = Field(default=None, max_length=500, pattern=TEXT_PATTERN)
    note: str | None = Field(default=None, max_length=500, pattern=TEXT_PATTERN)


class CarrierEventIn(BaseModel):
    event_id: str = Field(min_length=1, max_length=100, pattern=ID_PATTERN)
    waybill_no: str = Field(min_length=1, max_length=40, pattern=ID_PATTERN)
    type: Literal["picked_up", "position", "delivered", "failed"]
    at: AwareDatetime
    location: EventLocationIn | None = None
    proof: ProofIn | None = None
    reason: str | None = Field(default=None, max_length=200, pattern=TEXT_PATTERN)
    strategy: Literal["re_attempt", "return"] | None = None

    def to_event(self) -> CarrierEvent:
        """The domain's event."""
        proof = {} if self.proof is None else self.proof.model_dump(exclude_none=True)
        return CarrierEvent(
            event_id=self.event_id,
            waybill_no=self.waybill_no,
            type=CarrierEventType(self.type),
            at=self.at,
            location=None if self.location is None else (self.location.lat, self.location.lng),
            proof=proof,
            reason=self.reason,
            strategy=None if self.strategy is None else FailStrategy(self.strategy),
        )


class CarrierEventOut(BaseModel):
    event_id: str
    waybill_no: str
    shipment_id: str
    order_id: str
    type: str
    applied: bool
    duplicate: bool
    shipment_status: str
    waybill_status: str
    order_status: str
    eta_at: str | None = None
    failed_attempts: int = 0
    flags: list[str] = []
    note: str | None = None

    @classmethod
    def of(cls, result: CarrierEventResult) -> CarrierEventOut:
        """API form of a callback's result."""
        return cls(**result.as_json())
