"""Waves that fit real orders and lists of every resource: each warehouse's stored cart, and indexes for the
lists ordered by creation time (pick tasks, exceptions, shipments).

Revision ID: 0012_i12_waves
Revises: 0011_i12_credit
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from infra.migrations.column_types import utc_datetime

revision = "0012_i12_waves"
down_revision = "0011_i12_credit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "warehouse_carts",
        sa.Column("warehouse_id", sa.String(64), nullable=False),
        sa.Column("max_items", sa.Integer(), nullable=False),
        sa.Column("max_weight_kg", sa.Float(), nullable=False),
        sa.Column("max_volume_m3", sa.Float(), nullable=False),
        sa.Column("updated_at", utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("warehouse_id", name="pk_warehouse_carts"),
    )
    op.create_index("ix_pick_tasks_created_at_id", "pick_tasks", ["created_at", "id"])
    op.create_index("ix_order_exceptions_created_at_id", "order_exceptions", ["created_at", "id"])
    op.create_index("ix_shipments_created_at_id", "shipments", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_shipments_created_at_id", table_name="shipments")
    op.drop_index("ix_order_exceptions_created_at_id", table_name="order_exceptions")
    op.drop_index("ix_pick_tasks_created_at_id", table_name="pick_tasks")
    op.drop_table("warehouse_carts")
