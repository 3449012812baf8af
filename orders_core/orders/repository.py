"""Persistence of orders behind a small interface: rows stay here, use cases see plain values."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, bindparam, event, func, insert, select
from sqlalchemy.orm import Session, make_transient_to_detached

from foundation.clock import utc_now
from foundation.money import MONEY_QUANTUM, to_money
from orders_core.orders.milestones import record_milestones, stored_firsts
from orders_core.orders.model import (
    CLOSED,
    AllocatedLine,
    DeliveryPoint,
    ExceptionView,
    OrderLine,
    OrderStatus,
    OrderView,
    ShipmentView,
    TimelineEntry,
)
from orders_core.orders.stage_durations import (
    add_stage_durations,
    drop_pending_stage_durations,
    write_stage_durations,
)
from orders_core.orders.tables import (
    ExceptionRow,
    IdempotencyKeyRow,
    OrderLineRow,
    OrderRow,
    OutboxRow,
    PaymentRow,
    ShipmentLineRow,
    ShipmentRow,
    TimelineRow,
)
from orders_core.stock.repository import insert_rows

ORDERS: Table = OrderRow.__table__  # type: ignore[assignment]
ORDER_LINES: Table = OrderLineRow.__table__  # type: ignore[assignment]
TIMELINE: Table = TimelineRow.__table__  # type: ignore[assignment]
OUTBOX: Table = OutboxRow.__table__  # type: ignore[assignment]
IDEMPOTENCY_KEYS: Table = IdempotencyKeyRow.__table__  # type: ignore[assignment]
SHIPMENTS: Table = ShipmentRow.__table__  # type: ignore[assignment]
SHIPMENT_LINES: Table = ShipmentLineRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class PricedLine:
    """An order line with the quoted and the catalogue unit price (what the price check compares)."""

    line_no: int
    sku: str
    qty: int
    unit_price: Decimal
    catalogue_price: Decimal


def _exception_view(row: ExceptionRow) -> ExceptionView:
    return ExceptionView(
        id=row.id,
        order_id=row.order_id,
        kind=row.kind,
        status=row.status,
        message=row.message,
        details=dict(row.details or {}),
        created_at=row.created_at,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        note=row.note,
        root_cause=row.root_cause,
    )


def _timeline_entry(row: Any) -> TimelineEntry:
    """A history entry from a timeline row (ORM row or Core result row: same attribute names)."""
    return TimelineEntry(
        status=row.status,
        at=row.at,
        actor=row.actor,
        reason_code=row.reason_code,
        reason=row.reason,
        expected_next_at=row.expected_next_at,
    )


#: Money below this reads back from SQLite's float digit for digit (13 significant digits at 4 places).
MONEY_EXACT_BELOW = Decimal("1e9")


class _Attrs:
    """A buffered row's dict read by attribute, like a result row (for ``_timeline_entry``)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _money_as_stored(value: Decimal) -> bool:
    """Whether ``value`` reads back from the money column unchanged on both backends (exact at the
    column's scale and small enough for SQLite's float to keep every digit)."""
    return value.is_finite() and value == value.quantize(MONEY_QUANTUM) and abs(value) < MONEY_EXACT_BELOW


def _assemble(
    row: OrderRow,
    lines: Sequence[OrderLine],
    timeline: Sequence[TimelineEntry],
    shipments: Sequence[ShipmentView],
    exceptions: Sequence[ExceptionView],
) -> OrderView:
    """An order's view from its row and its children (in the order a reader sorts them)."""
    return OrderView(
        id=row.id,
        status=row.status,
        customer_id=row.customer_id,
        lines=tuple(lines),
        delivery=DeliveryPoint(
            lat=row.delivery_lat,
            lng=row.delivery_lng,
            address=row.delivery_address,
            contact_name=row.delivery_contact_name,
            contact_phone=row.delivery_contact_phone,
            cash_on_delivery=bool(row.cash_on_delivery),
        ),
        total=Decimal(row.total),
        payment_status=row.payment_status,
        created_at=row.created_at,
        updated_at=row.updated_at,
        timeline=tuple(timeline),
        shipments=tuple(shipments),
        exceptions=tuple(exceptions),
        promised_by=row.promised_by,
        priority=row.priority or "normal",
        backorder_of=row.backorder_of,
        tracking_token=row.tracking_token,
    )


_PENDING_HISTORY = "orders_core.pending_history"
#: Buffered inserts, written in this order (parents before children) after the session's ORM flush.
_BUFFERED = (ORDER_LINES, IDEMPOTENCY_KEYS, SHIPMENTS, SHIPMENT_LINES, TIMELINE, OUTBOX)


_NEW_ORDERS = "orders_core.new_orders"


def _pending(session: Session) -> dict[str, list[dict[str, Any]]]:
    pending: dict[str, list[dict[str, Any]]] = session.info.get(_PENDING_HISTORY)  # type: ignore[assignment]
    if pending is None:
        pending = session.info[_PENDING_HISTORY] = {table.name: [] for table in _BUFFERED}
    return pending


def _write_new_orders(session: Session) -> dict[str, tuple[Any, ...]]:
    """Insert orders added in this transaction with a Core statement (their final state: no ORM flush
    bookkeeping), then attach each row to the session so later changes are flushed as usual. Returns each
    inserted order's first-reached columns as written (``milestones.stored_firsts``)."""
    inserted = {}
    for row in session.info.pop(_NEW_ORDERS, []):
        row.furthest_node = row.furthest_node or 0  # the ORM default applies at flush only
        session.execute(insert(ORDERS), {column.key: getattr(row, column.key) for column in ORDERS.c})
        inserted[row.id] = stored_firsts(row)
        make_transient_to_detached(row)
        session.add(row)
    return inserted


def write_pending_history(session: Session) -> None:
    """Write buffered rows (order lines, idempotency keys, shipments, timeline, outbox): one statement
    per table however many rows, after the ORM flush (which inserts a new order with its final status).

    Runs automatically just before the session commits, so a use case never forgets it; readers of
    those tables call it first, so a transaction always reads its own writes.
    """
    inserted = _write_new_orders(session)
    pending = session.info.pop(_PENDING_HISTORY, None)
    if not pending:
        return
    session.flush()
    for table in _BUFFERED:
        insert_rows(session, table, pending[table.name])
    # The analytics' first-reached columns (0024); orders inserted just now are not read back.
    completed = record_milestones(session, pending[TIMELINE.name], inserted)
    add_stage_durations(session, completed)  # and the stage-timing counts they complete (0025)


@event.listens_for(Session, "before_commit")
def _write_history_before_commit(session: Session) -> None:
    write_pending_history(session)
    session.flush()  # ORM rows still pending may complete durations too (the mapper events in milestones)
    write_stage_durations(session)  # last: the stage-timing deltas (see stage_durations)


@event.listens_for(Session, "after_rollback")
def _drop_history_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_HISTORY, None)
    session.info.pop(_NEW_ORDERS, None)
    drop_pending_stage_durations(session)


# Intake's reads, built once (bound by name at execution): no statement construction per order.
_OPEN_EXPOSURE = select(func.coalesce(func.sum(OrderRow.total), 0)).where(
    OrderRow.customer_id == bindparam("customer_id"), OrderRow.status.not_in([s.value for s in CLOSED])
)
_EXPOSURE_OF = _OPEN_EXPOSURE.scalar_subquery()
_EXPOSURE = select(_EXPOSURE_OF)
_EXPOSURE_EXCLUDING = _OPEN_EXPOSURE.where(OrderRow.id != bindparam("excluding_order_id"))


def _money(total: Any) -> Decimal:
    """A summed amount as exact money: SQLite sums its REAL storage, rounding to the quantum restores it."""
    return to_money(total)


_REPLAY_AND_EXPOSURE = select(
    select(IDEMPOTENCY_KEYS.c.body_sha256).where(IDEMPOTENCY_KEYS.c.key == bindparam("key")).scalar_subquery(),
    select(IDEMPOTENCY_KEYS.c.order_id).where(IDEMPOTENCY_KEYS.c.key == bindparam("key")).scalar_subquery(),
    _EXPOSURE_OF,
)


class OrderRepository:
    """Reads and writes the order tables in the caller's session (the use case commits)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- orders -------------------------------------------------------------------------------
    def add(self, row: OrderRow, lines: Sequence[PricedLine]) -> None:
        """Add a new order with its lines; both are written when the transaction commits (or when
        something reads them), so the order row is inserted once, with the status the pipeline left.
        Until then the row is not in the session: find it with ``lifecycle.load_order``."""
        self.session.info.setdefault(_NEW_ORDERS, []).append(row)
        # Core inserts on the hot path: one statement for all lines, no ORM bookkeeping.
        _pending(self.session)[ORDER_LINES.name].extend(
            [
                {
                    "order_id": row.id,
                    "line_no": line.line_no,
                    "sku": line.sku,
                    "qty": line.qty,
                    "unit_price": line.unit_price,
                    "catalogue_price": line.catalogue_price,
                }
                for line in lines
            ]
        )

    def get_row(self, order_id: str, *, for_update: bool = False) -> OrderRow | None:
        """The order row (locked for the transaction when ``for_update``), or None."""
        if for_update:
            return self.session.scalars(
                select(OrderRow)
                .where(OrderRow.id == order_id)
                .with_for_update()
                .execution_options(populate_existing=True)
            ).first()
        return self.session.get(OrderRow, order_id)

    def priced_lines(self, order_id: str) -> list[PricedLine]:
        """The order's lines with both prices, in intake order."""
        write_pending_history(self.session)
        rows = self.session.execute(
            select(
                ORDER_LINES.c.line_no,
                ORDER_LINES.c.sku,
                ORDER_LINES.c.qty,
                ORDER_LINES.c.unit_price,
                ORDER_LINES.c.catalogue_price,
            )
            .where(ORDER_LINES.c.order_id == order_id)
            .order_by(ORDER_LINES.c.line_no)
        )
        return [PricedLine(n, sku, qty, Decimal(price), Decimal(catalogue)) for n, sku, qty, price, catalogue in rows]

    def replay_and_exposure(self, key: str | None, customer_id: str) -> tuple[tuple[str, str] | None, Decimal]:
        """Intake's two reads in one statement (one round trip): the (body sha256, order id) stored for
        ``key`` (None if unseen) and the customer's open exposure (see ``open_exposure``)."""
        write_pending_history(self.session)
        if key is None:
            total = self.session.execute(_EXPOSURE, {"customer_id": customer_id}).scalar_one()
            return None, _money(total)
        sha, order_id, total = self.session.execute(
            _REPLAY_AND_EXPOSURE, {"key": key, "customer_id": customer_id}
        ).one()
        record = None if sha is None else (sha, order_id)
        return record, _money(total)

    def open_exposure(self, customer_id: str, *, excluding_order_id: str) -> Decimal:
        """Sum of totals of the customer's open orders (not delivered nor cancelled), except one."""
        total = self.session.execute(
            _EXPOSURE_EXCLUDING, {"customer_id": customer_id, "excluding_order_id": excluding_order_id}
        ).scalar_one()
        return _money(total)

    # --- timeline and outbox ------------------------------------------------------------------
    def add_timeline(self, order_id: str, entry: TimelineEntry) -> None:
        """Append one history entry (buffered; written in one statement when the transaction commits)."""
        _pending(self.session)[TIMELINE.name].append(
            {
                "order_id": order_id,
                "status": entry.status,
                "at": entry.at,
                "actor": entry.actor,
                "reason_code": entry.reason_code,
                "reason": entry.reason,
                "expected_next_at": entry.expected_next_at,
            }
        )

    def timeline(self, order_id: str) -> list[TimelineEntry]:
        """The order's history, oldest first."""
        write_pending_history(self.session)
        rows = self.session.scalars(
            select(TimelineRow).where(TimelineRow.order_id == order_id).order_by(TimelineRow.id)
        )
        return [_timeline_entry(r) for r in rows]

    def add_outbox(self, topic: str, aggregate_id: str, payload: dict[str, Any]) -> None:
        """Queue an event for publication (buffered; written in the same transaction when it commits)."""
        _pending(self.session)[OUTBOX.name].append(
            {"topic": topic, "aggregate_id": aggregate_id, "payload": payload, "created_at": utc_now()}
        )

    def outbox_events(self, aggregate_id: str) -> list[dict[str, Any]]:
        """Events of one aggregate, oldest first (tests and debugging)."""
        write_pending_history(self.session)
        rows = self.session.scalars(
            select(OutboxRow).where(OutboxRow.aggregate_id == aggregate_id).order_by(OutboxRow.id)
        )
        return [{"topic": r.topic, **r.payload} for r in rows]

    # --- exceptions ---------------------------------------------------------------------------
    def add_exception(self, row: ExceptionRow) -> None:
        """Insert an exception (after the buffered rows: its order may be new in this transaction)."""
        write_pending_history(self.session)
        self.session.add(row)
        self.session.flush()

    def get_exception_row(self, exception_id: str, *, for_update: bool = False) -> ExceptionRow | None:
        """The exception row, or None."""
        query = select(ExceptionRow).where(ExceptionRow.id == exception_id)
        if for_update:
            query = query.with_for_update().execution_options(populate_existing=True)
        return self.session.scalars(query).first()

    def exception_rows_of(self, order_id: str, *, status: str | None = None) -> list[ExceptionRow]:
        """Exceptions of one order, oldest first."""
        query = select(ExceptionRow).where(ExceptionRow.order_id == order_id)
        if status is not None:
            query = query.where(ExceptionRow.status == status)
        return list(self.session.scalars(query.order_by(ExceptionRow.created_at, ExceptionRow.id)))

    def list_exceptions(
        self, *, status: str | None = None, kind: str | None = None, order_id: str | None = None, limit: int = 100
    ) -> list[ExceptionView]:
        """Exceptions filtered by status / kind / order, oldest first."""
        query = select(ExceptionRow)
        if status is not None:
            query = query.where(ExceptionRow.status == status)
        if kind is not None:
            query = query.where(ExceptionRow.kind == kind)
        if order_id is not None:
            query = query.where(ExceptionRow.order_id == order_id)
        query = query.order_by(ExceptionRow.created_at, ExceptionRow.id).limit(limit)
        return [_exception_view(row) for row in self.session.scalars(query)]

    # --- shipments ----------------------------------------------------------------------------
    def add_shipment(
        self, shipment_id: str, order_id: str, warehouse_id: str, lines: Sequence[tuple[str, int]]
    ) -> None:
        """Record goods leaving one warehouse for the order (buffered like the order lines)."""
        pending = _pending(self.session)
        pending[SHIPMENTS.name].append(
            {
                "id": shipment_id,
                "order_id": order_id,
                "warehouse_id": warehouse_id,
                "created_at": utc_now(),
                "status": "ready",
                "assign_attempts": 0,
            }
        )
        pending[SHIPMENT_LINES.name].extend({"shipment_id": shipment_id, "sku": sku, "qty": qty} for sku, qty in lines)

    def shipments(self, order_id: str) -> list[ShipmentView]:
        """The order's shipments, by warehouse id."""
        write_pending_history(self.session)
        return self._shipment_views([order_id])[order_id]

    def _shipment_views(self, order_ids: Sequence[str]) -> dict[str, list[ShipmentView]]:
        """Each order's shipments (by warehouse id) with their lines and transport state."""
        heads: dict[str, Any] = {}
        for row in self.session.execute(
            select(SHIPMENTS)
            .where(SHIPMENTS.c.order_id.in_(order_ids))
            .order_by(SHIPMENTS.c.warehouse_id, SHIPMENTS.c.id)
        ):
            heads[row.id] = row
        lines: dict[str, list[tuple[str, int]]] = {sid: [] for sid in heads}
        if heads:
            for sid, sku, qty in self.session.execute(
                select(SHIPMENT_LINES.c.shipment_id, SHIPMENT_LINES.c.sku, SHIPMENT_LINES.c.qty)
                .where(SHIPMENT_LINES.c.shipment_id.in_(list(heads)))
                .order_by(SHIPMENT_LINES.c.id)
            ):
                lines[sid].append((sku, qty))
        views: dict[str, list[ShipmentView]] = {order_id: [] for order_id in order_ids}
        for sid, row in heads.items():
            views[row.order_id].append(
                ShipmentView(
                    warehouse_id=row.warehouse_id,
                    lines=tuple(lines[sid]),
                    id=sid,
                    status=row.status,
                    carrier_id=row.carrier_id,
                    waybill_no=row.waybill_no,
                    weight_kg=row.weight_kg,
                    volume_m3=row.volume_m3,
                    pieces=row.pieces,
                )
            )
        return views

    def allocated_lines(self, warehouse_id: str, status: OrderStatus = OrderStatus.ALLOCATED) -> list[AllocatedLine]:
        """Shipment lines at a warehouse of orders in ``status`` (``allocated``: what picking waves collect),
        oldest order first."""
        write_pending_history(self.session)
        rows = self.session.execute(
            select(ShipmentRow.order_id, ShipmentLineRow.sku, ShipmentLineRow.qty)
            .join(ShipmentLineRow, ShipmentLineRow.shipment_id == ShipmentRow.id)
            .join(OrderRow, OrderRow.id == ShipmentRow.order_id)
            .where(ShipmentRow.warehouse_id == warehouse_id, OrderRow.status == status.value)
            .order_by(OrderRow.created_at, OrderRow.id, ShipmentLineRow.id)
        ).all()
        return [AllocatedLine(order_id=o, warehouse_id=warehouse_id, sku=s, qty=q) for o, s, q in rows]

    # --- idempotency and payments -------------------------------------------------------------
    def add_idempotency_key(self, key: str, body_sha256: str, order_id: str) -> None:
        """Remember which order a key produced (written with the order; a concurrent duplicate collides at
        commit with an IntegrityError, which the HTTP handler answers by replaying)."""
        _pending(self.session)[IDEMPOTENCY_KEYS.name].append(
            {"key": key, "body_sha256": body_sha256, "order_id": order_id, "created_at": utc_now()}
        )

    def get_payment(self, transaction_id: str) -> PaymentRow | None:
        """A recorded payment notification, or None."""
        return self.session.get(PaymentRow, transaction_id)

    def add_payment(self, transaction_id: str, order_id: str, status: str, amount: Decimal) -> None:
        """Record a payment notification."""
        self.session.add(
            PaymentRow(
                transaction_id=transaction_id, order_id=order_id, status=status, amount=amount, received_at=utc_now()
            )
        )
        self.session.flush()

    def pending_prepaid_before(self, created_before: datetime) -> list[str]:
        """Ids of orders still awaiting prepayment that were placed before a time."""
        return list(
            self.session.scalars(
                select(OrderRow.id)
                .where(
                    OrderRow.payment_status == "pending",
                    OrderRow.created_at < created_before,
                    OrderRow.status.not_in(
                        [s.value for s in CLOSED] + [OrderStatus.LOADED.value, OrderStatus.IN_TRANSIT.value]
                    ),
                )
                .order_by(OrderRow.created_at, OrderRow.id)
            )
        )

    # --- views --------------------------------------------------------------------------------
    def view(self, order_id: str) -> OrderView | None:
        """Everything about one order, or None."""
        write_pending_history(self.session)
        row = self.session.get(OrderRow, order_id)
        return None if row is None else self._views([row])[0]

    def view_by_tracking_token(self, token: str) -> OrderView | None:
        """The order whose tracking link carries ``token``, or None."""
        write_pending_history(self.session)
        row = self.session.scalars(select(OrderRow).where(OrderRow.tracking_token == token)).one_or_none()
        return None if row is None else self._views([row])[0]

    def _views(self, rows: Sequence[OrderRow]) -> list[OrderView]:
        """Views of several orders with one query per child table (not one per order)."""
        if not rows:
            return []
        write_pending_history(self.session)
        ids = [row.id for row in rows]
        lines: dict[str, list[OrderLine]] = {i: [] for i in ids}
        for order_id, sku, qty, price in self.session.execute(
            select(ORDER_LINES.c.order_id, ORDER_LINES.c.sku, ORDER_LINES.c.qty, ORDER_LINES.c.unit_price)
            .where(ORDER_LINES.c.order_id.in_(ids))
            .order_by(ORDER_LINES.c.order_id, ORDER_LINES.c.line_no)
        ):
            lines[order_id].append(OrderLine(sku=sku, qty=qty, unit_price=Decimal(price)))
        timelines: dict[str, list[TimelineEntry]] = {i: [] for i in ids}
        for t in self.session.execute(select(TIMELINE).where(TIMELINE.c.order_id.in_(ids)).order_by(TIMELINE.c.id)):
            timelines[t.order_id].append(_timeline_entry(t))
        shipped = self._shipment_views(ids)
        exceptions: dict[str, list[ExceptionView]] = {i: [] for i in ids}
        for e in self.session.scalars(
            select(ExceptionRow)
            .where(ExceptionRow.order_id.in_(ids))
            .order_by(ExceptionRow.created_at, ExceptionRow.id)
        ):
            exceptions[e.order_id].append(_exception_view(e))
        return [_assemble(row, lines[row.id], timelines[row.id], shipped[row.id], exceptions[row.id]) for row in rows]

    def view_as_written(self, order_id: str) -> OrderView | None:
        """The view of an order added in this transaction and not written yet, built from what the use case
        buffered (no query); None when that cannot be known without reading (then use ``view``).

        While the order row is still waiting in the session, nothing of it reached the database: its lines,
        shipments and timeline are all in the buffer (in insertion order, as their ids would sort them), its
        exceptions are pending ORM rows, and no statement can have changed them. The values are those the
        database would hand back: money is used only when exact at the stored scale and far below the
        precision of a float (SQLite keeps money as a float).
        """
        row = next((r for r in self.session.info.get(_NEW_ORDERS, []) if r.id == order_id), None)
        pending = self.session.info.get(_PENDING_HISTORY)
        if row is None or pending is None:
            return None
        lines = [
            OrderLine(sku=line["sku"], qty=line["qty"], unit_price=Decimal(line["unit_price"]))
            for line in sorted(
                (line for line in pending[ORDER_LINES.name] if line["order_id"] == order_id),
                key=lambda line: line["line_no"],
            )
        ]
        if not all(_money_as_stored(line.unit_price) for line in lines):
            return None
        timeline = [_timeline_entry(_Attrs(t)) for t in pending[TIMELINE.name] if t["order_id"] == order_id]
        heads = sorted(
            (s for s in pending[SHIPMENTS.name] if s["order_id"] == order_id),
            key=lambda s: (s["warehouse_id"], s["id"]),
        )
        shipments = [
            ShipmentView(
                warehouse_id=head["warehouse_id"],
                lines=tuple(
                    (line["sku"], line["qty"])
                    for line in pending[SHIPMENT_LINES.name]
                    if line["shipment_id"] == head["id"]
                ),
                id=head["id"],
                status=head.get("status") or "ready",
                carrier_id=head.get("carrier_id"),
                waybill_no=head.get("waybill_no"),
                weight_kg=head.get("weight_kg"),
                volume_m3=head.get("volume_m3"),
                pieces=head.get("pieces"),
            )
            for head in heads
        ]
        exceptions = sorted(
            (obj for obj in self.session.new if isinstance(obj, ExceptionRow) and obj.order_id == order_id),
            key=lambda e: (e.created_at, e.id),
        )
        return _assemble(row, lines, timeline, shipments, [_exception_view(e) for e in exceptions])
