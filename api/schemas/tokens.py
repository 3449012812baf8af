"""Request and response bodies for token management."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Role = Literal["admin", "dispatcher", "warehouse", "carrier", "customer"]


class TokenCreate(BaseModel):
    role: Role
    subject: str | None = Field(default=None, min_length=1, max_length=64)
    label: str | None = Field(default=None, max_length=200)


class TokenCreated(BaseModel):
    id: str
    role: Role
    subject: str | None
    token: str


class TokenInfo(BaseModel):
    id: str
    role: str
    subject: str | None
    label: str | None
    created_at: datetime
    revoked_at: datetime | None
