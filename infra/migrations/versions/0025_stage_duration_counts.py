"""The stage-timing pre-aggregate: per creation day, node transition and duration bucket, how many orders.

Revision ID: 0025_stage_duration_counts
Revises: 0024_ui_perf

The analytics' p50/p90 per transition (issue 10, item 7) were sorted from every order of the period at each
request (PostgreSQL ``percentile_cont``, numpy on SQLite): about 300 ms for 30 days at 100,000 orders.
``stage_duration_counts`` (``orders_core.orders.stage_durations``) holds, per UTC creation day, transition
and log bucket, the number of orders; the order pipeline adds to it when a milestone completes a transition.
Backfilled here from the orders' ``first_<node>_at`` columns (0024).

``orders.furthest_node`` is the index on the main line of the furthest node an order reached, kept with the
milestones; the funnel counts a period's orders per furthest node from ``(created_at, furthest_node)`` alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from orders_core.orders.stage_durations import rebuild_stage_durations

revision = "0025_stage_duration_counts"
down_revision = "0024_ui_perf"
branch_labels = None
depends_on = None

#: The main line (orders_core.orders.model.MAIN_LINE) as it stands at this revision.
NODES = ("placed", "credit_review", "stock_locked", "allocated", "picking", "loaded", "in_transit", "delivered")


def upgrade() -> None:
    op.create_table(
        "stage_duration_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("from_node", sa.String(20), nullable=False),
        sa.Column("to_node", sa.String(20), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "from_node", "to_node", "bucket"),
        sqlite_with_rowid=False,  # SQLite: the rows live in the key's B-tree, a period is one range read
    )
    rebuild_stage_durations(op.get_bind(), months=False)  # the month sums come with 0026
    op.add_column("orders", sa.Column("furthest_node", sa.SmallInteger(), server_default="0", nullable=False))
    for index, node in reversed(list(enumerate(NODES))):
        if index:
            op.execute(
                f"UPDATE orders SET furthest_node = {index} WHERE furthest_node = 0 AND first_{node}_at IS NOT NULL"
            )
    op.create_index("ix_orders_created_at_furthest", "orders", ["created_at", "furthest_node"])


def downgrade() -> None:
    op.drop_index("ix_orders_created_at_furthest", table_name="orders")
    op.drop_column("orders", "furthest_node")
    op.drop_table("stage_duration_counts")
