"""Master data as plain values: warehouses, SKUs and customers, read by every other part."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Warehouse:
    """A site that holds stock; ``layout`` is the JSON layout picking reads (None when not given)."""

    id: str
    name: str
    lat: float
    lng: float
    layout: dict[str, Any] | None = None


@dataclass(frozen=True)
class Sku:
    """A catalogue item; ``unit_price`` is the list price order lines are checked against."""

    sku: str
    name: str
    unit_price: Decimal
    weight_kg: float
    volume_m3: float


#: How long a temporary credit limit lasts when no expiry is given (overridden by settings).
DEFAULT_TEMPORARY_CREDIT_TTL_S = 7 * 24 * 3600


@dataclass(frozen=True)
class Customer:
    """A buyer with a credit line; prepaid customers' orders wait for payment before they may ship."""

    id: str
    name: str
    credit_limit: Decimal
    temporary_credit_limit: Decimal | None = None
    overdue_amount: Decimal = Decimal("0")
    lat: float | None = None
    lng: float | None = None
    prepaid: bool = False
    #: Printed masked on e-waybills.
    phone: str | None = None
    #: When the temporary limit lapses (the standing limit applies again to new orders); an expired
    #: temporary limit is read back as none (``repository._customer``).
    temporary_credit_limit_expires_at: datetime | None = None

    @property
    def effective_credit_limit(self) -> Decimal:
        """The limit the credit check applies: a temporary limit raises the standing one while it lasts (a
        standing limit raised above it meanwhile is not lowered by it)."""
        if self.temporary_credit_limit is None:
            return self.credit_limit
        return max(self.credit_limit, self.temporary_credit_limit)
