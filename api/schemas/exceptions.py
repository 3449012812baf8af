"""Request bodies for resolving order exceptions (answers reuse api.schemas.orders.ExceptionOut)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.master_data import NonNegativeMoney
from api.schemas.orders import ExceptionOut


class ApproveIn(BaseModel):
    temporary_credit_limit: NonNegativeMoney | None = Field(
        default=None, description="For credit exceptions: a limit granted to the customer from now on."
    )
    note: str | None = Field(default=None, max_length=1000)


class RejectIn(BaseModel):
    note: str | None = Field(default=None, max_length=1000)


class ExceptionList(BaseModel):
    items: list[ExceptionOut]
    next_cursor: str | None = None


__all__ = ["ApproveIn", "ExceptionList", "ExceptionOut", "RejectIn"]
