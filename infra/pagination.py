"""Keyset pagination shared by every list of the service: an opaque cursor, a limit with a maximum.

Every list is ordered by a tuple of columns that is unique (usually ``(created_at, id)``), ascending or
descending. A page reads ``limit + 1`` rows after the cursor's position, so the next page starts exactly where
this one ended, whatever was written in between (no offsets that skip or repeat rows). The cursor is the
sort key of the last row and the direction it was issued for, base64url-encoded JSON: opaque to clients,
rejected (422 ``invalid_cursor``) when it was not issued by this helper or for the other direction.

Text search helpers live here too, so that every list escapes ``%`` and ``_`` the same way.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from foundation.errors import InvalidInput

#: The largest page any list answers; a list endpoint may choose a smaller maximum.
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50

T = TypeVar("T")


class InvalidCursor(InvalidInput):
    """A pagination cursor that this service did not issue (or issued for the other direction)."""

    code = "invalid_cursor"


@dataclass(frozen=True)
class PageRequest:
    """Which page a caller wants: at most ``limit`` items after ``cursor``, newest first when ``descending``."""

    limit: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None
    descending: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE_SIZE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {self.limit}")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and the cursor of the next page (None: this is the last one)."""

    items: list[T]
    next_cursor: str | None


def _encode_value(value: object) -> object:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, Decimal):
        return {"d": str(value)}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise TypeError(f"cannot put a {type(value).__name__} in a cursor")


def _decode_value(value: object) -> object:
    if isinstance(value, dict) and set(value) == {"t"} and isinstance(value["t"], str):
        return datetime.fromisoformat(value["t"])
    if isinstance(value, dict) and set(value) == {"d"} and isinstance(value["d"], str):
        return Decimal(value["d"])
    if value is None or isinstance(value, str | int | float | bool):
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("NUL in a cursor value")
        return value
    raise ValueError("not a cursor value")


def encode_cursor(key: Sequence[object], *, descending: bool) -> str:
    """The opaque cursor after a row whose sort key is ``key``."""
    raw = json.dumps({"k": [_encode_value(v) for v in key], "o": "desc" if descending else "asc"})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, width: int, descending: bool) -> list[object]:
    """The sort key a cursor points after; InvalidCursor (422) for anything this helper did not issue."""
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, dict) or not isinstance(raw.get("k"), list) or len(raw["k"]) != width:
            raise ValueError("not a cursor")
        key = [_decode_value(v) for v in raw["k"]]
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise InvalidCursor("cursor is not one this service issued; start again without it") from exc
    if raw.get("o") != ("desc" if descending else "asc"):
        raise InvalidCursor(f"cursor was issued for order={raw.get('o')}; keep the order of the first page")
    return key


def _after(
    columns: Sequence[InstrumentedAttribute[Any]], key: Sequence[object], descending: bool
) -> ColumnElement[bool]:
    """Rows strictly after ``key`` in the list's order: (a > x) or (a = x and b > y) or ..."""
    clauses = []
    for i, column in enumerate(columns):
        equal = [columns[j] == key[j] for j in range(i)]
        beyond = column < key[i] if descending else column > key[i]
        clauses.append(and_(*equal, beyond))
    return or_(*clauses)


def keyset_page(
    session: Session, query: Select[Any], columns: Sequence[InstrumentedAttribute[Any]], request: PageRequest
) -> tuple[list[Any], str | None]:
    """One page of ``query`` (a ``select`` of one ORM entity) ordered by ``columns``, which must identify a
    row; answers the rows and the next cursor. Filters stay the caller's: apply them to ``query`` first."""
    if request.cursor is not None:
        key = decode_cursor(request.cursor, width=len(columns), descending=request.descending)
        query = query.where(_after(columns, key, request.descending))
    ordering = [column.desc() if request.descending else column.asc() for column in columns]
    rows = list(session.scalars(query.order_by(*ordering).limit(request.limit + 1)))
    if len(rows) <= request.limit:
        return rows, None
    last = rows[request.limit - 1]
    return rows[: request.limit], encode_cursor([getattr(last, c.key) for c in columns], descending=request.descending)


def contains_text(column: InstrumentedAttribute[Any], text: str) -> ColumnElement[bool]:
    """Case-insensitive substring match of ``text`` in ``column`` (``%`` and ``_`` match themselves)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")
