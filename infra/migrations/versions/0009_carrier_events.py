"""Carrier callbacks: the events received (unique per carrier and event id) and each shipment's tracking.

Revision ID: 0009_carrier_events
Revises: 0008_delivery_promise
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from infra.migrations.column_types import utc_datetime

revision = "0009_carrier_events"
down_revision = "0008_delivery_promise"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "carrier_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("carrier_id", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("waybill_no", sa.String(40), nullable=False),
        sa.Column("shipment_id", sa.String(32), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("at", utc_datetime(), nullable=False),
        sa.Column("event", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("received_at", utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_carrier_events"),
        sa.UniqueConstraint("carrier_id", "event_id", name="uq_carrier_events_carrier_event"),
    )
    op.create_index("ix_carrier_events_waybill_no", "carrier_events", ["waybill_no"])
    op.create_index("ix_carrier_events_shipment_id", "carrier_events", ["shipment_id"])
    op.create_table(
        "shipment_tracking",
        sa.Column("shipment_id", sa.String(32), nullable=False),
        sa.Column("picked_up_at", utc_datetime(), nullable=True),
        sa.Column("pickup_implied", sa.Boolean(), nullable=False),
        sa.Column("delivered_at", utc_datetime(), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("returned", sa.Boolean(), nullable=False),
        sa.Column("last_status_at", utc_datetime(), nullable=True),
        sa.Column("position_lat", sa.Float(), nullable=True),
        sa.Column("position_lng", sa.Float(), nullable=True),
        sa.Column("position_at", utc_datetime(), nullable=True),
        sa.Column("pickup_eta_at", utc_datetime(), nullable=True),
        sa.Column("eta_at", utc_datetime(), nullable=True),
        sa.Column("proof", sa.JSON(), nullable=True),
        sa.Column("delivered_distance_m", sa.Float(), nullable=True),
        sa.Column("updated_at", utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("shipment_id", name="pk_shipment_tracking"),
        sa.ForeignKeyConstraint(["shipment_id"], ["shipments.id"], name="fk_shipment_tracking_shipment_id_shipments"),
    )


def downgrade() -> None:
    op.drop_table("shipment_tracking")
    op.drop_index("ix_carrier_events_shipment_id", table_name="carrier_events")
    op.drop_index("ix_carrier_events_waybill_no", table_name="carrier_events")
    op.drop_table("carrier_events")
