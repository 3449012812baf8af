"""Imports through mapping profiles (issue 13): runs, per-record report, imported source keys, waiting
records and SKU pack sizes.

Revision ID: 0020_integration
Revises: (see down_revision: re-chained at merge)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from foundation.columns import UtcDateTime

revision = "0020_integration"
down_revision = "0019_root_causes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("profile", sa.String(100), nullable=False),
        sa.Column("system", sa.String(100), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("file_name", sa.String(300), nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("file_bytes", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("last_record", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("deferred", sa.Integer(), nullable=False),
        sa.Column("duplicate", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_runs")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_import_runs_idempotency_key")),
    )
    op.create_index("ix_import_runs_profile_sha", "import_runs", ["profile", "file_sha256"])
    op.create_table(
        "import_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("record_no", sa.Integer(), nullable=False),
        sa.Column("source_key", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("warnings", sa.JSON(), nullable=True),
        sa.Column("entity_id", sa.String(64), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["import_runs.id"], name=op.f("fk_import_records_run_id_import_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_records")),
    )
    op.create_index("ix_import_records_run_record", "import_records", ["run_id", "record_no"])
    op.create_table(
        "import_source_keys",
        sa.Column("system", sa.String(100), nullable=False),
        sa.Column("entity", sa.String(16), nullable=False),
        sa.Column("source_key", sa.String(200), nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("record_no", sa.Integer(), nullable=False),
        sa.Column("entity_id", sa.String(64), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("system", "entity", "source_key", name=op.f("pk_import_source_keys")),
    )
    op.create_table(
        "import_pending",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(32), nullable=False),
        sa.Column("record_no", sa.Integer(), nullable=False),
        sa.Column("profile_path", sa.String(500), nullable=False),
        sa.Column("system", sa.String(100), nullable=False),
        sa.Column("entity", sa.String(16), nullable=False),
        sa.Column("source_key", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("waiting_for", sa.JSON(), nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("resolved_at", UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["import_runs.id"], name=op.f("fk_import_pending_run_id_import_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_pending")),
    )
    op.create_index("ix_import_pending_status", "import_pending", ["status", "id"])
    op.create_table(
        "sku_pack_sizes",
        sa.Column("sku", sa.String(64), nullable=False),
        sa.Column("pieces_per_case", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["sku"], ["skus.sku"], name=op.f("fk_sku_pack_sizes_sku_skus")),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_sku_pack_sizes")),
    )


def downgrade() -> None:
    op.drop_table("sku_pack_sizes")
    op.drop_index("ix_import_pending_status", table_name="import_pending")
    op.drop_table("import_pending")
    op.drop_table("import_source_keys")
    op.drop_index("ix_import_records_run_record", table_name="import_records")
    op.drop_table("import_records")
    op.drop_index("ix_import_runs_profile_sha", table_name="import_runs")
    op.drop_table("import_runs")
