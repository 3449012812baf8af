"""The period an analytics question covers: orders placed in ``[start, end)``, at most ``MAX_SPAN`` long.

The cap bounds what one request reads (a year of orders, a little more for a leap year), so a typo in a
date cannot make the service fetch its whole history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from foundation.errors import InvalidInput

MAX_SPAN = timedelta(days=366)


class InvalidPeriod(InvalidInput):
    """A period that is empty, reversed, longer than ``MAX_SPAN`` or has no UTC time."""

    code = "invalid_period"


@dataclass(frozen=True)
class Period:
    """``[start, end)`` in UTC (stored times are UTC; SQLite compares them as text)."""

    start: datetime
    end: datetime


def period(start: datetime, end: datetime) -> Period:
    """The checked period in UTC; ``InvalidPeriod`` (422) when ``start`` is not before ``end`` or the span
    exceeds ``MAX_SPAN``. Both must carry a zone (the API refuses naive times before this)."""
    try:
        start, end = start.astimezone(UTC), end.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+05:00 has no UTC time
        raise InvalidPeriod("from/to must be representable in UTC") from exc
    if end <= start:
        raise InvalidPeriod("'to' must be after 'from'")
    if end - start > MAX_SPAN:
        raise InvalidPeriod(f"the period may span at most {MAX_SPAN.days} days")
    return Period(start, end)
