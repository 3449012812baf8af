"""Orders remember the delivery time they promise (issue 11, delay reasons).

Revision ID: 0008_delivery_promise
Revises: 0007_delivery_routes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from infra.migrations.column_types import utc_datetime

revision = "0008_delivery_promise"
down_revision = "0007_delivery_routes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("promised_by", utc_datetime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("promised_by")
