"""How a producer announces a waybill event to its carrier: one outbox row in the change's transaction.

The row (topic ``carrier.webhook``, aggregate = the waybill number) commits or rolls back with the change
it announces; the delivery worker turns it into a signed webhook afterwards (``relay``). Producers may
also write the same row with ``OrderRepository.add_outbox`` directly; this function only spells it once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from foundation.clock import utc_now
from orders_core.orders.repository import OrderRepository
from orders_core.transport.webhooks.model import EVENT_TYPES, TOPIC, InvalidWebhookEvent
from orders_core.unit_of_work import UnitOfWork


def waybill_event_payload(
    carrier_id: str, event_type: str, waybill: dict[str, Any], at: datetime | None = None
) -> dict[str, Any]:
    """The outbox payload of one waybill event (the webhook body is built from it)."""
    if event_type not in EVENT_TYPES:
        raise InvalidWebhookEvent(f"unknown waybill event type {event_type!r} (known: {', '.join(EVENT_TYPES)})")
    if not carrier_id:
        raise InvalidWebhookEvent("a waybill event needs the carrier it is sent to")
    timestamp = (at or utc_now()).isoformat().replace("+00:00", "Z")
    return {"carrier_id": carrier_id, "type": event_type, "timestamp": timestamp, "data": waybill}


def announce_waybill_event(
    uow: UnitOfWork, *, carrier_id: str, event_type: str, waybill: dict[str, Any], at: datetime | None = None
) -> None:
    """Queue ``event_type`` about ``waybill`` for ``carrier_id``'s webhook, in ``uow``'s transaction.

    ``waybill`` is the e-waybill JSON (``waybill["waybill_no"]`` is the aggregate id). Nothing is sent
    unless and until the caller commits.
    """
    waybill_no = str(waybill.get("waybill_no") or "")
    if not waybill_no:
        raise InvalidWebhookEvent("a waybill event needs the waybill's 'waybill_no'")
    payload = waybill_event_payload(carrier_id, event_type, waybill, at)
    OrderRepository(uow.session).add_outbox(TOPIC, waybill_no, payload)
