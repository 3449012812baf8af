"""Every order gets the secret of its customer's public tracking page (``/track/{token}``).

Revision ID: 0014_tracking
Revises: 0013_i12_recovery

Orders placed before this revision get a token here, so every order has a tracking link; the column is
then made NOT NULL and unique (a token names one order).
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0014_tracking"
down_revision = "0013_i12_recovery"
branch_labels = None
depends_on = None

#: Orders backfilled per statement.
BATCH = 1000


def upgrade() -> None:
    op.add_column("orders", sa.Column("tracking_token", sa.String(64), nullable=True))
    orders = sa.table("orders", sa.column("id", sa.String(32)), sa.column("tracking_token", sa.String(64)))
    connection = op.get_bind()
    ids = [order_id for (order_id,) in connection.execute(sa.select(orders.c.id).order_by(orders.c.id))]
    fill = orders.update().where(orders.c.id == sa.bindparam("order_id")).values(tracking_token=sa.bindparam("token"))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        connection.execute(fill, [{"order_id": order_id, "token": secrets.token_urlsafe(24)} for order_id in chunk])
    with op.batch_alter_table("orders") as batch:
        batch.alter_column("tracking_token", existing_type=sa.String(64), nullable=False)
    op.create_index("ix_orders_tracking_token", "orders", ["tracking_token"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_orders_tracking_token", table_name="orders")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("tracking_token")
