"""Payment-gateway notification body and answer."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.master_data import NonNegativeMoney


class PaymentNotification(BaseModel):
    transaction_id: str = Field(min_length=1, max_length=100)
    order_id: str = Field(min_length=1, max_length=32)
    status: Literal["paid", "failed", "refunded"]
    amount: NonNegativeMoney


class PaymentAnswer(BaseModel):
    order_id: str
    payment_status: str
    duplicate: bool
