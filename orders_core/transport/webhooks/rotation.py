"""Signing-secret rotation: a carrier's previous secret keeps signing beside the new one for a grace period.

The Standard Webhooks specification lets ``webhook-signature`` carry several signatures, so a carrier can
switch its verifier to the new secret whenever it likes within the grace period and lose no webhook.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from orders_core.transport.webhooks.tables import RetiredWebhookSecretRow


def retire_secret(session: Session, carrier_id: str, secret: str, *, now: datetime, grace_s: float) -> None:
    """Record that ``secret`` was replaced at ``now``; it signs alongside the new one until ``now + grace_s``.

    Runs in the caller's transaction (the carrier's upsert), so the rotation and the record of the old
    secret commit together. A zero grace records nothing: the old secret stops at once.
    """
    if grace_s <= 0:
        return
    session.add(
        RetiredWebhookSecretRow(
            carrier_id=carrier_id, secret=secret, retired_at=now, expires_at=now + timedelta(seconds=grace_s)
        )
    )
