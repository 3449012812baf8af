"""Ways out of exceptions (issue 12): order priority and back-order link, and stock transfers between
warehouses with their own status and timeline.

Revision ID: 0013_i12_recovery
Revises: 0012_i12_waves
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from infra.migrations.column_types import utc_datetime

revision = "0013_i12_recovery"
down_revision = "0012_i12_waves"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("priority", sa.String(8), server_default="normal", nullable=False))
    op.add_column("orders", sa.Column("backorder_of", sa.String(32), nullable=True))
    op.create_table(
        "stock_transfers",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("from_warehouse_id", sa.String(64), nullable=False),
        sa.Column("to_warehouse_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("timeline", sa.JSON(), nullable=False),
        sa.Column("order_id", sa.String(32), nullable=True),
        sa.Column("exception_id", sa.String(32), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("updated_at", utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stock_transfers"),
        sa.CheckConstraint(
            "status IN ('requested', 'in_transit', 'received', 'cancelled')", name="ck_stock_transfers_status_known"
        ),
    )
    op.create_index("ix_stock_transfers_status", "stock_transfers", ["status"])
    op.create_index("ix_stock_transfers_order_id", "stock_transfers", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_stock_transfers_order_id", table_name="stock_transfers")
    op.drop_index("ix_stock_transfers_status", table_name="stock_transfers")
    op.drop_table("stock_transfers")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("backorder_of")
        batch.drop_column("priority")
