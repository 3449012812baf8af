"""Orders remember the delivery time they promise (issue 11, delay reasons).

Revision ID: 0007_delivery_promise
Revises: 0006_transport
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from infra.migrations.column_types import utc_datetime

revision = "0007_delivery_promise"
down_revision = "0006_transport"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("promised_by", utc_datetime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("promised_by")
