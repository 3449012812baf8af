"""The address check at intake: a delivery point the desk should look at before the goods travel.

Two findings, each an exception of the root cause ``address`` (docs/ROOT_CAUSES.md), opened without
holding the order (stock is still reserved and allocated, so nothing is lost while the desk checks; rejecting
the exception cancels the order, approving it closes it):

* ``address_far_from_customer``: the point lies more than ``far_from_customer_m`` from the customer's
  registered location (only when the customer has one and the limit is not 0).
* ``address_outside_coverage``: the fleet has active carriers, none of them without a delivery area, and
  the point lies in none of their areas, so no carrier will be found for it later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from geo.distance import haversine_m
from orders_core.carriers.coverage import FleetCoverage
from orders_core.master_data.model import Customer
from orders_core.orders.model import DeliveryPoint

FAR_FROM_CUSTOMER = "address_far_from_customer"
OUTSIDE_COVERAGE = "address_outside_coverage"


@dataclass(frozen=True)
class AddressPolicy:
    """When a delivery point needs a person (``DISPATCH_ADDRESS__FAR_FROM_CUSTOMER_M=30000``, ...)."""

    #: Farther than this from the customer's registered location is suspicious; 0 turns the check off.
    far_from_customer_m: float = 50_000.0
    #: Whether a point outside every active carrier's delivery area raises an exception.
    check_coverage: bool = True

    def __post_init__(self) -> None:
        if not math.isfinite(self.far_from_customer_m) or self.far_from_customer_m < 0:
            raise ValueError(f"far_from_customer_m must be a finite number >= 0, got {self.far_from_customer_m!r}")


@dataclass(frozen=True)
class AddressFinding:
    """One exception to open: its kind, message and details."""

    kind: str
    message: str
    details: dict[str, Any]


def address_findings(
    delivery: DeliveryPoint, customer: Customer, coverage: FleetCoverage | None, policy: AddressPolicy
) -> list[AddressFinding]:
    """What is wrong with the delivery point (pure; ``coverage`` None: not checked)."""
    findings = []
    point = {"lat": delivery.lat, "lng": delivery.lng, "address": delivery.address}
    if policy.far_from_customer_m and customer.lat is not None and customer.lng is not None:
        distance_m = haversine_m(delivery.lat, delivery.lng, customer.lat, customer.lng)
        if distance_m > policy.far_from_customer_m:
            findings.append(
                AddressFinding(
                    FAR_FROM_CUSTOMER,
                    f"the delivery point is {distance_m / 1000:.1f} km from customer {customer.id}'s registered"
                    f" location (limit {policy.far_from_customer_m / 1000:.1f} km)",
                    {
                        "delivery": point,
                        "customer_location": {"lat": customer.lat, "lng": customer.lng},
                        "distance_m": round(distance_m, 1),
                        "limit_m": policy.far_from_customer_m,
                    },
                )
            )
    if coverage is not None and coverage.active_carriers and not coverage.covers(delivery.lat, delivery.lng):
        findings.append(
            AddressFinding(
                OUTSIDE_COVERAGE,
                f"the delivery point lies outside the delivery area of all {coverage.active_carriers} active carriers",
                {"delivery": point, "active_carriers": coverage.active_carriers},
            )
        )
    return findings
