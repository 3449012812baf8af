"""One convention for every list endpoint: ``?limit=&cursor=&order=asc|desc`` in, ``{"items", "next_cursor"}`` out.

Lists are ordered by creation time (then id) unless their docstring says otherwise; ``order=desc`` is newest
first. ``next_cursor`` is null on the last page; pass it back as ``cursor`` (with the same filters and order)
for the next one. Status-like filters may be repeated (``?status=on_hold&status=allocated``) or comma-separated
(``?status=on_hold,allocated``); a value the service does not know is 422 ``invalid_filter``, never ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Generic, Literal, TypeVar

from fastapi import Query
from pydantic import AwareDatetime, BaseModel

from foundation.errors import InvalidInput
from infra.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageRequest

T = TypeVar("T")

#: What a cursor looks like (base64url); anything else is refused before it reaches a query.
CURSOR_PATTERN = r"^[A-Za-z0-9_\-=]*$"


class InvalidFilter(InvalidInput):
    """A filter value the service does not know (an unknown status, kind, role...)."""

    code = "invalid_filter"


class Page(BaseModel, Generic[T]):
    """One page of a list; ``next_cursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None = None


def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[
        str | None, Query(max_length=2000, pattern=CURSOR_PATTERN, description="`next_cursor` of the previous page.")
    ] = None,
    order: Annotated[
        Literal["asc", "desc"], Query(description="asc: oldest first (the default); desc: newest first.")
    ] = "asc",
) -> PageRequest:
    """The page a request asks for (a FastAPI dependency shared by every list)."""
    return PageRequest(limit=limit, cursor=cursor or None, descending=order == "desc")


#: Free-text search on names: case-insensitive substring.
SearchText = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
#: A time range on creation: ``created_from`` inclusive, ``created_to`` exclusive (RFC 3339 with an offset).
CreatedFrom = Annotated[AwareDatetime | None, Query(description="Created at or after (RFC 3339).")]
CreatedTo = Annotated[AwareDatetime | None, Query(description="Created before (RFC 3339).")]
#: A repeatable filter (``?status=a&status=b`` or ``?status=a,b``).
MultiValue = Annotated[list[str] | None, Query(max_length=50)]


def one_of(values: Iterable[str] | None, allowed: Iterable[str], *, name: str) -> list[str] | None:
    """The distinct values of a repeatable filter (comma-separated parts split), each checked against
    ``allowed``; None when the filter is absent. An unknown value is 422 ``invalid_filter`` naming it."""
    if values is None:
        return None
    wanted = list(dict.fromkeys(part.strip() for value in values for part in value.split(",") if part.strip()))
    known = list(allowed)
    unknown = [value for value in wanted if value not in known]
    if unknown:
        raise InvalidFilter(
            f"unknown {name} {', '.join(repr(u) for u in unknown)}; expected one of {', '.join(known)}",
            details={"filter": name, "unknown": unknown, "allowed": known},
        )
    return wanted or None


def free_values(values: Iterable[str] | None, *, name: str, max_length: int = 64) -> list[str] | None:
    """The distinct values of a repeatable filter whose values are open (e.g. vehicle types): split on
    commas; a value with a NUL or longer than ``max_length`` is 422 ``invalid_filter`` (never reaches SQL)."""
    if values is None:
        return None
    wanted = list(dict.fromkeys(part.strip() for value in values for part in value.split(",") if part.strip()))
    bad = [value for value in wanted if "\x00" in value or len(value) > max_length]
    if bad:
        raise InvalidFilter(f"{name} values must be at most {max_length} characters without NUL")
    return wanted or None


def time_range(created_from: datetime | None, created_to: datetime | None) -> tuple[datetime | None, datetime | None]:
    """The range in UTC (stored times are UTC; SQLite compares them as text, so offsets must not reach it);
    an empty range (``created_to`` not after ``created_from``) is refused instead of answering nothing."""
    try:
        start = None if created_from is None else created_from.astimezone(UTC)
        end = None if created_to is None else created_to.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+05:00 has no UTC time
        raise InvalidFilter("created_from/created_to must be representable in UTC") from exc
    if start is not None and end is not None and end <= start:
        raise InvalidFilter("created_to must be after created_from")
    return start, end
