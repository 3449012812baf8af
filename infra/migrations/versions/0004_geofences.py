"""Carriers and geofences.

Revision ID: 0004_geofences
Revises: 0003_stock
"""

from __future__ import annotations

revision = "0004_geofences"
down_revision = "0003_stock"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
