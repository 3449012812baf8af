"""Index the order timeline by (order_id, status, at) for the stage timings and funnel (issue 10, item 3).

Revision ID: 0016_analytics_index
Revises: 0015_stock_protocol

The analytics read, for the orders placed in a period, the first time each reached each node
(``MIN(at) ... GROUP BY order_id, status``); this index answers that from the index alone.
"""

from __future__ import annotations

from alembic import op

revision = "0016_analytics_index"
down_revision = "0015_stock_protocol"
branch_labels = None
depends_on = None

NAME = "ix_order_timeline_order_status_at"


def upgrade() -> None:
    op.create_index(NAME, "order_timeline", ["order_id", "status", "at"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="order_timeline")
