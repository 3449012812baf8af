"""The forecast use case on SQLite and PostGIS: the weekly SKU × region demand read by one aggregate query,
the stored run, forecasts and replenishment, and a customer's share of the forecast."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

import h3
import pytest
from sqlalchemy import select

import orders_core.planning.tables  # noqa: F401  (registers the tables)
from infra.db import make_engine, make_session_factory
from orders_core.planning.customer_demand import customer_forecast_demand
from orders_core.planning.forecast import NotEnoughOrderHistory, history_window, run_forecast
from orders_core.planning.history import weekly_demand
from orders_core.planning.tables import ForecastRow, ForecastRunRow, ReplenishmentRow
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory
from tests.orders_core.planning_support import HANGZHOU, NOW, SHANGHAI, START, WEEKS, WrittenHistory, write_history


@pytest.fixture
def new_uow(database_url: str) -> Iterator[UnitOfWorkFactory]:
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    yield lambda: UnitOfWork(factory)
    engine.dispose()


@pytest.fixture
def written(new_uow: UnitOfWorkFactory) -> WrittenHistory:
    with new_uow() as uow:
        return write_history(uow.session)


def test_the_weekly_query_sums_each_sku_region_week_and_skips_cancelled_orders(
    new_uow: UnitOfWorkFactory, written: WrittenHistory
) -> None:
    since, until = history_window(NOW, 104)
    found = {(d.sku, d.region, d.week): d.qty for d in weekly_demand(new_uow, since, until)}
    assert found == dict(written.weekly)
    assert {region for _, region, _ in found} == {SHANGHAI, HANGZHOU}
    assert all(week.weekday() == 0 for _, _, week in found)


def test_a_run_stores_coherent_forecasts_intervals_and_replenishment(
    new_uow: UnitOfWorkFactory, written: WrittenHistory
) -> None:
    summary = run_forecast(new_uow, now=NOW)
    series = {(sku, region) for sku, region, _ in written.weekly}
    assert summary.series == len(series) and summary.weeks == WEEKS
    assert summary.incoherence < 1e-6
    first_week = START + timedelta(weeks=WEEKS)
    with new_uow() as uow:
        rows = uow.session.scalars(select(ForecastRow)).all()
        runs = uow.session.scalars(select(ForecastRunRow)).all()
        levels = uow.session.scalars(select(ReplenishmentRow)).all()
        uow.session.expunge_all()  # plain objects for the assertions below
    assert [r.id for r in runs] == [summary.run_id]
    assert len(rows) == 3 * len(series) == summary.forecasts
    assert {r.week for r in rows} == {(first_week + timedelta(weeks=k)).isoformat() for k in range(3)}
    for row in rows:
        assert h3.get_resolution(row.region) == 5
        assert 0 <= row.lo <= row.forecast <= row.hi
        assert row.demand_class in {"smooth", "erratic", "intermittent", "lumpy"}
    # Shanghai's cell is nearest W-SH, Hangzhou's W-HZ: each warehouse covers its region's 3 weeks
    cover: dict[tuple[str, str], float] = defaultdict(float)
    for row in rows:
        cover[("W-SH" if row.region == SHANGHAI else "W-HZ", row.sku)] += row.forecast
    assert {(s.warehouse_id, s.sku) for s in levels} == {(w, sku) for w in ("W-SH", "W-HZ") for sku in written.skus}
    for level in levels:
        assert level.cover_demand == pytest.approx(cover[(level.warehouse_id, level.sku)])
        assert level.order_up_to == math.ceil(level.cover_demand + level.safety_stock - 1e-9)
        assert level.safety_stock >= 0
        assert level.on_hand + level.transfer_in - level.transfer_out + level.order_qty >= level.order_up_to or (
            level.transfer_out > 0
        )


def test_a_second_run_replaces_the_first_runs_forecasts(new_uow: UnitOfWorkFactory, written: WrittenHistory) -> None:
    first = run_forecast(new_uow, now=NOW)
    second = run_forecast(new_uow, now=NOW)
    with new_uow() as uow:
        run_ids = {r.run_id for r in uow.session.scalars(select(ForecastRow))}
        assert len(uow.session.scalars(select(ForecastRunRow)).all()) == 2
    assert run_ids == {second.run_id} != {first.run_id}


def test_a_customers_forecast_demand_is_its_share_of_its_sku_region_forecast(
    new_uow: UnitOfWorkFactory, written: WrittenHistory
) -> None:
    run_forecast(new_uow, now=NOW)
    first_week = START + timedelta(weeks=WEEKS)
    lookback = [first_week - timedelta(weeks=k) for k in range(1, 14)]
    answer = customer_forecast_demand(new_uow, "C1")
    assert answer, "C1 ordered in Shanghai in the last 13 weeks"
    with new_uow() as uow:
        forecast = {
            (r.sku, r.region): r.forecast
            for r in uow.session.scalars(select(ForecastRow).where(ForecastRow.week == first_week.isoformat()))
        }
    for item in answer:
        mine = sum(written.by_customer.get(("C1", item.sku, item.region, w), 0) for w in lookback)
        everyone = sum(written.weekly.get((item.sku, item.region, w), 0) for w in lookback)
        assert item.region == SHANGHAI and item.week == first_week.isoformat() and item.warehouse_id == "W-SH"
        assert item.share == pytest.approx(mine / everyone)
        assert item.qty == pytest.approx(mine / everyone * forecast[(item.sku, item.region)])
    assert customer_forecast_demand(new_uow, "C1", week=first_week + timedelta(weeks=9)) == []
    assert customer_forecast_demand(new_uow, "nobody") == []


def test_without_enough_history_the_run_refuses_and_stores_nothing(new_uow: UnitOfWorkFactory) -> None:
    with pytest.raises(NotEnoughOrderHistory):
        run_forecast(new_uow, now=NOW)
    with new_uow() as uow:
        write_history(uow.session, weeks=40)
    with pytest.raises(NotEnoughOrderHistory, match="40 weeks"):
        run_forecast(new_uow, now=date_now(START + timedelta(weeks=40)))
    with new_uow() as uow:
        assert uow.session.scalars(select(ForecastRunRow)).first() is None


def date_now(monday: date) -> datetime:
    return datetime.combine(monday + timedelta(days=1), time(9), tzinfo=UTC)
