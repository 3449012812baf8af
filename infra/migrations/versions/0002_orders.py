"""Master data (warehouses, SKUs, customers), orders, timeline, exceptions, outbox, payments.

Revision ID: 0002_orders
Revises: 0001_platform
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from infra.migrations.column_types import geometry, utc_datetime

revision = "0002_orders"
down_revision = "0001_platform"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(18, 4)


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("updated_at", utc_datetime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "warehouses",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lng", sa.Float(), nullable=False),
        sa.Column("location", geometry("POINT"), nullable=False),
        sa.Column("layout", sa.JSON(), nullable=True),
        *_timestamps(),
    )
    op.create_table(
        "skus",
        sa.Column("sku", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("unit_price", MONEY, nullable=False),
        sa.Column("weight_kg", sa.Float(), nullable=False),
        sa.Column("volume_m3", sa.Float(), nullable=False),
        *_timestamps(),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("credit_limit", MONEY, nullable=False),
        sa.Column("temporary_credit_limit", MONEY, nullable=True),
        sa.Column("overdue_amount", MONEY, nullable=False),
        sa.Column("prepaid", sa.Boolean(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lng", sa.Float(), nullable=True),
        *_timestamps(),
    )

    op.create_table(
        "orders",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("customer_id", sa.String(64), sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("held_from", sa.String(20), nullable=True),
        sa.Column("price_ok", sa.Boolean(), nullable=False),
        sa.Column("credit_ok", sa.Boolean(), nullable=False),
        sa.Column("total", MONEY, nullable=False),
        sa.Column("payment_status", sa.String(16), nullable=False),
        sa.Column("delivery_lat", sa.Float(), nullable=False),
        sa.Column("delivery_lng", sa.Float(), nullable=False),
        sa.Column("delivery_address", sa.String(500), nullable=True),
        sa.Column("delivery_location", geometry("POINT"), nullable=False),
        *_timestamps(),
    )
    op.create_index("ix_orders_created_at_id", "orders", ["created_at", "id"])
    op.create_index("ix_orders_customer_status", "orders", ["customer_id", "status"])
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_table(
        "order_lines",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(32), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(64), sa.ForeignKey("skus.sku"), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("unit_price", MONEY, nullable=False),
        sa.Column("catalogue_price", MONEY, nullable=False),
    )
    op.create_index("ix_order_lines_order_id", "order_lines", ["order_id"])
    op.create_table(
        "order_timeline",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.String(32), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("at", utc_datetime(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("expected_next_at", utc_datetime(), nullable=True),
    )
    op.create_index("ix_order_timeline_order_id", "order_timeline", ["order_id"])
    op.create_table(
        "order_exceptions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("order_id", sa.String(32), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("resolved_at", utc_datetime(), nullable=True),
        sa.Column("resolved_by", sa.String(100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_order_exceptions_order_id", "order_exceptions", ["order_id"])
    op.create_index("ix_order_exceptions_status_kind", "order_exceptions", ["status", "kind"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("aggregate_id", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("published_at", utc_datetime(), nullable=True),
    )
    op.create_index("ix_outbox_aggregate_id", "outbox", ["aggregate_id"])
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"])
    op.create_table(
        "idempotency_keys",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(32), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
    )
    op.create_table(
        "payments",
        sa.Column("transaction_id", sa.String(100), primary_key=True),
        sa.Column("order_id", sa.String(32), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("received_at", utc_datetime(), nullable=False),
    )
    op.create_index("ix_payments_order_id", "payments", ["order_id"])
    op.create_table(
        "shipments",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("order_id", sa.String(32), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("warehouse_id", sa.String(64), sa.ForeignKey("warehouses.id"), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
    )
    op.create_index("ix_shipments_order_id", "shipments", ["order_id"])
    op.create_index("ix_shipments_warehouse_id", "shipments", ["warehouse_id"])
    op.create_table(
        "shipment_lines",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("shipment_id", sa.String(32), sa.ForeignKey("shipments.id"), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
    )
    op.create_index("ix_shipment_lines_shipment_id", "shipment_lines", ["shipment_id"])


def downgrade() -> None:
    for table in (
        "shipment_lines",
        "shipments",
        "payments",
        "idempotency_keys",
        "outbox",
        "order_exceptions",
        "order_timeline",
        "order_lines",
        "orders",
        "customers",
        "skus",
        "warehouses",
    ):
        op.drop_table(table)
