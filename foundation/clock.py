"""The one clock of the service: timezone-aware UTC everywhere, so stored and compared times agree."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)
