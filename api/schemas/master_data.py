"""Request and response bodies for warehouses, SKUs and customers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from api.schemas.presentation import Money, NonNegativeMoney
from orders_core.master_data.model import Customer, Sku, Warehouse

# Money travels as a JSON number (exact Decimal inside); strings such as "12.50" are accepted too.
# Defined with the rest of the wire format in api.schemas.presentation (imported from here by other schemas).


#: Ids in paths and query strings: printable, no separators (PostgreSQL also refuses NUL characters).
ID_PATTERN = r"^[A-Za-z0-9._:\-]+$"
#: A resource id in a URL path.
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
#: Free text in query strings: anything but NUL.
TEXT_PATTERN = r"^[^\x00]*$"
#: Free text that must say something: at least one character that is not white space, no NUL.
NON_BLANK_TEXT_PATTERN = r"^[^\x00]*[^\s\x00][^\x00]*$"


class LatLng(BaseModel):
    """A coordinate in degrees: WGS-84, or the coordinate system named by the body's ``crs`` where it has one."""

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lng: float = Field(ge=-180, le=180, allow_inf_nan=False)


class WarehouseIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    location: LatLng
    layout: dict[str, Any] | None = None

    def to_warehouse(self, warehouse_id: str) -> Warehouse:
        """The domain warehouse this body describes (the router and the demo loader both build it here)."""
        return Warehouse(
            id=warehouse_id, name=self.name, lat=self.location.lat, lng=self.location.lng, layout=self.layout
        )


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

    def to_sku(self, sku: str) -> Sku:
        """The domain catalogue item this body describes."""
        return Sku(
            sku=sku, name=self.name, unit_price=self.unit_price, weight_kg=self.weight_kg, volume_m3=self.volume_m3
        )


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
    temporary_credit_limit_expires_at: datetime | None = Field(
        default=None,
        description="When the temporary limit lapses (future, with a time zone); default: the configured"
        " DISPATCH_TEMPORARY_CREDIT_TTL_S from now.",
    )
    phone: str | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9 ()\-]{3,32}$")

    def to_customer(self, customer_id: str) -> Customer:
        """The domain customer this body describes."""
        return Customer(
            id=customer_id,
            name=self.name,
            credit_limit=self.credit_limit,
            temporary_credit_limit=self.temporary_credit_limit,
            temporary_credit_limit_expires_at=self.temporary_credit_limit_expires_at,
            overdue_amount=self.overdue_amount,
            lat=None if self.location is None else self.location.lat,
            lng=None if self.location is None else self.location.lng,
            prepaid=self.prepaid,
            phone=self.phone,
        )


class CustomerOut(BaseModel):
    id: str
    name: str
    credit_limit: Money
    location: LatLng | None = None
    overdue_amount: Money
    prepaid: bool
    temporary_credit_limit: Money | None = None
    #: When the temporary limit lapses (None without one); afterwards ``credit_limit`` applies again.
    temporary_credit_limit_expires_at: datetime | None = None
    effective_credit_limit: Money
    phone: str | None = None
