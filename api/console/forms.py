"""Reading the console's query strings and forms: HTML forms send empty fields as empty strings, which mean
"no filter" here; anything else is checked like the API checks it (a bad value is a 422 page)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Literal, cast

from api.pagination import InvalidFilter
from api.schemas.master_data import ID_PATTERN

_ID = re.compile(ID_PATTERN)


def blank_to_none(value: str | None) -> str | None:
    """The value stripped, None when empty."""
    value = (value or "").strip()
    return value or None


def optional_id(value: str | None, *, name: str) -> str | None:
    """An id filter (warehouse, customer...), None when empty; 422 when it is not an id."""
    value = blank_to_none(value)
    if value is not None and (len(value) > 64 or not _ID.match(value)):
        raise InvalidFilter(f"{name} must be an id (letters, digits, . _ : -), got {value!r}")
    return value


def day_range(day_from: str | None, day_to: str | None) -> tuple[datetime | None, datetime | None]:
    """The UTC range from the start of ``day_from`` to the end of ``day_to`` (both ``YYYY-MM-DD``, inclusive)."""
    start = _day(day_from, "from")
    end = _day(day_to, "to")
    if start is not None and end is not None and end < start:
        raise InvalidFilter("the 'to' date must not be before the 'from' date")
    return (
        None if start is None else datetime.combine(start, time.min, UTC),
        None if end is None else datetime.combine(end, time.min, UTC) + timedelta(days=1),
    )


def _day(value: str | None, name: str) -> date | None:
    value = blank_to_none(value)
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidFilter(f"the {name!r} date must be YYYY-MM-DD, got {value!r}") from exc


def money_field(value: str | None, *, name: str) -> Decimal | None:
    """A non-negative amount of money with at most two places, None when empty; 422 otherwise."""
    value = blank_to_none(value)
    if value is None:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise InvalidFilter(f"the {name} must be an amount such as 5000 or 5000.50, got {value!r}") from exc
    if not amount.is_finite() or amount < 0 or amount > Decimal("1e13") or amount != amount.quantize(Decimal("0.01")):
        raise InvalidFilter(f"the {name} must be an amount such as 5000 or 5000.50, got {value!r}")
    return amount


def price_choice(value: str | None) -> Literal["quoted", "catalogue"] | None:
    """Which price a price conflict goes ahead at, None when not chosen; 422 for anything else."""
    value = blank_to_none(value)
    if value is None:
        return None
    if value not in ("quoted", "catalogue"):
        raise InvalidFilter(f"price must be quoted or catalogue, got {value!r}")
    return cast(Literal["quoted", "catalogue"], value)
