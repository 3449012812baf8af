"""Issue 12: temporary credit limits expire; orders can be amended before picking (recorded, idempotent).

Revision ID: 0011_i12_credit
Revises: 0010_webhooks

A temporary limit granted before this revision had no expiry: it gets one, seven days after the upgrade
(the service's default), so no temporary limit lasts for ever.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from infra.migrations.column_types import utc_datetime

revision = "0011_i12_credit"
down_revision = "0010_webhooks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("temporary_credit_limit_expires_at", utc_datetime(), nullable=True))
    customers = sa.table(
        "customers",
        sa.column("temporary_credit_limit", sa.Numeric()),
        sa.column("temporary_credit_limit_expires_at", utc_datetime()),
    )
    op.execute(
        customers.update()
        .where(customers.c.temporary_credit_limit.is_not(None))
        .values(temporary_credit_limit_expires_at=datetime.now(UTC) + timedelta(days=7))
    )
    op.create_table(
        "order_amendments",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_order_amendments"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_order_amendments_order_id_orders"),
        sa.UniqueConstraint("order_id", "idempotency_key", name="uq_order_amendments_order_key"),
    )
    op.create_index("ix_order_amendments_order_id", "order_amendments", ["order_id"])


def downgrade() -> None:
    op.drop_index("ix_order_amendments_order_id", table_name="order_amendments")
    op.drop_table("order_amendments")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("temporary_credit_limit_expires_at")
