"""The shared keyset pagination against a brute-force oracle, on both backends: pages of any size, in either
order, join into the fully sorted list exactly once each, ties on the first key included."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation.errors import InvalidInput
from infra.db import make_engine
from infra.pagination import (
    InvalidCursor,
    PageRequest,
    contains_text,
    decode_cursor,
    encode_cursor,
    keyset_page,
)
from orders_core.master_data.tables import SkuRow

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    with Session(engine) as opened:
        yield opened
    engine.dispose()


def _add_skus(session: Session, count: int, seed: int) -> list[tuple[datetime, str]]:
    rng = random.Random(seed)
    keys = []
    for n in range(count):
        created = T0 + timedelta(seconds=rng.randint(0, 3))  # few distinct times: many ties
        sku = f"S{rng.randint(0, 10**6):07d}-{n}"
        session.add(
            SkuRow(
                sku=sku,
                name=f"item {n} {'50%_off' if n % 5 == 0 else 'plain'}",
                unit_price=Decimal("1"),
                weight_kg=1.0,
                volume_m3=0.01,
                created_at=created,
                updated_at=created,
            )
        )
        keys.append((created, sku))
    session.commit()
    return keys


@pytest.mark.parametrize("descending", [False, True])
def test_pages_of_every_size_join_into_the_sorted_list(session: Session, descending: bool) -> None:
    keys = _add_skus(session, 23, seed=7)
    expected = [sku for _created, sku in sorted(keys, reverse=descending)]
    for limit in (1, 2, 5, 22, 23, 200):
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            rows, cursor = keyset_page(
                session, select(SkuRow), (SkuRow.created_at, SkuRow.sku), PageRequest(limit, cursor, descending)
            )
            pages += 1
            seen += [row.sku for row in rows]
            assert len(rows) <= limit
            if cursor is None:
                break
        assert seen == expected, limit
        assert pages == max(1, -(-len(keys) // limit))


def test_filters_stay_the_callers_and_text_search_takes_wildcards_literally(session: Session) -> None:
    _add_skus(session, 12, seed=3)
    query = select(SkuRow).where(contains_text(SkuRow.name, "50%_OFF"))
    rows, cursor = keyset_page(session, query, (SkuRow.created_at, SkuRow.sku), PageRequest(limit=50))
    assert sorted(row.name for row in rows) == ["item 0 50%_off", "item 10 50%_off", "item 5 50%_off"]
    assert cursor is None
    rows, _ = keyset_page(
        session, select(SkuRow).where(contains_text(SkuRow.name, "%")), (SkuRow.sku,), PageRequest(limit=50)
    )
    assert len(rows) == 3


def test_a_cursor_is_opaque_and_refused_when_forged_or_turned_around() -> None:
    cursor = encode_cursor([T0, "S1", Decimal("2.50")], descending=False)
    assert decode_cursor(cursor, width=3, descending=False) == [T0, "S1", Decimal("2.50")]
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, width=3, descending=True)
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor, width=2, descending=False)
    for forged in ("", "!!", "bm90LWpzb24", encode_cursor(["a\x00b"], descending=False)):
        with pytest.raises(InvalidCursor):
            decode_cursor(forged, width=1, descending=False)
    with pytest.raises(InvalidInput):
        PageRequest(limit=0)
