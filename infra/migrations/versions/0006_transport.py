"""Transport: the shipment's carrier, status, load and route stop; e-waybills; customer phone; the
order's delivery contact and cash-on-delivery flag.

Revision ID: 0006_transport
Revises: 0005_picking
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from infra.migrations.column_types import utc_datetime

revision = "0006_transport"
down_revision = "0005_picking"
branch_labels = None
depends_on = None

_SHIPMENT_COLUMNS = (
    ("status", lambda: sa.Column("status", sa.String(16), nullable=False, server_default="ready")),
    ("carrier_id", lambda: sa.Column("carrier_id", sa.String(64), nullable=True)),
    ("waybill_no", lambda: sa.Column("waybill_no", sa.String(40), nullable=True)),
    ("weight_kg", lambda: sa.Column("weight_kg", sa.Float(), nullable=True)),
    ("volume_m3", lambda: sa.Column("volume_m3", sa.Float(), nullable=True)),
    ("pieces", lambda: sa.Column("pieces", sa.Integer(), nullable=True)),
    ("assignment_mode", lambda: sa.Column("assignment_mode", sa.String(16), nullable=True)),
    ("assignment_reason", lambda: sa.Column("assignment_reason", sa.Text(), nullable=True)),
    ("assigned_by", lambda: sa.Column("assigned_by", sa.String(100), nullable=True)),
    ("assigned_at", lambda: sa.Column("assigned_at", utc_datetime(), nullable=True)),
    ("assign_attempts", lambda: sa.Column("assign_attempts", sa.Integer(), nullable=False, server_default="0")),
    ("last_assign_attempt_at", lambda: sa.Column("last_assign_attempt_at", utc_datetime(), nullable=True)),
    ("route_id", lambda: sa.Column("route_id", sa.String(64), nullable=True)),
    ("stop_sequence", lambda: sa.Column("stop_sequence", sa.Integer(), nullable=True)),
    ("loading_position", lambda: sa.Column("loading_position", sa.Integer(), nullable=True)),
    ("updated_at", lambda: sa.Column("updated_at", utc_datetime(), nullable=True)),
)


def upgrade() -> None:
    for _name, column in _SHIPMENT_COLUMNS:
        op.add_column("shipments", column())
    op.create_index("ix_shipments_status_warehouse", "shipments", ["status", "warehouse_id"])
    op.create_index("ix_shipments_carrier_id", "shipments", ["carrier_id"])
    op.add_column("customers", sa.Column("phone", sa.String(32), nullable=True))
    op.add_column("orders", sa.Column("delivery_contact_name", sa.String(200), nullable=True))
    op.add_column("orders", sa.Column("delivery_contact_phone", sa.String(32), nullable=True))
    op.add_column("orders", sa.Column("cash_on_delivery", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "waybills",
        sa.Column("waybill_no", sa.String(40), nullable=False),
        sa.Column("parent_no", sa.String(40), nullable=True),
        sa.Column("package_index", sa.Integer(), nullable=True),
        sa.Column("shipment_id", sa.String(32), nullable=False),
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("carrier_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("weight_kg", sa.Float(), nullable=False),
        sa.Column("volume_m3", sa.Float(), nullable=False),
        sa.Column("pieces", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("updated_at", utc_datetime(), nullable=False),
        sa.Column("cancelled_at", utc_datetime(), nullable=True),
        sa.PrimaryKeyConstraint("waybill_no", name="pk_waybills"),
        sa.ForeignKeyConstraint(["parent_no"], ["waybills.waybill_no"], name="fk_waybills_parent_no_waybills"),
        sa.ForeignKeyConstraint(["shipment_id"], ["shipments.id"], name="fk_waybills_shipment_id_shipments"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name="fk_waybills_order_id_orders"),
    )
    op.create_index("ix_waybills_shipment_id", "waybills", ["shipment_id"])
    op.create_index("ix_waybills_parent_no", "waybills", ["parent_no"])
    op.create_index("ix_waybills_carrier_status", "waybills", ["carrier_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_waybills_carrier_status", table_name="waybills")
    op.drop_index("ix_waybills_parent_no", table_name="waybills")
    op.drop_index("ix_waybills_shipment_id", table_name="waybills")
    op.drop_table("waybills")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("cash_on_delivery")
        batch.drop_column("delivery_contact_phone")
        batch.drop_column("delivery_contact_name")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("phone")
    op.drop_index("ix_shipments_carrier_id", table_name="shipments")
    op.drop_index("ix_shipments_status_warehouse", table_name="shipments")
    with op.batch_alter_table("shipments") as batch:
        for name, _column in reversed(_SHIPMENT_COLUMNS):
            batch.drop_column(name)
