"""Pick waves and pick tasks.

Revision ID: 0005_picking
Revises: 0004_geofences
"""

from __future__ import annotations

revision = "0005_picking"
down_revision = "0004_geofences"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
