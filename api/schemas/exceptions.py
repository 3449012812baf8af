"""Request bodies for resolving order exceptions (answers reuse api.schemas.orders.ExceptionOut)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from api.schemas.master_data import ID_PATTERN, NonNegativeMoney
from api.schemas.orders import ExceptionOut


class ApproveIn(BaseModel):
    temporary_credit_limit: NonNegativeMoney | None = Field(
        default=None,
        description="For credit exceptions: a limit granted to the customer until it expires. It must cover the"
        " customer's open exposure plus this order (422 temporary_credit_limit_too_low otherwise).",
    )
    temporary_credit_limit_expires_at: AwareDatetime | None = Field(
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
    strategy: Literal["repick", "ship_picked", "wait_for_stock", "transfer", "ship_available"] | None = Field(
        default=None,
        description=(
            "The way out, for short_pick (repick: default, ship_picked) and stock_shortage (wait_for_stock:"
            " default, transfer, ship_available) exceptions; the exception's details.strategy lists them."
        ),
    )
    remainder: Literal["backorder", "cancel"] = Field(
        default="backorder",
        description="ship_picked / ship_available: the units left out become a new linked order, or are cancelled.",
    )


class RejectIn(BaseModel):
    note: str | None = Field(default=None, max_length=1000)


class ExceptionList(BaseModel):
    items: list[ExceptionOut]
    next_cursor: str | None = None


class BulkResolveIn(BaseModel):
    """Resolve several exceptions with one action; each is resolved on its own (per-item results)."""

    ids: list[str] = Field(min_length=1, max_length=100)
    action: Literal["approve", "reject"]
    strategy: Literal["repick", "ship_picked", "wait_for_stock", "transfer", "ship_available"] | None = None
    remainder: Literal["backorder", "cancel"] = "backorder"
    note: str | None = Field(default=None, max_length=1000)

    @field_validator("ids")
    @classmethod
    def _distinct_ids(cls, ids: list[str]) -> list[str]:
        if len(set(ids)) != len(ids):
            raise ValueError("ids must be distinct")
        for value in ids:
            if not (1 <= len(value) <= 64) or not re.fullmatch(ID_PATTERN, value):
                raise ValueError(f"{value!r} is not an exception id")
        return ids


class BulkItemOut(BaseModel):
    """One id's outcome: ``ok`` with the exception as resolved, or the error it would have answered alone."""

    id: str
    ok: bool
    status: int = Field(description="The HTTP status this id alone would have answered (200, 404, 409, 422).")
    exception: ExceptionOut | None = None
    error: dict[str, str] | None = None


class BulkResolveOut(BaseModel):
    """Per-item results, in the order of ``ids`` (not all-or-nothing)."""

    items: list[BulkItemOut]
    resolved: int
    failed: int


__all__ = ["ApproveIn", "BulkItemOut", "BulkResolveIn", "BulkResolveOut", "ExceptionList", "ExceptionOut", "RejectIn"]
