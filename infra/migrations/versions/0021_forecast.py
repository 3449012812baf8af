"""The demand forecast's tables (issue 13, item 5): runs, forecasts per SKU × region × week, and
replenishment suggestions per warehouse and SKU.

Revision ID: 0021_forecast
Revises: (see down_revision: re-chained at merge)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from infra.migrations.column_types import utc_datetime

revision = "0021_forecast"
down_revision = "0020_integration"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forecast_runs",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("history_from", sa.String(10), nullable=False),
        sa.Column("history_to", sa.String(10), nullable=False),
        sa.Column("series", sa.Integer(), nullable=False),
        sa.Column("horizon_weeks", sa.Integer(), nullable=False),
        sa.Column("lead_time_weeks", sa.Integer(), nullable=False),
        sa.Column("h3_resolution", sa.Integer(), nullable=False),
        sa.Column("interval_level", sa.Float(), nullable=False),
        sa.Column("service_level", sa.Float(), nullable=False),
        sa.Column("incoherence", sa.Float(), nullable=False),
        sa.Column("chosen", sa.JSON(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_forecast_runs"),
    )
    op.create_index("ix_forecast_runs_created_at", "forecast_runs", ["created_at"])
    op.create_table(
        "forecasts",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("week", sa.String(10), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("demand_class", sa.String(16), nullable=False),
        sa.Column("model", sa.String(32), nullable=False),
        sa.Column("base", sa.Float(), nullable=False),
        sa.Column("forecast", sa.Float(), nullable=False),
        sa.Column("lo", sa.Float(), nullable=False),
        sa.Column("hi", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["forecast_runs.id"], name="fk_forecasts_run_id_forecast_runs"),
        sa.PrimaryKeyConstraint("run_id", "sku", "region", "week", name="pk_forecasts"),
    )
    op.create_index("ix_forecasts_run_region_week", "forecasts", ["run_id", "region", "week"])
    op.create_table(
        "replenishment_suggestions",
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("warehouse_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("demand_class", sa.String(16), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("cover_demand", sa.Float(), nullable=False),
        sa.Column("safety_stock", sa.Float(), nullable=False),
        sa.Column("order_up_to", sa.Integer(), nullable=False),
        sa.Column("transfer_in", sa.Integer(), nullable=False),
        sa.Column("transfer_out", sa.Integer(), nullable=False),
        sa.Column("order_qty", sa.Integer(), nullable=False),
        sa.Column("transfers", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["forecast_runs.id"], name="fk_replenishment_suggestions_run_id_forecast_runs"
        ),
        sa.PrimaryKeyConstraint("run_id", "warehouse_id", "sku", name="pk_replenishment_suggestions"),
    )


def downgrade() -> None:
    op.drop_table("replenishment_suggestions")
    op.drop_index("ix_forecasts_run_region_week", table_name="forecasts")
    op.drop_table("forecasts")
    op.drop_index("ix_forecast_runs_created_at", table_name="forecast_runs")
    op.drop_table("forecast_runs")
