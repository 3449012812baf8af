"""Source values -> typed values, with the formats the profile states (never guessed).

A date is read with the profile's strptime format only: ``03/04/2026`` is 3 April or 4 March as the profile
says, and a value that does not match is invalid. Numbers use the profile's thousands and decimal
separators; an integer field refuses ``2.5`` rather than truncating it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from orders_core.integration.profile import FieldSpec, NumberFormat, Profile

_PLAIN_FLOAT = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
_ISO_DATETIME = "%Y-%m-%d %H:%M:%S"
_ISO_DATE = "%Y-%m-%d"
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


class ValueInvalid(ValueError):
    """A source value that does not parse as its field's type; the message says why."""


def is_missing(raw: Any) -> bool:
    """Whether a source value counts as absent (None, or text that is blank)."""
    return raw is None or (isinstance(raw, str) and not raw.strip())


def parse_field(spec: FieldSpec, raw: Any, profile: Profile) -> Any:
    """The typed value of ``raw`` for ``spec`` (raises ``ValueInvalid``); ``raw`` must not be missing."""
    if isinstance(raw, str):
        raw = raw.strip()
    if spec.values:
        key = str(raw)
        if key in spec.values:
            raw = spec.values[key]
    kind = spec.type
    if kind == "string":
        return str(raw).strip() if not isinstance(raw, float) or not raw.is_integer() else str(int(raw))
    if kind == "integer":
        if isinstance(raw, str) and raw.isascii() and raw.isdigit():  # the common case, no separators
            return int(raw)
        return parse_integer(raw, profile.numbers)
    if kind == "decimal":
        return parse_decimal(raw, profile.numbers)
    if kind == "float":
        return parse_float(raw, profile.numbers)
    if kind == "boolean":
        return parse_boolean(raw)
    fmt = spec.format or (profile.date_format if kind == "date" else profile.datetime_format)
    if kind == "date":
        return parse_date(raw, fmt)
    return parse_datetime(raw, fmt, profile.utc_offset_minutes)


def parse_decimal(raw: Any, numbers: NumberFormat) -> Decimal:
    """A decimal from a number or from text written with the given separators."""
    if isinstance(raw, bool):
        raise ValueInvalid(f"{raw!r} is not a number")
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw))
    if isinstance(raw, Decimal):
        return raw
    text = str(raw).strip().replace("\u00a0", " ")
    if not _number_pattern(numbers).match(text):
        raise ValueInvalid(
            f"{raw!r} is not a number written with thousands {numbers.thousands!r} and decimal {numbers.decimal!r}"
        )
    if numbers.thousands:
        text = text.replace(numbers.thousands, "")
    text = text.replace(numbers.decimal, ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueInvalid(f"{raw!r} is not a number") from None
    if not value.is_finite():
        raise ValueInvalid(f"{raw!r} is not a finite number")
    return value


@lru_cache(maxsize=16)
def _number_pattern(numbers: NumberFormat) -> re.Pattern[str]:
    """Plain digits, or digits grouped by threes with the thousands separator; then the decimal part."""
    decimal = re.escape(numbers.decimal)
    grouped = rf"\d{{1,3}}(?:{re.escape(numbers.thousands)}\d{{3}})+" if numbers.thousands else r"(?!)"
    return re.compile(rf"^[+-]?(?:{grouped}|\d+)(?:{decimal}\d+)?$|^[+-]?{decimal}\d+$")


def parse_float(raw: Any, numbers: NumberFormat) -> float:
    """A float (coordinates, weights) from a number or text with the given separators."""
    if isinstance(raw, float | int) and not isinstance(raw, bool):
        return float(raw)
    text = str(raw).strip()
    if numbers.decimal == "." and _PLAIN_FLOAT.match(text):
        return float(text)  # the common case: no separators to remove, nothing Decimal adds
    return float(parse_decimal(raw, numbers))


def parse_integer(raw: Any, numbers: NumberFormat) -> int:
    """A whole number; ``2.5`` is invalid (never truncated), ``2.0`` is 2."""
    value = parse_decimal(raw, numbers)
    if value != value.to_integral_value():
        raise ValueInvalid(f"{raw!r} is not a whole number")
    return int(value)


def parse_boolean(raw: Any) -> bool:
    """true/false, 1/0, yes/no, y/n (case-insensitive) or a real boolean."""
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueInvalid(f"{raw!r} is not true or false")


def parse_date(raw: Any, fmt: str) -> date:
    """A date read with ``fmt`` exactly (or a spreadsheet's own date cell)."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = str(raw).strip()
    if fmt == _ISO_DATE and len(text) == 10 and text[4] == "-" and text[7] == "-" and text.isascii():
        try:  # the same answer as strptime for exactly this shape, twenty times faster
            return date.fromisoformat(text)
        except ValueError:
            pass
    try:
        return datetime.strptime(text, fmt).date()
    except ValueError:
        raise ValueInvalid(f"{raw!r} does not match the date format {fmt!r}") from None


def parse_datetime(raw: Any, fmt: str, utc_offset_minutes: int) -> datetime:
    """An aware UTC datetime read with ``fmt``; a time without an offset is in the profile's zone."""
    if isinstance(raw, datetime):
        moment = raw
    elif isinstance(raw, date):
        moment = datetime(raw.year, raw.month, raw.day)
    else:
        moment = _strptime_datetime(str(raw).strip(), fmt, raw)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_zone(utc_offset_minutes))
    return moment.astimezone(UTC)


def _strptime_datetime(text: str, fmt: str, raw: Any) -> datetime:
    if fmt == _ISO_DATETIME and len(text) == 19 and text.isascii() and text[10] == " " and text[4] == "-":
        try:  # the same answer as strptime for exactly this shape (checked by the tests), much faster
            if text[7] == "-" and text[13] == ":" and text[16] == ":":
                return datetime.fromisoformat(text)
        except ValueError:
            pass
    try:
        return datetime.strptime(text, fmt)
    except ValueError:
        raise ValueInvalid(f"{raw!r} does not match the datetime format {fmt!r}") from None


@lru_cache(maxsize=64)
def _zone(utc_offset_minutes: int) -> timezone:
    return timezone(timedelta(minutes=utc_offset_minutes))


def format_for_source(value: Any) -> str:
    """A value as text for a re-exported source file (spreadsheet cells that were dates stay ISO)."""
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)
