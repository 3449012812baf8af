"""Master data (warehouses, SKUs, customers), orders, timeline, exceptions, outbox, payments.

Revision ID: 0002_orders
Revises: 0001_platform
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from infra.geometry import GeometryType
from orders_core.master_data.tables import UtcDateTime

revision = "0002_orders"
down_revision = "0001_platform"
branch_labels = None
depends_on = None

MONEY = sa.Numeric(18, 4)


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "warehouses",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lng", sa.Float(), nullable=False),
        sa.Column("location", GeometryType("POINT"), nullable=False),
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


def downgrade() -> None:
    for table in ("customers", "skus", "warehouses"):
        op.drop_table(table)
