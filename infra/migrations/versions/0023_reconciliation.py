"""Reconciliation runs and their differences (issue 13, item 4: dual-run reconciliation on the desk).

Revision ID: 0023_reconciliation
Revises: 0022_health_prebook
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from infra.migrations.column_types import utc_datetime

revision = "0023_reconciliation"
# On main this follows "0016_analytics_index"; here it also merges the heads of the branches merged in.
down_revision = "0022_health_prebook"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reconciliation_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("profile", sa.String(100), nullable=False),
        sa.Column("export_name", sa.String(255), nullable=False),
        sa.Column("export_sha256", sa.String(64), nullable=False),
        sa.Column("period_from", utc_datetime(), nullable=True),
        sa.Column("period_to", utc_datetime(), nullable=True),
        sa.Column("consistency_pct", sa.Float(), nullable=False),
        sa.Column("differences", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True, unique=True),
    )
    op.create_index("ix_reconciliation_runs_created_at_id", "reconciliation_runs", ["created_at", "id"])
    op.create_table(
        "reconciliation_differences",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("reconciliation_runs.id"), nullable=False),
        sa.Column("key", sa.String(500), nullable=False),
        sa.Column("cause", sa.String(32), nullable=False),
        sa.Column("field", sa.String(100), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("ours", sa.Text(), nullable=False),
        sa.Column("theirs", sa.Text(), nullable=False),
        sa.Column("delta", sa.String(64), nullable=False),
        sa.Column("relative", sa.String(32), nullable=False),
        sa.Column("tolerance", sa.String(100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_reconciliation_differences_run_cause_field", "reconciliation_differences", ["run_id", "cause", "field"]
    )


def downgrade() -> None:
    op.drop_index("ix_reconciliation_differences_run_cause_field", table_name="reconciliation_differences")
    op.drop_table("reconciliation_differences")
    op.drop_index("ix_reconciliation_runs_created_at_id", table_name="reconciliation_runs")
    op.drop_table("reconciliation_runs")
