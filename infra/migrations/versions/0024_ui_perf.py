"""The delivery point's H3 cells on every order with the index the live map's heat layers read, and each
order's first time at each main-line node for the analytics.

Revision ID: 0024_ui_perf
Revises: 0017_tracking_page (written on 0016_analytics_index; re-chained at the merge with main)

The map's heat layers count orders per H3 cell over a period (issue 10, items 2 and 7). Each order stores
its delivery point's cell at every heat resolution (``geo.h3_cells.HEAT_RESOLUTIONS``), computed at intake;
orders placed before this revision are backfilled here. One covering index on (created_at, cells...) lets
both backends count a period's orders per cell from the index alone, without reading order rows.

``first_<node>_at`` (``orders_core.orders.milestones``) is the first time the order reached each node of
the main line; the stage timings, funnel and trend read them, one row per order of the period, instead of
grouping the timeline at every request. Backfilled here from the timeline (``MIN(at)`` per node).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from geo.h3_cells import HEAT_RESOLUTIONS, point_cells

revision = "0024_ui_perf"
down_revision = "0017_tracking_page"  # re-chained at merge with main (was 0016_analytics_index)
branch_labels = None
depends_on = None

#: Orders backfilled per statement.
BATCH = 2000
INDEX = "ix_orders_created_at_h3"
COLUMNS = [f"delivery_h3_r{res}" for res in HEAT_RESOLUTIONS]
#: The main line (orders_core.orders.model.MAIN_LINE) as it stands at this revision.
NODES = ("placed", "credit_review", "stock_locked", "allocated", "picking", "loaded", "in_transit", "delivered")
FIRSTS = [f"first_{node}_at" for node in NODES]


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.BigInteger(), nullable=True))
    orders = sa.table(
        "orders",
        sa.column("id", sa.String(32)),
        sa.column("delivery_lat", sa.Float()),
        sa.column("delivery_lng", sa.Float()),
        *(sa.column(name, sa.BigInteger()) for name in COLUMNS),
    )
    connection = op.get_bind()
    points = connection.execute(sa.select(orders.c.id, orders.c.delivery_lat, orders.c.delivery_lng)).all()
    fill = (
        orders.update()
        .where(orders.c.id == sa.bindparam("order_id"))
        .values({name: sa.bindparam(f"v_{name}") for name in COLUMNS})
    )
    for start in range(0, len(points), BATCH):
        chunk = points[start : start + BATCH]
        connection.execute(
            fill,
            [
                {"order_id": order_id, **{f"v_delivery_h3_r{res}": cell for res, cell in point_cells(lat, lng).items()}}
                for order_id, lat, lng in chunk
            ],
        )
    op.create_index(INDEX, "orders", ["created_at", *COLUMNS])
    with op.batch_alter_table("orders") as batch:
        for name in FIRSTS:
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    for node, name in zip(NODES, FIRSTS, strict=True):
        op.execute(
            f"UPDATE orders SET {name} = (SELECT MIN(t.at) FROM order_timeline t"
            f" WHERE t.order_id = orders.id AND t.status = '{node}')"
        )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="orders")
    # Plain ALTER TABLE ... DROP COLUMN on both backends (SQLite >= 3.35): a batch copy of ``orders`` would
    # break the foreign keys of its timeline, lines and shipments.
    for name in [*reversed(FIRSTS), *reversed(COLUMNS)]:
        op.drop_column("orders", name)
