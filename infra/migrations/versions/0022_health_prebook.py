"""Customer health scores (every computation with its indicator lines, and each customer's latest) and
pre-booked stock (soft reservations of a customer's forecast weekly demand) (issue 13, items 6 and 7).

Revision ID: 0022_health_prebook
Revises: (see down_revision: re-chained at merge)

New tables only: nothing existing changes, ``stock_levels`` and its CHECKs included (soft reservations are
not counted in ``reserved``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from infra.migrations.column_types import utc_datetime

revision = "0022_health_prebook"
down_revision = "0021_forecast"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_health_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("computed_at", utc_datetime(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("previous_score", sa.Float(), nullable=True),
        sa.Column("trend", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customer_health_runs"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_customer_health_runs_customer_id_customers"
        ),
    )
    op.create_index("ix_customer_health_runs_customer_computed", "customer_health_runs", ["customer_id", "computed_at"])
    op.create_table(
        "customer_health_indicators",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("indicator", sa.String(40), nullable=False),
        sa.Column("raw_value", sa.Float(), nullable=True),
        sa.Column("tier_score", sa.Integer(), nullable=True),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("effective_weight", sa.Float(), nullable=False),
        sa.Column("contribution", sa.Float(), nullable=False),
        sa.Column("previous_tier_score", sa.Integer(), nullable=True),
        sa.Column("trend", sa.String(16), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_customer_health_indicators"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["customer_health_runs.id"], name="fk_customer_health_indicators_run_id_customer_health_runs"
        ),
    )
    op.create_index("ix_customer_health_indicators_run_id", "customer_health_indicators", ["run_id"])
    op.create_table(
        "customer_health",
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("sort_score", sa.Float(), nullable=False),
        sa.Column("computed_at", utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_customer_health"),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name="fk_customer_health_customer_id_customers"),
    )
    op.create_index("ix_customer_health_sort_score", "customer_health", ["sort_score", "customer_id"])
    op.create_table(
        "stock_prebookings",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("warehouse_id", sa.String(64), nullable=False),
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("week_start", utc_datetime(), nullable=False),
        sa.Column("requested_qty", sa.Integer(), nullable=False),
        sa.Column("consumed_qty", sa.Integer(), nullable=False),
        sa.Column("held_qty", sa.Integer(), nullable=False),
        sa.Column("bumped_qty", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("expires_at", utc_datetime(), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("updated_at", utc_datetime(), nullable=False),
        sa.Column("closed_at", utc_datetime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_stock_prebookings"),
        sa.UniqueConstraint("customer_id", "sku", "week_start", name="uq_stock_prebookings_customer_sku_week"),
        sa.CheckConstraint("requested_qty > 0", name="ck_stock_prebookings_requested_positive"),
        sa.CheckConstraint(
            "consumed_qty >= 0 AND held_qty >= 0 AND bumped_qty >= 0",
            name="ck_stock_prebookings_quantities_not_negative",
        ),
        sa.CheckConstraint(
            "consumed_qty + held_qty + bumped_qty <= requested_qty", name="ck_stock_prebookings_within_requested"
        ),
        sa.CheckConstraint(
            "status IN ('active', 'fulfilled', 'expired', 'cancelled')", name="ck_stock_prebookings_status_known"
        ),
    )
    op.create_index("ix_stock_prebookings_warehouse_sku_status", "stock_prebookings", ["warehouse_id", "sku", "status"])
    op.create_index("ix_stock_prebookings_status_expires", "stock_prebookings", ["status", "expires_at"])
    op.create_index("ix_stock_prebookings_customer_id", "stock_prebookings", ["customer_id"])


def downgrade() -> None:
    op.drop_index("ix_stock_prebookings_customer_id", table_name="stock_prebookings")
    op.drop_index("ix_stock_prebookings_status_expires", table_name="stock_prebookings")
    op.drop_index("ix_stock_prebookings_warehouse_sku_status", table_name="stock_prebookings")
    op.drop_table("stock_prebookings")
    op.drop_index("ix_customer_health_sort_score", table_name="customer_health")
    op.drop_table("customer_health")
    op.drop_index("ix_customer_health_indicators_run_id", table_name="customer_health_indicators")
    op.drop_table("customer_health_indicators")
    op.drop_index("ix_customer_health_runs_customer_computed", table_name="customer_health_runs")
    op.drop_table("customer_health_runs")
