"""Carrier webhooks: deliveries, their attempts, retired signing secrets, and a partial outbox index that
finds the unpublished carrier.webhook rows in id order without scanning the other topics' history.

Revision ID: 0010_webhooks
Revises: 0009_carrier_events
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from infra.migrations.column_types import utc_datetime

revision = "0010_webhooks"
down_revision = "0009_carrier_events"
branch_labels = None
depends_on = None

UNPUBLISHED_WEBHOOKS = "topic = 'carrier.webhook' AND published_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(40), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("carrier_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(32), nullable=False),
        sa.Column("waybill_no", sa.String(64), nullable=False),
        sa.Column("endpoint_url", sa.String(2000), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attempts_before_replay", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", utc_datetime(), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("event_at", utc_datetime(), nullable=False),
        sa.Column("created_at", utc_datetime(), nullable=False),
        sa.Column("updated_at", utc_datetime(), nullable=False),
        sa.Column("delivered_at", utc_datetime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_deliveries"),
        sa.UniqueConstraint("message_id", name="uq_webhook_deliveries_message_id"),
        sa.UniqueConstraint("outbox_id", name="uq_webhook_deliveries_outbox_id"),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'dead', 'skipped')", name="ck_webhook_deliveries_status_known"
        ),
    )
    op.create_index("ix_webhook_deliveries_status_next_attempt_at", "webhook_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_webhook_deliveries_carrier_id_status", "webhook_deliveries", ["carrier_id", "status"])
    op.create_index("ix_webhook_deliveries_waybill_no", "webhook_deliveries", ["waybill_no"])
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("attempt_no", sa.Integer(), nullable=False),
        sa.Column("at", utc_datetime(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("endpoint_url", sa.String(2000), nullable=False),
        sa.Column("worker_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_attempts"),
        sa.ForeignKeyConstraint(
            ["delivery_id"], ["webhook_deliveries.id"], name="fk_webhook_attempts_delivery_id_webhook_deliveries"
        ),
    )
    op.create_index("ix_webhook_attempts_delivery_id", "webhook_attempts", ["delivery_id"])
    op.create_table(
        "retired_webhook_secrets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("carrier_id", sa.String(64), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("retired_at", utc_datetime(), nullable=False),
        sa.Column("expires_at", utc_datetime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_retired_webhook_secrets"),
    )
    op.create_index("ix_retired_webhook_secrets_carrier_id", "retired_webhook_secrets", ["carrier_id"])
    op.create_index(
        "ix_outbox_carrier_webhook_unpublished",
        "outbox",
        ["id", "topic", "published_at"],
        sqlite_where=sa.text(UNPUBLISHED_WEBHOOKS),
        postgresql_where=sa.text(UNPUBLISHED_WEBHOOKS),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_carrier_webhook_unpublished", table_name="outbox")
    op.drop_index("ix_retired_webhook_secrets_carrier_id", table_name="retired_webhook_secrets")
    op.drop_table("retired_webhook_secrets")
    op.drop_index("ix_webhook_attempts_delivery_id", table_name="webhook_attempts")
    op.drop_table("webhook_attempts")
    op.drop_index("ix_webhook_deliveries_waybill_no", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_carrier_id_status", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_status_next_attempt_at", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
