"""Pre-booking sized by the forecast: each customer's units are its share of the latest run's SKU × region
forecast (recomputed here from the stored rows and the written history), the fallback answers the rest."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

import orders_core.planning.tables  # noqa: F401  (registers the tables)
from infra.db import make_engine, make_session_factory
from orders_core.planning.forecast import run_forecast
from orders_core.planning.prebook_demand import ForecastDemand
from orders_core.planning.tables import ForecastRow
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory
from tests.orders_core.planning_support import NOW, START, WEEKS, WrittenHistory, write_history


class FixedDemand:
    """A fallback that answers a fixed quantity and remembers whom it was asked about."""

    name = "fixed"

    def __init__(self) -> None:
        self.asked: list[str] = []

    def weekly_demand(
        self, uow: UnitOfWork, customer_ids: Sequence[str], week_start: datetime
    ) -> dict[str, dict[str, int]]:
        self.asked.extend(customer_ids)
        return {cid: {"FALLBACK-SKU": 7} for cid in customer_ids}


@pytest.fixture
def new_uow(database_url: str) -> Iterator[UnitOfWorkFactory]:
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    yield lambda: UnitOfWork(factory)
    engine.dispose()


def test_forecast_sized_demand_is_the_customers_share_and_the_rest_falls_back(new_uow: UnitOfWorkFactory) -> None:
    with new_uow() as uow:
        written: WrittenHistory = write_history(uow.session)
    run_forecast(new_uow, now=NOW)
    first_week = START + timedelta(weeks=WEEKS)
    week_start = datetime.combine(first_week, datetime.min.time(), tzinfo=UTC)
    fallback = FixedDemand()
    with new_uow() as uow:
        answer = ForecastDemand(fallback).weekly_demand(uow, ["C1", "nobody"], week_start)
        forecast = {
            (r.sku, r.region): r.forecast
            for r in uow.session.scalars(select(ForecastRow).where(ForecastRow.week == first_week.isoformat()))
        }
    lookback = [first_week - timedelta(weeks=k) for k in range(1, 14)]
    expected: dict[str, float] = defaultdict(float)
    for (sku, region), value in forecast.items():
        mine = sum(written.by_customer.get(("C1", sku, region, w), 0) for w in lookback)
        everyone = sum(written.weekly.get((sku, region, w), 0) for w in lookback)
        if mine:
            expected[sku] += mine / everyone * value
    units = {sku: math.floor(q + 0.5) for sku, q in expected.items() if math.floor(q + 0.5) > 0}
    assert units, "C1 ordered in the look-back: the forecast sizes some of its SKUs"
    assert answer["C1"] == units
    assert answer["nobody"] == {"FALLBACK-SKU": 7}
    assert fallback.asked == ["nobody"]


def test_before_any_forecast_run_every_customer_falls_back(new_uow: UnitOfWorkFactory) -> None:
    fallback = FixedDemand()
    with new_uow() as uow:
        answer = ForecastDemand(fallback).weekly_demand(uow, ["C1", "C2"], datetime(2026, 11, 30, tzinfo=UTC))
    assert answer == {"C1": {"FALLBACK-SKU": 7}, "C2": {"FALLBACK-SKU": 7}}
    assert fallback.asked == ["C1", "C2"]
