"""Pre-booked stock in the database: the soft-reservation rows and the aggregates settlement needs (free
stock per key, each customer's own firm units in the pre-booked week, the warehouse that usually serves a
customer). Reads ``stock_levels`` without locking it: firm orders never wait for pre-booking."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, literal, select, tuple_
from sqlalchemy.orm import Session

from foundation.columns import UtcDateTime
from orders_core.orders.model import OrderStatus
from orders_core.orders.tables import OrderRow
from orders_core.stock.prebook import SoftHold, StockKey
from orders_core.stock.prebook_tables import PrebookingRow
from orders_core.stock.tables import StockLevelRow, StockReservationRow

ACTIVE = "active"
#: Reservation states that count as the customer's firm demand (released ones were given back).
FIRM_STATES = ("held", "consumed")


def soft_hold(row: PrebookingRow) -> SoftHold:
    """The settlement view of a row."""
    return SoftHold(row.id, row.customer_id, row.warehouse_id, row.sku, row.requested_qty, row.priority, row.created_at)


class PrebookRepository:
    """Soft reservations and their aggregates, in the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def active(
        self, *, warehouse_id: str | None = None, sku: str | None = None, for_update: bool = False
    ) -> list[PrebookingRow]:
        """Active pre-bookings (optionally of one warehouse / SKU), in a stable order."""
        query = select(PrebookingRow).where(PrebookingRow.status == ACTIVE)
        if warehouse_id is not None:
            query = query.where(PrebookingRow.warehouse_id == warehouse_id)
        if sku is not None:
            query = query.where(PrebookingRow.sku == sku)
        query = query.order_by(PrebookingRow.warehouse_id, PrebookingRow.sku, PrebookingRow.id)
        if for_update:
            query = query.with_for_update()
        return list(self.session.scalars(query))

    def free(self, keys: Collection[StockKey]) -> dict[StockKey, int]:
        """``on_hand - reserved`` per key (firm holds only), read without a lock."""
        if not keys:
            return {}
        rows = self.session.execute(
            select(StockLevelRow.warehouse_id, StockLevelRow.sku, StockLevelRow.on_hand - StockLevelRow.reserved).where(
                tuple_(StockLevelRow.warehouse_id, StockLevelRow.sku).in_(sorted(set(keys)))
            )
        )
        return {(wh, sku): int(free) for wh, sku, free in rows}

    def own_firm(self, rows: Sequence[PrebookingRow]) -> dict[str, int]:
        """Per pre-booking: firm units of its SKU that its customer's orders placed in its week hold or took
        (any warehouse). One grouped statement per distinct week."""
        answer: dict[str, int] = {}
        weeks: dict[tuple[datetime, datetime], list[PrebookingRow]] = {}
        for row in rows:
            weeks.setdefault((row.week_start, row.expires_at), []).append(row)
        for (start, end), group in weeks.items():
            pairs = sorted({(r.customer_id, r.sku) for r in group})
            totals = dict(
                ((cid, sku), int(qty or 0))
                for cid, sku, qty in self.session.execute(
                    select(OrderRow.customer_id, StockReservationRow.sku, func.sum(StockReservationRow.qty))
                    .join(OrderRow, OrderRow.id == StockReservationRow.order_id)
                    .where(
                        tuple_(OrderRow.customer_id, StockReservationRow.sku).in_(pairs),
                        StockReservationRow.state.in_(FIRM_STATES),
                        OrderRow.status != OrderStatus.CANCELLED.value,
                        OrderRow.created_at >= literal(start, UtcDateTime()),
                        OrderRow.created_at < literal(end, UtcDateTime()),
                    )
                    .group_by(OrderRow.customer_id, StockReservationRow.sku)
                )
            )
            for row in group:
                answer[row.id] = totals.get((row.customer_id, row.sku), 0)
        return answer

    def existing(self, week_start: datetime, customer_ids: Collection[str]) -> set[tuple[str, str]]:
        """(customer, sku) pairs already pre-booked for the week (whatever their status)."""
        if not customer_ids:
            return set()
        rows = self.session.execute(
            select(PrebookingRow.customer_id, PrebookingRow.sku).where(
                PrebookingRow.week_start == literal(week_start, UtcDateTime()),
                PrebookingRow.customer_id.in_(sorted(customer_ids)),
            )
        )
        return {(cid, sku) for cid, sku in rows}

    def usual_warehouses(self, customer_ids: Collection[str]) -> dict[tuple[str, str], str]:
        """(customer, sku) -> the warehouse that served most of the customer's firm units of the SKU."""
        if not customer_ids:
            return {}
        rows = self.session.execute(
            select(
                OrderRow.customer_id,
                StockReservationRow.sku,
                StockReservationRow.warehouse_id,
                func.sum(StockReservationRow.qty),
            )
            .join(OrderRow, OrderRow.id == StockReservationRow.order_id)
            .where(OrderRow.customer_id.in_(sorted(customer_ids)), StockReservationRow.state.in_(FIRM_STATES))
            .group_by(OrderRow.customer_id, StockReservationRow.sku, StockReservationRow.warehouse_id)
        )
        best: dict[tuple[str, str], tuple[int, str]] = {}
        for cid, sku, wh, qty in rows:
            units = int(qty or 0)
            current = best.get((cid, sku))
            if current is None or units > current[0] or (units == current[0] and wh < current[1]):
                best[(cid, sku)] = (units, wh)
        return {key: wh for key, (_, wh) in best.items()}

    def most_free_warehouse(self, skus: Collection[str]) -> dict[str, str]:
        """sku -> the warehouse with the most free units of it (ties: lowest id)."""
        if not skus:
            return {}
        rows = self.session.execute(
            select(StockLevelRow.warehouse_id, StockLevelRow.sku, StockLevelRow.on_hand - StockLevelRow.reserved)
            .where(StockLevelRow.sku.in_(sorted(skus)))
            .order_by(
                StockLevelRow.sku, (StockLevelRow.on_hand - StockLevelRow.reserved).desc(), StockLevelRow.warehouse_id
            )
        )
        answer: dict[str, str] = {}
        for wh, sku, _free in rows:
            answer.setdefault(sku, wh)
        return answer

    def due(self, now: datetime) -> list[PrebookingRow]:
        """Active pre-bookings whose deadline has passed (locked where the database can)."""
        return list(
            self.session.scalars(
                select(PrebookingRow)
                .where(
                    PrebookingRow.status == ACTIVE,
                    PrebookingRow.expires_at <= literal(now, UtcDateTime()),
                )
                .order_by(PrebookingRow.id)
                .with_for_update()
            )
        )

    def of_customer(self, customer_id: str, *, only_active: bool = False) -> list[PrebookingRow]:
        """A customer's pre-bookings, newest week first."""
        query = select(PrebookingRow).where(PrebookingRow.customer_id == customer_id)
        if only_active:
            query = query.where(PrebookingRow.status == ACTIVE)
        return list(self.session.scalars(query.order_by(PrebookingRow.week_start.desc(), PrebookingRow.sku)))
