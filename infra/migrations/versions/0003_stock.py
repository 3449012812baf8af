"""Stock levels and durable reservation records.

Revision ID: 0003_stock
Revises: 0002_orders
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_stock"
down_revision = "0002_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stock_levels",
        sa.Column("warehouse_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("warehouse_id", "sku", name="pk_stock_levels"),
        sa.CheckConstraint("on_hand >= 0", name="ck_stock_levels_on_hand_not_negative"),
        sa.CheckConstraint("reserved >= 0", name="ck_stock_levels_reserved_not_negative"),
    )
    op.create_index("ix_stock_levels_sku", "stock_levels", ["sku"])
    op.create_table(
        "stock_reservations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("warehouse_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stock_reservations"),
        sa.CheckConstraint("qty > 0", name="ck_stock_reservations_qty_positive"),
        sa.CheckConstraint("state IN ('held', 'released', 'consumed')", name="ck_stock_reservations_state_known"),
    )
    op.create_index("ix_stock_reservations_order_id", "stock_reservations", ["order_id"])
    op.create_index("ix_stock_reservations_state", "stock_reservations", ["state"])


def downgrade() -> None:
    op.drop_index("ix_stock_reservations_state", table_name="stock_reservations")
    op.drop_index("ix_stock_reservations_order_id", table_name="stock_reservations")
    op.drop_table("stock_reservations")
    op.drop_index("ix_stock_levels_sku", table_name="stock_levels")
    op.drop_table("stock_levels")
