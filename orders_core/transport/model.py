"""Transport as plain values: shipment and waybill statuses, the load of a shipment, assignment results,
and the domain errors of assignment and waybills."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from foundation.errors import Conflict, InvalidInput, NotFound


class ShipmentStatus(StrEnum):
    """Where a shipment stands on its way to the customer.

    ``ready`` waits for a carrier; ``assigned`` has one and its waybill; the carrier's callbacks move it to
    ``picked_up``, ``delivered`` or ``failed``; cancelling the order cancels it.
    """

    READY = "ready"
    ASSIGNED = "assigned"
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: A carrier may be (re)assigned only before the goods leave the warehouse.
ASSIGNABLE: frozenset[ShipmentStatus] = frozenset({ShipmentStatus.READY, ShipmentStatus.ASSIGNED})


class WaybillStatus(StrEnum):
    """An e-waybill's state; a cancelled one stays readable (the old carrier may still ask about it)."""

    ISSUED = "issued"
    PICKED_UP = "picked_up"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


class AssignAt(StrEnum):
    """When shipments are assigned a carrier automatically (``DISPATCH_TRANSPORT__ASSIGN_AT``)."""

    ALLOCATION = "allocation"  # as soon as the order is allocated
    PICKED = "picked"  # once the order's picks are confirmed (the order is ``loaded``)
    MANUAL = "manual"  # never: dispatchers call POST /v1/shipments/{id}/assign


@dataclass(frozen=True)
class Load:
    """What a shipment weighs and takes up (from the SKU master data)."""

    weight_kg: float
    volume_m3: float


@dataclass(frozen=True)
class Assignment:
    """The answer of an assignment: the shipment, its carrier and the waybill issued to it."""

    shipment_id: str
    carrier_id: str
    waybill_no: str
    previous_carrier_id: str | None = None
    cancelled_waybill_no: str | None = None


class ShipmentNotFound(NotFound):
    """No shipment with this id."""

    code = "shipment_not_found"


class WaybillNotFound(NotFound):
    """No waybill with this number (or not one the caller may see)."""

    code = "waybill_not_found"


class ShipmentNotAssignable(Conflict):
    """The shipment has left the warehouse, was delivered, or its order was cancelled."""

    code = "shipment_not_assignable"


class NoCarrierInRange(Conflict):
    """Nobody is eligible for the shipment, even at the widest fallback radius (409 per the contract)."""

    code = "no_carrier_in_range"


class ReasonRequired(InvalidInput):
    """A manual choice of carrier must say why (it goes on the order's timeline)."""

    code = "reason_required"


class UnknownCarrier(InvalidInput):
    """The body names a carrier that does not exist."""

    code = "unknown_carrier"


class CarrierInactive(Conflict):
    """The named carrier is switched off."""

    code = "carrier_inactive"


class CarrierCannotCarry(Conflict):
    """The named carrier's vehicle is too small for the shipment, or its coverage excludes the drop-off."""

    code = "carrier_cannot_carry"
