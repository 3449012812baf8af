"""The database-computed analytics (``aggregates``) equal the pure reference (``stats``) on both backends.

Random orders with microsecond times, skipped and missing milestones, orders without a ``first_placed_at``
(placement falls back to ``created_at``), a negative transition, and orders just outside the period are
written directly; the expected figures come from ``stats`` over the same generated data held in memory
(never read back through the code under test), and must match exactly: both sides interpolate the same
durations the same way in double precision.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from shapely.geometry import Point

from infra.db import make_engine, make_session_factory
from orders_core.analytics.aggregates import period_figures, period_funnel
from orders_core.analytics.stats import OrderReach, daily_trend, funnel, stage_timings
from orders_core.master_data.tables import CustomerRow
from orders_core.orders.milestones import MILESTONE_COLUMNS
from orders_core.orders.model import MAIN_LINE, OrderStatus
from orders_core.orders.tables import OrderRow
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory

START = datetime(2026, 5, 1, tzinfo=UTC)
END = START + timedelta(days=4)


@pytest.fixture
def new_uow(database_url: str) -> Iterator[UnitOfWorkFactory]:
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    yield lambda: UnitOfWork(factory)
    engine.dispose()


def _random_orders(rng: random.Random, count: int) -> list[OrderReach]:
    orders = []
    for n in range(count):
        placed = START + timedelta(microseconds=rng.randrange(int((END - START) / timedelta(microseconds=1))))
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
            firsts = {MILESTONE_COLUMNS[status.value]: at for status, at in order.reached.items()}
            uow.session.add(
                OrderRow(
                    id=order.order_id,
                    customer_id="C1",
                    status="placed",
                    price_ok=True,
                    credit_ok=True,
                    total=Decimal("1.00"),
                    payment_status="not_required",
                    delivery_lat=31.2,
                    delivery_lng=121.5,
                    delivery_location=Point(121.5, 31.2),
                    created_at=order.placed_at,
                    updated_at=order.placed_at,
                    tracking_token=f"t-{order.order_id}",
                    **firsts,
                )
            )
        uow.commit()


def test_database_figures_equal_the_reference_on_random_orders(new_uow: UnitOfWorkFactory) -> None:
    rng = random.Random(7)
    inside = _random_orders(rng, 400)
    outside = [
        OrderReach("before", START - timedelta(microseconds=1), {OrderStatus.DELIVERED: START}),
        OrderReach("at-end", END, {OrderStatus.DELIVERED: END + timedelta(hours=1)}),
    ]
    _write(new_uow, inside + outside)

    figures = period_figures(new_uow, START, END)

    assert figures.orders == len(inside)
    assert figures.funnel == funnel(inside)
    assert period_funnel(new_uow, START, END) == funnel(inside)
    assert figures.timings == stage_timings(inside)
    assert figures.trend == daily_trend(inside)
    assert len(figures.trend) == 4 and all(t.delivered > 0 for t in figures.trend)


def test_an_empty_period_has_zero_counts_and_no_percentiles(new_uow: UnitOfWorkFactory) -> None:
    _write(new_uow, _random_orders(random.Random(3), 20))

    figures = period_figures(new_uow, END + timedelta(days=1), END + timedelta(days=2))

    assert figures.orders == 0 and set(figures.funnel.values()) == {0} and figures.trend == []
    assert all(t.count == 0 and t.p50_s is None and t.p90_s is None for t in figures.timings)
