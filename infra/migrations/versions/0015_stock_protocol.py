"""Stock levels may not hold more than is on hand: CHECK (reserved <= on_hand) on ``stock_levels``.

Revision ID: 0015_stock_protocol
Revises: 0014_tracking

The database refuses an oversell even when the fast stock store (Redis) is wrong (docs/STOCK_PROTOCOL.md).
A database that already holds such a row is not changed behind anyone's back: the upgrade stops and names
the rows (``dispatch doctor`` lists them too), so a person decides which holds to release.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_stock_protocol"
down_revision = "0014_tracking"
branch_labels = None
depends_on = None

NAME = "ck_stock_levels_reserved_within_on_hand"


def upgrade() -> None:
    over = (
        op.get_bind()
        .execute(sa.text("SELECT warehouse_id, sku, on_hand, reserved FROM stock_levels WHERE reserved > on_hand"))
        .all()
    )
    if over:
        listed = ", ".join(f"{wh}/{sku}: {reserved} reserved of {on_hand}" for wh, sku, on_hand, reserved in over)
        raise RuntimeError(f"stock levels hold more than is on hand, release holds first: {listed}")
    with op.batch_alter_table("stock_levels") as batch:
        batch.create_check_constraint(op.f(NAME), "reserved <= on_hand")  # op.f: the final name, as the model's


def downgrade() -> None:
    with op.batch_alter_table("stock_levels") as batch:
        batch.drop_constraint(op.f(NAME), type_="check")
