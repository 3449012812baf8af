"""Request and response bodies for warehouses, SKUs and customers."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

# Money travels as a JSON number (exact Decimal inside); strings such as "12.50" are accepted too.
Money = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
NonNegativeMoney = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("1e12"), allow_inf_nan=False),
    PlainSerializer(float, return_type=float, when_used="json"),
]


#: Ids in paths and query strings: printable, no separators (PostgreSQL also refuses NUL characters).
ID_PATTERN = r"^[A-Za-z0-9._:\-]+$"
#: A resource id in a URL path.
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
#: Free text in query strings: anything but NUL.
TEXT_PATTERN = r"^[^\x00]*$"


class LatLng(BaseModel):
    """A coordinate in degrees: WGS-84, or the coordinate system named by the body's ``crs`` where it has one."""

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lng: float = Field(ge=-180, le=180, allow_inf_nan=False)


class WarehouseIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    location: LatLng
    layout: dict[str, Any] | None = None


class WarehouseOut(BaseModel):
    id: str
    name: str
    location: LatLng
    layout: dict[str, Any] | None = None


class SkuIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    unit_price: NonNegativeMoney
    weight_kg: float = Field(ge=0, allow_inf_nan=False)
    volume_m3: float = Field(ge=0, allow_inf_nan=False)


class SkuOut(BaseModel):
    sku: str
    name: str
    unit_price: Money
    weight_kg: float
    volume_m3: float


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=200)
    credit_limit: NonNegativeMoney
    location: LatLng | None = None
    overdue_amount: NonNegativeMoney = Decimal("0")
    prepaid: bool = False
    temporary_credit_limit: NonNegativeMoney | None = None


class CustomerOut(BaseModel):
    id: str
    name: str
    credit_limit: Money
    location: LatLng | None = None
    overdue_amount: Money
    prepaid: bool
    temporary_credit_limit: Money | None = None
    effective_credit_limit: Money
