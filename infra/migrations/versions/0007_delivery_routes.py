"""Delivery routes: one vehicle's planned tour from a warehouse, its stops and loading positions.

Revision ID: 0007_delivery_routes
Revises: 0006_transport
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from infra.migrations.column_types import utc_datetime

revision = "0007_delivery_routes"
down_revision = "0006_transport"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_routes",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("warehouse_id", sa.String(64), nullable=False),
        sa.Column("vehicle_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("start_at", utc_datetime(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("load_kg", sa.Float(), nullable=False),
        sa.Column("load_m3", sa.Float(), nullable=False),
        sa.Column("stops", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_routes"),
        sa.ForeignKeyConstraint(["warehouse_id"], ["warehouses.id"], name="fk_delivery_routes_warehouse_id_warehouses"),
    )
    op.create_index("ix_delivery_routes_warehouse_status", "delivery_routes", ["warehouse_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_delivery_routes_warehouse_status", table_name="delivery_routes")
    op.drop_table("delivery_routes")
