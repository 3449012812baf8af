"""The database-computed analytics (``aggregates``) agree with the pure reference (``stats``) on both backends.

Random orders with microsecond times, skipped and missing milestones, orders without a ``first_placed_at``
(placement falls back to ``created_at``), a negative transition, and orders just outside the period are
written through the ORM (which counts their durations in the pre-aggregate); the expected figures come from
``stats`` over the same generated data held in memory (never read back through the code under test). Counts
must match exactly; each percentile must lie within the sketch's 2 % of the exact interpolated value (the
bound ``foundation.quantile_sketch`` proves), for periods of whole days (the pre-aggregate) and periods that
start and end inside a day (partly per order).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from infra.db import make_engine, make_session_factory
from orders_core.analytics.aggregates import period_figures, period_funnel
from orders_core.analytics.stats import OrderReach, Timing, daily_trend, funnel, stage_timings
from orders_core.master_data.tables import CustomerRow
from orders_core.orders.milestones import MILESTONE_COLUMNS
from orders_core.orders.model import MAIN_LINE, OrderStatus
from orders_core.orders.stage_durations import BUCKETS, fold_stage_durations, rebuild_stage_durations
from orders_core.orders.tables import StageDurationCountRow, StageDurationMonthCountRow
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory
from tests.order_rows import order_row

START = datetime(2026, 5, 1, tzinfo=UTC)
END = START + timedelta(days=4)


@pytest.fixture
def new_uow(database_url: str) -> Iterator[UnitOfWorkFactory]:
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    yield lambda: UnitOfWork(factory)
    engine.dispose()


def _random_orders(rng: random.Random, count: int, start: datetime = START, end: datetime = END) -> list[OrderReach]:
    orders = []
    for n in range(count):
        placed = start + timedelta(microseconds=rng.randrange(int((end - start) / timedelta(microseconds=1))))
        reached: dict[OrderStatus, datetime] = {}
        if rng.random() < 0.8:  # the rest were stored before the timeline had 'placed'
            reached[OrderStatus.PLACED] = placed + timedelta(microseconds=rng.randrange(0, 3))
        furthest = rng.randrange(len(MAIN_LINE))
        at = placed
        for status in MAIN_LINE[1 : furthest + 1]:
            at += timedelta(seconds=rng.randrange(0, 20000), microseconds=rng.randrange(1_000_000))
            if rng.random() < 0.85:  # some timelines skip a node
                reached[status] = at
        if n == 0:  # a clock that ran backwards: a negative duration still counts
            reached[OrderStatus.CREDIT_REVIEW] = placed - timedelta(seconds=5, microseconds=123)
        orders.append(OrderReach(f"O{n}", placed, reached))
    return orders


def _write(new_uow: UnitOfWorkFactory, orders: list[OrderReach]) -> None:
    with new_uow() as uow:
        uow.session.add(
            CustomerRow(
                id="C1",
                name="C1",
                credit_limit=Decimal("1000"),
                overdue_amount=Decimal("0"),
                prepaid=False,
                created_at=START,
                updated_at=START,
            )
        )
        uow.session.flush()
        for order in orders:
            firsts: dict[str, Any] = {MILESTONE_COLUMNS[status.value]: at for status, at in order.reached.items()}
            uow.session.add(order_row(order.order_id, "C1", order.placed_at, total=Decimal("1.00"), **firsts))
        uow.commit()


def _durations(orders: list[OrderReach], start: OrderStatus, end: OrderStatus) -> list[float]:
    reached = [{OrderStatus.PLACED: o.placed_at, **o.reached} for o in orders]
    return sorted((r[end] - r[start]).total_seconds() for r in reached if start in r and end in r)


def _assert_within_sketch_error(durations: list[float], p: float, got: float | None) -> None:
    """``got`` is the interpolated ``p`` quantile of ``durations`` up to alpha of the two ranks around it."""
    if not durations:
        assert got is None
        return
    position = p * (len(durations) - 1)
    low, high = durations[int(position)], durations[min(int(position) + 1, len(durations) - 1)]
    exact = low + (high - low) * (position - int(position))
    assert got is not None
    assert abs(got - exact) <= BUCKETS.alpha * max(abs(low), abs(high)) + BUCKETS.min_value, (p, got, exact)


def _assert_timings_agree(got: list[Timing], orders: list[OrderReach]) -> None:
    expected = stage_timings(orders)
    assert [(t.from_node, t.to_node, t.count) for t in got] == [(t.from_node, t.to_node, t.count) for t in expected]
    for timing in got:
        durations = _durations(orders, timing.from_node, timing.to_node)
        _assert_within_sketch_error(durations, 0.5, timing.p50_s)
        _assert_within_sketch_error(durations, 0.9, timing.p90_s)


@pytest.mark.parametrize(
    "first, last",
    [(START, END), (START + timedelta(hours=7, microseconds=3), END - timedelta(hours=5))],
    ids=["whole-days", "partial-days"],
)
def test_database_figures_agree_with_the_reference_on_random_orders(
    new_uow: UnitOfWorkFactory, first: datetime, last: datetime
) -> None:
    rng = random.Random(7)
    generated = _random_orders(rng, 400)
    outside = [
        OrderReach("before", START - timedelta(microseconds=1), {OrderStatus.DELIVERED: START}),
        OrderReach("at-end", END, {OrderStatus.DELIVERED: END + timedelta(hours=1)}),
    ]
    _write(new_uow, generated + outside)
    inside = [o for o in generated if first <= o.placed_at < last]

    figures = period_figures(new_uow, first, last)

    assert figures.orders == len(inside) > 300
    assert figures.funnel == funnel(inside)
    assert period_funnel(new_uow, first, last) == funnel(inside)
    _assert_timings_agree(figures.timings, inside)
    expected_trend = daily_trend(inside)
    assert [(t.day, t.placed, t.delivered) for t in figures.trend] == [
        (t.day, t.placed, t.delivered) for t in expected_trend
    ]
    for day in figures.trend:
        of_day = [o for o in inside if o.placed_at.date() == day.day]
        _assert_within_sketch_error(
            _durations(of_day, OrderStatus.PLACED, OrderStatus.DELIVERED), 0.5, day.end_to_end_p50_s
        )
    assert len(figures.trend) == 4 and all(t.delivered > 0 for t in figures.trend)


def test_a_period_of_whole_months_and_loose_days_reads_month_and_day_counts_alike(
    new_uow: UnitOfWorkFactory,
) -> None:
    """April 20 to June 10: the whole of May comes from the month sums, April's and June's days from the
    day rows, the first and last hours from the orders; every figure agrees with the reference all the same."""
    generated = _random_orders(
        random.Random(11), 900, datetime(2026, 4, 18, tzinfo=UTC), datetime(2026, 6, 12, tzinfo=UTC)
    )
    _write(new_uow, generated)
    first, last = datetime(2026, 4, 20, 6, tzinfo=UTC), datetime(2026, 6, 10, 18, tzinfo=UTC)
    inside = [o for o in generated if first <= o.placed_at < last]

    figures = period_figures(new_uow, first, last)

    assert figures.orders == len(inside) > 700
    assert figures.funnel == funnel(inside)
    _assert_timings_agree(figures.timings, inside)
    assert [(t.day, t.placed, t.delivered) for t in figures.trend] == [
        (t.day, t.placed, t.delivered) for t in daily_trend(inside)
    ]
    with new_uow() as uow:  # the deltas the writes left are folded into the counts: the figures stay the same
        assert fold_stage_durations(uow.session) > 0
        uow.commit()
    assert period_figures(new_uow, first, last) == figures


def test_concurrent_folds_count_every_delta_once(new_uow: UnitOfWorkFactory) -> None:
    """Four folds at once, 50 deltas each at most, until none is left: the counts equal a rebuild's."""
    _write(new_uow, _random_orders(random.Random(5), 300))

    def fold_until_empty() -> int:
        folded = 0
        while True:
            with new_uow() as uow:
                step = fold_stage_durations(uow.session, limit=50)
                uow.commit()
            if step == 0:
                return folded
            folded += step

    with ThreadPoolExecutor(4) as pool:
        folded = sum(pool.map(lambda _: fold_until_empty(), range(4)))
    with new_uow() as uow:
        kept = {tuple(row[:4]): row[4] for row in uow.session.execute(select(StageDurationCountRow.__table__)).all()}
        months = {tuple(r[:4]): r[4] for r in uow.session.execute(select(StageDurationMonthCountRow.__table__)).all()}
        rebuild_stage_durations(uow.session.connection())  # rolled back with the unit of work
        rebuilt = {tuple(row[:4]): row[4] for row in uow.session.execute(select(StageDurationCountRow.__table__)).all()}
        rebuilt_months = {
            tuple(r[:4]): r[4] for r in uow.session.execute(select(StageDurationMonthCountRow.__table__)).all()
        }
    assert folded > 50 and kept == rebuilt and months == rebuilt_months


def test_an_empty_period_has_zero_counts_and_no_percentiles(new_uow: UnitOfWorkFactory) -> None:
    _write(new_uow, _random_orders(random.Random(3), 20))

    figures = period_figures(new_uow, END + timedelta(days=1), END + timedelta(days=2))

    assert figures.orders == 0 and set(figures.funnel.values()) == {0} and figures.trend == []
    assert all(t.count == 0 and t.p50_s is None and t.p90_s is None for t in figures.timings)
