"""Request bodies for resolving order exceptions (answers reuse api.schemas.orders.ExceptionOut)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.master_data import NonNegativeMoney
from api.schemas.orders import ExceptionOut


class ApproveIn(BaseModel):
    temporary_credit_limit: NonNegativeMoney | None = Field(
        default=None,
        description="For credit exceptions: a limit granted to the customer until it expires. It must cover the"
        " customer's open exposure plus this order (422 temporary_credit_limit_too_low otherwise).",
    )
    temporary_credit_limit_expires_at: datetime | None = Field(
        default=None,
        description="When the temporary limit lapses (future, with a time zone); default: the configured"
        " DISPATCH_TEMPORARY_CREDIT_TTL_S (7 days) from now. Afterwards the standing limit applies to new orders.",
    )
    price: Literal["quoted", "catalogue"] | None = Field(
        default=None,
        description="For price conflicts: go ahead at the quoted price (default) or re-price the conflicting"
        " lines at the catalogue price (the order total follows).",
    )
    note: str | None = Field(default=None, max_length=1000)


class RejectIn(BaseModel):
    note: str | None = Field(default=None, max_length=1000)


class ExceptionList(BaseModel):
    items: list[ExceptionOut]


__all__ = ["ApproveIn", "ExceptionList", "ExceptionOut", "RejectIn"]
