"""How well a carrier's forecasts held: for its recent delivered shipments, when the goods arrived against
the drop-off ETAs we forecast from its positions (stored with each position event's answer). The delivery
window (``eta_window``) widens by the spread of these errors."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from orders_core.transport.tracking_tables import CarrierEventRow, ShipmentTrackingRow

#: Recent delivered shipments per carrier whose forecasts count (one error each: their mean).
RECENT_SHIPMENTS = 50
#: Position events read per carrier at most, newest first (bounds the read for a busy carrier).
MAX_EVENTS = 500


def forecast_errors_s(session: Session, carrier_ids: Collection[str]) -> dict[str, list[float]]:
    """Carrier id -> (delivered at - forecast ETA) in seconds, one mean error per recent delivered shipment;
    positive: later than forecast. Carriers without a delivered, forecast shipment map to an empty list."""
    errors: dict[str, list[float]] = {}
    for carrier_id in sorted(set(carrier_ids)):
        rows = session.execute(
            select(CarrierEventRow.shipment_id, CarrierEventRow.result, ShipmentTrackingRow.delivered_at)
            .join(ShipmentTrackingRow, ShipmentTrackingRow.shipment_id == CarrierEventRow.shipment_id)
            .where(
                CarrierEventRow.carrier_id == carrier_id,
                CarrierEventRow.type == "position",
                ShipmentTrackingRow.delivered_at.is_not(None),
            )
            .order_by(CarrierEventRow.id.desc())
            .limit(MAX_EVENTS)
        )
        per_shipment: dict[str, list[float]] = {}
        for shipment_id, result, delivered_at in rows:
            eta = (result or {}).get("eta_at")
            if not isinstance(eta, str) or delivered_at is None:
                continue
            if shipment_id not in per_shipment and len(per_shipment) >= RECENT_SHIPMENTS:
                continue
            error = (delivered_at - datetime.fromisoformat(eta)).total_seconds()
            per_shipment.setdefault(shipment_id, []).append(error)
        errors[carrier_id] = [sum(e) / len(e) for e in per_shipment.values()]
    return errors
