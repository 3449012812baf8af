"""Stock levels and durable reservation records.

Revision ID: 0003_stock
Revises: 0002_orders
"""

from __future__ import annotations

revision = "0003_stock"
down_revision = "0002_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
