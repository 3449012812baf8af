"""Request body of ``POST /v1/orders/{id}/amend`` (the answer is the order, ``api.schemas.orders.OrderOut``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.master_data import ID_PATTERN, NonNegativeMoney
from orders_core.orders.amendment import AmendLine, AmendOrder
from orders_core.orders.model import DeliveryPoint


class AmendLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=64, pattern=ID_PATTERN)
    qty: int = Field(gt=0, le=1_000_000_000, description="Units ordered (a positive integer).")
    unit_price: NonNegativeMoney | None = Field(
        default=None, description="Quoted unit price; omitted: the catalogue price."
    )


class AmendDeliveryIn(BaseModel):
    """The new delivery: it replaces the whole delivery (point, address, receiver, cash on delivery)."""

    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lng: float = Field(ge=-180, le=180, allow_inf_nan=False)
    address: str | None = Field(default=None, max_length=500)
    contact_name: str | None = Field(default=None, max_length=200)
    contact_phone: str | None = Field(default=None, max_length=32, pattern=r"^\+?[0-9 ()\-]{3,32}$")
    cash_on_delivery: bool = False


class AmendIn(BaseModel):
    """New lines (they replace every line) and/or a new delivery; at least one of them."""

    model_config = ConfigDict(extra="forbid")

    lines: list[AmendLineIn] | None = Field(default=None, min_length=1, max_length=500)
    delivery: AmendDeliveryIn | None = None
    reason: str | None = Field(default=None, max_length=1000, description="Why (on the timeline).")

    def to_command(self) -> AmendOrder:
        """The domain command this body describes."""
        return AmendOrder(
            lines=None
            if self.lines is None
            else tuple(AmendLine(sku=x.sku, qty=x.qty, unit_price=x.unit_price) for x in self.lines),
            delivery=None
            if self.delivery is None
            else DeliveryPoint(
                lat=self.delivery.lat,
                lng=self.delivery.lng,
                address=self.delivery.address,
                contact_name=self.delivery.contact_name,
                contact_phone=self.delivery.contact_phone,
                cash_on_delivery=self.delivery.cash_on_delivery,
            ),
            reason=self.reason,
        )
