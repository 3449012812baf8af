"""Index carrier events by (carrier_id, type, id) for the tracking page's delivery window (issue 10, item 1).

Revision ID: 0017_tracking_page
Revises: 0023_reconciliation

The window widens by how late a carrier delivered against our forecasts: the page reads the carrier's
newest ``position`` events (``orders_core.transport.eta_history``); this index answers that newest-first
read without scanning or sorting every event the carrier ever sent.
"""

from __future__ import annotations

from alembic import op

revision = "0017_tracking_page"
down_revision = "0023_reconciliation"  # re-chained at merge: the ids are names, the order is this line
branch_labels = None
depends_on = None

NAME = "ix_carrier_events_carrier_type_id"


def upgrade() -> None:
    op.create_index(NAME, "carrier_events", ["carrier_id", "type", "id"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="carrier_events")
