"""Every exception carries a root cause (issue 10, item 4): ``order_exceptions.root_cause``, backfilled,
and the indexes the root-cause Pareto and its drill-down read through.

Revision ID: 0019_root_causes
Revises: 0018_console (written on 0016_analytics_index; re-chained after merging house/i10-console)

The backfill maps each stored ``kind`` to its root cause as ``orders_core.orders.root_causes`` did when
this migration was written (frozen here: a later change of the mapping must not rewrite history), then
refines stock shortages the way the code does: units missing across the network, an approval to wait for
stock or a transfer, or an automatic close when stock arrived make it ``supplier_lead_time``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0019_root_causes"
down_revision = "0018_console"
branch_labels = None
depends_on = None

#: kind -> root cause when this revision was written; any other kind was a manual hold.
KIND_ROOT_CAUSES: dict[str, str] = {
    "price_conflict": "price_rule",
    "credit_limit_exceeded": "credit",
    "credit_overdue": "credit",
    "payment_pending": "payment_pending",
    "stock_shortage": "stock_shortage",
    "address_far_from_customer": "address",
    "address_outside_coverage": "address",
    "short_pick": "short_pick",
    "no_carrier_in_range": "no_carrier_in_range",
    "carrier_late": "carrier_late",
    "delivery_failed": "failed_delivery",
    "shipment_returned": "failed_delivery",
    "delivered_far_from_dropoff": "data_sync",
}
OTHER = "manual_hold"
WAITING_STRATEGIES = frozenset({"wait_for_stock", "transfer"})

INDEXES: tuple[tuple[str, str, list[str]], ...] = (
    ("ix_order_exceptions_created_cause_order", "order_exceptions", ["created_at", "root_cause", "order_id"]),
    ("ix_order_exceptions_cause_created_order", "order_exceptions", ["root_cause", "created_at", "order_id"]),
    ("ix_order_lines_order_sku", "order_lines", ["order_id", "sku"]),
    ("ix_shipments_order_warehouse_carrier", "shipments", ["order_id", "warehouse_id", "carrier_id"]),
)


def _waited_for_supply(status: str, details: dict[str, Any] | None, note: str | None) -> bool:
    details = details or {}
    resolution = details.get("resolution") or {}
    return bool(
        details.get("missing")
        or resolution.get("strategy") in WAITING_STRATEGIES
        or (status == "closed" and (note or "").startswith("resolved automatically"))
    )


def upgrade() -> None:
    with op.batch_alter_table("order_exceptions") as batch:
        batch.add_column(sa.Column("root_cause", sa.String(32), nullable=True))
    exceptions = sa.table(
        "order_exceptions",
        sa.column("id", sa.String),
        sa.column("kind", sa.String),
        sa.column("root_cause", sa.String),
        sa.column("status", sa.String),
        sa.column("note", sa.Text),
        sa.column("details", sa.JSON),
    )
    mapping = sa.case(KIND_ROOT_CAUSES, value=exceptions.c.kind, else_=OTHER)
    bind = op.get_bind()
    bind.execute(exceptions.update().values(root_cause=mapping))
    shortages = bind.execute(
        sa.select(exceptions.c.id, exceptions.c.status, exceptions.c.details, exceptions.c.note).where(
            exceptions.c.kind == "stock_shortage"
        )
    )
    waited = [row.id for row in shortages if _waited_for_supply(row.status, row.details, row.note)]
    for start in range(0, len(waited), 500):
        bind.execute(
            exceptions.update()
            .where(exceptions.c.id.in_(waited[start : start + 500]))
            .values(root_cause="supplier_lead_time")
        )
    with op.batch_alter_table("order_exceptions") as batch:
        batch.alter_column("root_cause", existing_type=sa.String(32), nullable=False)
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("order_exceptions") as batch:
        batch.drop_column("root_cause")
