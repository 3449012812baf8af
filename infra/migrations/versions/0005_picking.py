"""Pick waves and pick tasks.

Revision ID: 0005_picking
Revises: 0004_geofences
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_picking"
down_revision = "0004_geofences"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sku_slots",
        sa.Column("warehouse_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("slot_id", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("warehouse_id", "sku", name="pk_sku_slots"),
    )
    op.create_table(
        "pick_tasks",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("warehouse_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("walk_from_depot_m", sa.Float(), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_pick_tasks"),
        sa.CheckConstraint("status IN ('open', 'completed')", name="ck_pick_tasks_status_known"),
    )
    op.create_index("ix_pick_tasks_warehouse_id", "pick_tasks", ["warehouse_id"])
    op.create_table(
        "pick_task_steps",
        sa.Column("task_id", sa.String(32), nullable=False),
        sa.Column("step", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("slot_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.String(64), nullable=False),
        sa.Column("walk_to_next_m", sa.Float(), nullable=False),
        sa.Column("picked_qty", sa.Integer(), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("task_id", "step", name="pk_pick_task_steps"),
        sa.ForeignKeyConstraint(["task_id"], ["pick_tasks.id"], name="fk_pick_task_steps_task_id_pick_tasks"),
        sa.CheckConstraint("qty > 0", name="ck_pick_task_steps_qty_positive"),
        sa.CheckConstraint(
            "picked_qty IS NULL OR (picked_qty >= 0 AND picked_qty <= qty)",
            name="ck_pick_task_steps_picked_in_range",
        ),
    )
    op.create_index("ix_pick_task_steps_order_id", "pick_task_steps", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_pick_task_steps_order_id", table_name="pick_task_steps")
    op.drop_table("pick_task_steps")
    op.drop_index("ix_pick_tasks_warehouse_id", table_name="pick_tasks")
    op.drop_table("pick_tasks")
    op.drop_table("sku_slots")
