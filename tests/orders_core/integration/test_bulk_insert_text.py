"""The bulk insert's own SQLite timestamp text equals what SQLAlchemy binds for a UtcDateTime column, so
imported rows sort and compare like rows written through the ORM."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy.dialects import sqlite

from foundation.columns import UtcDateTime
from orders_core.integration.repository import sqlite_utc_text


def _sqlalchemy_text(value: datetime) -> str:
    dialect = sqlite.dialect()
    column_type = UtcDateTime()
    bound = column_type.process_bind_param(value, dialect)
    processor = column_type.impl_instance.dialect_impl(dialect).bind_processor(dialect)
    assert processor is not None and bound is not None
    text = processor(bound)
    assert isinstance(text, str)
    return text


def test_timestamp_text_matches_sqlalchemy_for_utc_naive_and_other_zones() -> None:
    shanghai = timezone(timedelta(hours=8))
    values = [
        datetime(2025, 1, 1, 0, 0, tzinfo=UTC),
        datetime(2025, 11, 11, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2025, 3, 4, 5, 6, 7, 123, tzinfo=shanghai),  # crosses midnight into the previous UTC day
        datetime(2025, 3, 4, 5, 6, 7),  # naive: taken as UTC
        datetime(999, 12, 31, 23, 0, tzinfo=UTC),
    ]
    for value in values:
        assert sqlite_utc_text(value) == _sqlalchemy_text(value), value
    assert sqlite_utc_text(values[2]).startswith("2025-03-03 21:06:07")
