"""Reads behind the tracking page's line-by-line table: where each stage's quantities live (stock
reservations, pick confirmations, shipments and what their carriers reported, resolved exceptions), turned
into ``line_fulfilment``'s plain facts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orders_core.orders.delays import DelayCode
from orders_core.orders.line_fulfilment import FulfilmentFacts
from orders_core.orders.model import ExceptionStatus, OrderView
from orders_core.orders.recovery.strategies import SHORT_PICK, STOCK_SHORTAGE, Strategy
from orders_core.picking.tables import PickTaskStepRow
from orders_core.stock.tables import StockReservationRow
from orders_core.transport.tracking_tables import ShipmentTrackingRow

#: Shipment statuses whose goods left the warehouse with the carrier.
COLLECTED = frozenset({"picked_up", "delivered", "failed"})


def _sum_by_sku(rows: Any) -> dict[str, int]:
    return {sku: int(qty or 0) for sku, qty in rows}


def _add(into: dict[str, list[tuple[DelayCode, int]]], sku: str, code: DelayCode, qty: int) -> None:
    if qty > 0:
        into.setdefault(sku, []).append((code, qty))


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def fulfilment_facts(session: Session, view: OrderView, tracked: Mapping[str, ShipmentTrackingRow]) -> FulfilmentFacts:
    """The order's per-SKU quantities at each stage and the evidence of any shortfall."""
    reserved = _sum_by_sku(
        session.execute(
            select(StockReservationRow.sku, func.sum(StockReservationRow.qty))
            .where(StockReservationRow.order_id == view.id, StockReservationRow.state.in_(("held", "consumed")))
            .group_by(StockReservationRow.sku)
        )
    )
    picked = _sum_by_sku(
        session.execute(
            select(PickTaskStepRow.sku, func.sum(PickTaskStepRow.picked_qty))
            .where(PickTaskStepRow.order_id == view.id, PickTaskStepRow.picked_qty.is_not(None))
            .group_by(PickTaskStepRow.sku)
        )
    )
    collected: dict[str, int] = {}
    delivered: dict[str, int] = {}
    failed: dict[str, list[tuple[DelayCode, int]]] = {}
    for shipment in view.shipments:
        row = tracked.get(shipment.id)
        for sku, qty in shipment.lines:
            if shipment.status in COLLECTED:
                collected[sku] = collected.get(sku, 0) + qty
            if shipment.status == "delivered":
                delivered[sku] = delivered.get(sku, 0) + qty
            elif shipment.status == "failed":
                returned = row is not None and row.returned
                code = DelayCode.RETURNED_TO_WAREHOUSE if returned else DelayCode.FAILED_DELIVERY_ATTEMPT
                _add(failed, sku, code, qty)
    taken_off: dict[str, list[tuple[DelayCode, int]]] = {}
    open_shortage: dict[str, int] = {}
    open_short_pick: dict[str, int] = {}
    for exception in view.exceptions:
        details = exception.details or {}
        resolution = details.get("resolution") or {}
        if exception.kind == SHORT_PICK:
            sku = str(details.get("sku", ""))
            if exception.status == ExceptionStatus.OPEN.value:
                missing = _int(details.get("qty")) - _int(details.get("picked_qty"))
                open_short_pick[sku] = open_short_pick.get(sku, 0) + max(0, missing)
            elif resolution.get("strategy") == Strategy.SHIP_PICKED.value:
                _add(taken_off, sku, DelayCode.SHORT_PICK, _int(resolution.get("qty")))
        elif exception.kind == STOCK_SHORTAGE:
            if exception.status == ExceptionStatus.OPEN.value:
                for sku, qty in (details.get("missing") or {}).items():
                    open_shortage[str(sku)] = max(open_shortage.get(str(sku), 0), _int(qty))
            elif resolution.get("strategy") == Strategy.SHIP_AVAILABLE.value:
                for sku, qty in (resolution.get("left_out") or {}).items():
                    _add(taken_off, str(sku), DelayCode.STOCK_SHORTAGE, _int(qty))
    return FulfilmentFacts(
        lines=[(line.sku, line.qty) for line in view.lines],
        taken_off=taken_off,
        reserved=reserved,
        picked=picked,
        collected=collected,
        delivered=delivered,
        open_shortage=open_shortage,
        open_short_pick=open_short_pick,
        failed=failed,
    )
