"""SQLAlchemy tables of the order pipeline: orders, lines, timeline, exceptions, outbox, idempotency
keys, payments and shipments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from foundation.columns import MONEY, UtcDateTime
from geo.h3_cells import HEAT_RESOLUTIONS, point_cells
from infra.db import Base
from infra.geometry import GeometryType


class OrderRow(Base):
    """An order's current state; its history is in ``order_timeline``."""

    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_created_at_id", "created_at", "id"),
        Index("ix_orders_customer_status", "customer_id", "status"),
        Index("ix_orders_status", "status"),
        # The console's and the API's order list filtered by status, newest or oldest first (0018).
        Index("ix_orders_status_created_at_id", "status", "created_at", "id"),
        # The funnel counts a period's orders per furthest node from this index alone (0025).
        Index("ix_orders_created_at_furthest", "created_at", "furthest_node"),
        # The live map's heat layers count a period's orders per H3 cell from this index alone (0024).
        Index(
            "ix_orders_created_at_h3",
            "created_at",
            "delivery_h3_r5",
            "delivery_h3_r6",
            "delivery_h3_r7",
            "delivery_h3_r8",
            "delivery_h3_r9",
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(20))
    held_from: Mapped[str | None] = mapped_column(String(20), nullable=True)
    price_ok: Mapped[bool] = mapped_column(Boolean)
    credit_ok: Mapped[bool] = mapped_column(Boolean)
    total: Mapped[Decimal] = mapped_column(MONEY)
    payment_status: Mapped[str] = mapped_column(String(16))
    delivery_lat: Mapped[float] = mapped_column(Float)
    delivery_lng: Mapped[float] = mapped_column(Float)
    delivery_address: Mapped[str | None] = mapped_column(String(500), nullable=True)
    delivery_location: Mapped[BaseGeometry] = mapped_column(GeometryType("POINT"))
    # The delivery point's H3 cell at each heat-map resolution (geo.h3_cells.HEAT_RESOLUTIONS, migration 0024).
    delivery_h3_r5: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    delivery_h3_r6: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    delivery_h3_r7: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    delivery_h3_r8: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    delivery_h3_r9: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Who receives the goods and whether they pay the driver (issue 11: the e-waybill's receiver and COD).
    delivery_contact_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    delivery_contact_phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    cash_on_delivery: Mapped[bool] = mapped_column(Boolean, server_default=false())
    promised_by: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: low | normal | high | urgent: held orders waiting for stock are retried in this order, then oldest first.
    priority: Mapped[str] = mapped_column(String(8), server_default="normal", default="normal")
    #: The order whose remainder this order back-orders (issue 12: partial shipments), if any.
    backorder_of: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The first time the order reached each main-line node (issue 10 item 7, migration 0024): the analytics
    # read a period's orders from here, one row each, instead of grouping their timeline rows. Kept by
    # ``orders_core.orders.milestones`` whenever a timeline entry is written.
    first_placed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    first_credit_review_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    first_stock_locked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    first_allocated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    first_picking_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    first_loaded_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    first_in_transit_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    first_delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: The index in MAIN_LINE of the furthest node with a ``first_<node>_at`` (0 = placed): the funnel (0025).
    furthest_node: Mapped[int] = mapped_column(SmallInteger, server_default="0", default=0)
    # The secret in the customer's public tracking link (``/track/{token}``, migration 0012): unguessable.
    tracking_token: Mapped[str] = mapped_column(String(64), unique=True, index=True)


class StageDurationCountRow(Base):
    """How many orders placed on ``day`` took a duration in ``bucket`` between two main-line nodes.

    The stage-timing pre-aggregate (issue 10 item 7, migration 0025): ``orders_core.orders.stage_durations``
    adds to it in the transaction that sets an order's ``first_<node>_at``; the analytics read a period's
    percentiles from these counts instead of sorting every order's durations. ``bucket`` is a key of
    ``orders_core.orders.stage_durations.BUCKETS`` (a log bucket: every duration within 2 % of its value).
    """

    __tablename__ = "stage_duration_counts"
    # On SQLite the rows live in the primary key's B-tree: a period's days are one range read (0025).
    __table_args__ = {"sqlite_with_rowid": False}

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    from_node: Mapped[str] = mapped_column(String(20), primary_key=True)
    to_node: Mapped[str] = mapped_column(String(20), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)


class StageDurationMonthCountRow(Base):
    """``stage_duration_counts`` summed per calendar month of creation (``month`` is its first day), kept by
    the same upsert: a period's whole months are read from here, its other days from the day rows (0026)."""

    __tablename__ = "stage_duration_month_counts"
    __table_args__ = {"sqlite_with_rowid": False}

    month: Mapped[date] = mapped_column(Date, primary_key=True)
    from_node: Mapped[str] = mapped_column(String(20), primary_key=True)
    to_node: Mapped[str] = mapped_column(String(20), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)


class StageDurationDeltaRow(Base):
    """Counts a committed transaction added, not yet folded into ``stage_duration_counts`` and its month sums.

    The order pipeline only inserts here (no shared row to lock: concurrent orders never queue on a hot
    counter); a periodic job folds the rows into the count tables and deletes them, and readers add the rows
    not yet folded, so figures are current either way (0026)."""

    __tablename__ = "stage_duration_deltas"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    from_node: Mapped[str] = mapped_column(String(20))
    to_node: Mapped[str] = mapped_column(String(20))
    bucket: Mapped[int] = mapped_column(Integer)
    orders: Mapped[int] = mapped_column(Integer)


class OrderLineRow(Base):
    """A requested line with the quoted and the catalogue price at intake."""

    __tablename__ = "order_lines"
    # The root-cause Pareto by SKU (migration 0019): an order's SKUs from the index alone.
    __table_args__ = (Index("ix_order_lines_order_sku", "order_id", "sku"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(32), ForeignKey("orders.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(64), ForeignKey("skus.sku"))
    qty: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(MONEY)
    catalogue_price: Mapped[Decimal] = mapped_column(MONEY)


class TimelineRow(Base):
    """One entry of an order's history."""

    __tablename__ = "order_timeline"
    # Each order's first time at each node without reading the rows (the analytics, migration 0016).
    __table_args__ = (Index("ix_order_timeline_order_status_at", "order_id", "status", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(String(32), ForeignKey("orders.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    actor: Mapped[str] = mapped_column(String(100))
    reason_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    expected_next_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ExceptionRow(Base):
    """A problem that needs a person: price conflict, credit, shortage, short pick, no carrier..."""

    __tablename__ = "order_exceptions"
    __table_args__ = (
        Index("ix_order_exceptions_status_kind", "status", "kind"),
        Index("ix_order_exceptions_created_at_id", "created_at", "id"),  # the exceptions list's order
        # The inbox: open exceptions, longest waiting first, without sorting every open one (0018).
        Index("ix_order_exceptions_status_created_at_id", "status", "created_at", "id"),
        # The root-cause Pareto (migration 0019): a period's exceptions by cause, and one cause's exceptions,
        # answered from the index alone (order_id included, for the joins to orders, lines and shipments).
        Index("ix_order_exceptions_created_cause_order", "created_at", "root_cause", "order_id"),
        Index("ix_order_exceptions_cause_created_order", "root_cause", "created_at", "order_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(32), ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    #: orders_core.orders.root_causes.RootCause, set when opened (refined on approval for stock shortages).
    root_cause: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class OutboxRow(Base):
    """An event written in the same transaction as the change it announces; a worker publishes it."""

    __tablename__ = "outbox"
    # The webhook relay's scan (migration 0007): unpublished carrier.webhook rows in id order, however long
    # the history of the other topics (which no relay marks published). Partial, so that PostgreSQL's
    # planner sees how few rows qualify; id first gives the order, the other columns make it covering
    # (SQLite then prefers it over ix_outbox_published_at). Checked with EXPLAIN on both backends.
    __table_args__ = (
        Index(
            "ix_outbox_carrier_webhook_unpublished",
            "id",
            "topic",
            "published_at",
            sqlite_where=text("topic = 'carrier.webhook' AND published_at IS NULL"),
            postgresql_where=text("topic = 'carrier.webhook' AND published_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(64))
    aggregate_id: Mapped[str] = mapped_column(String(64), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True, index=True)


class IdempotencyKeyRow(Base):
    """An ``Idempotency-Key`` seen on order intake: the body it came with and the order it made."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[str] = mapped_column(String(32), ForeignKey("orders.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class PaymentRow(Base):
    """A payment-gateway notification, unique by transaction id (replays are recognised)."""

    __tablename__ = "payments"

    transaction_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(32), ForeignKey("orders.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal] = mapped_column(MONEY)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ShipmentRow(Base):
    """The part of an order that leaves one warehouse, with its transport state (issue 11): the carrier
    assigned, its e-waybill, the load, who assigned it and why, and the route stop (filled by planning)."""

    __tablename__ = "shipments"
    __table_args__ = (
        Index("ix_shipments_status_warehouse", "status", "warehouse_id"),
        Index("ix_shipments_created_at_id", "created_at", "id"),  # the shipments list's order
        # The root-cause Pareto by warehouse and carrier (migration 0019): an order's shipments from the index.
        Index("ix_shipments_order_warehouse_carrier", "order_id", "warehouse_id", "carrier_id"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    order_id: Mapped[str] = mapped_column(String(32), ForeignKey("orders.id"), index=True)
    warehouse_id: Mapped[str] = mapped_column(String(64), ForeignKey("warehouses.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: ready | assigned | picked_up | delivered | failed | cancelled (orders_core.transport.model.ShipmentStatus)
    status: Mapped[str] = mapped_column(String(16), server_default="ready")
    carrier_id: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    waybill_no: Mapped[str | None] = mapped_column(String(40), nullable=True)
    weight_kg: Mapped[float | None] = mapped_column(Float, nullable=True)
    volume_m3: Mapped[float | None] = mapped_column(Float, nullable=True)
    pieces: Mapped[int | None] = mapped_column(Integer, nullable=True)
    assignment_mode: Mapped[str | None] = mapped_column(String(16), nullable=True)
    assignment_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    assigned_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    #: Automatic assignment runs that found nobody (the retry job takes over after the first).
    assign_attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_assign_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # Filled by route planning: which route, which stop of it, which position in the vehicle.
    route_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    stop_sequence: Mapped[int | None] = mapped_column(Integer, nullable=True)
    loading_position: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class ShipmentLineRow(Base):
    """Quantity of one SKU in a shipment."""

    __tablename__ = "shipment_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    shipment_id: Mapped[str] = mapped_column(String(32), ForeignKey("shipments.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    qty: Mapped[int] = mapped_column(Integer)


def delivery_cell_columns(lat: float, lng: float) -> dict[str, int]:
    """The ``delivery_h3_r*`` column values of a delivery point (set wherever the point is set)."""
    return {f"delivery_h3_r{res}": cell for res, cell in point_cells(lat, lng).items()}


def heat_cell_column(res: int) -> Any:
    """The order column holding the delivery point's cell at heat resolution ``res``."""
    if res not in HEAT_RESOLUTIONS:
        raise ValueError(f"no stored H3 cells at resolution {res}")
    return getattr(OrderRow, f"delivery_h3_r{res}")
