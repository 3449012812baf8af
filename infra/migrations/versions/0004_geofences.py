"""Carriers, their last durable positions, geofences and fence events.

Revision ID: 0004_geofences
Revises: 0003_stock
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from infra.migrations.column_types import geometry

revision = "0004_geofences"
down_revision = "0003_stock"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "carriers",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("vehicle_type", sa.String(32), nullable=False),
        sa.Column("capacity_kg", sa.Float, nullable=False),
        sa.Column("capacity_m3", sa.Float, nullable=False),
        sa.Column("coverage", geometry("GEOMETRY"), nullable=True),
        sa.Column("webhook_url", sa.String(2000), nullable=True),
        sa.Column("webhook_secret", sa.String(200), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("rate_per_km", sa.Numeric(12, 4), nullable=False),
        sa.Column("base_fare", sa.Numeric(12, 2), nullable=False),
        sa.Column("on_time_rate", sa.Float, nullable=False),
        sa.Column("rating", sa.Float, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "carrier_positions",
        sa.Column(
            "carrier_id",
            sa.String(64),
            sa.ForeignKey("carriers.id", ondelete="CASCADE", name="fk_carrier_positions_carrier_id_carriers"),
            primary_key=True,
        ),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lng", sa.Float, nullable=False),
        sa.Column("ts_s", sa.Float, nullable=False),
    )
    op.create_table(
        "geofences",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("owner_id", sa.String(64), nullable=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("geometry", geometry("GEOMETRY"), nullable=False),
        sa.Column("min_lng", sa.Float, nullable=False),
        sa.Column("min_lat", sa.Float, nullable=False),
        sa.Column("max_lng", sa.Float, nullable=False),
        sa.Column("max_lat", sa.Float, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_geofences_kind_owner", "geofences", ["kind", "owner_id"])
    op.create_index("ix_geofences_bbox", "geofences", ["min_lng", "max_lng", "min_lat", "max_lat"])
    op.create_table(
        "geofence_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("carrier_id", sa.String(64), nullable=False),
        sa.Column("fence_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("ts_s", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lng", sa.Float, nullable=False),
        sa.Column("via_crossing", sa.Boolean, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_geofence_events_carrier", "geofence_events", ["carrier_id", "ts_s"])
    op.create_index("ix_geofence_events_fence", "geofence_events", ["fence_id", "ts_s"])
    if op.get_bind().dialect.name == "postgresql":
        # Spatial indexes exist only where the engine can use them (PostGIS).
        op.execute("CREATE INDEX ix_carriers_coverage ON carriers USING gist (coverage)")
        op.execute("CREATE INDEX ix_geofences_geometry ON geofences USING gist (geometry)")


def downgrade() -> None:
    op.drop_table("geofence_events")
    op.drop_table("geofences")
    op.drop_table("carrier_positions")
    op.drop_table("carriers")
