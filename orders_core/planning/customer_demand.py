"""A customer's forecast demand for a coming week: what pre-booked stock (issue 13, item 7) reserves.

The forecast is per SKU × region, not per customer: a customer's part of it is its share of that SKU ×
region's units over the last ``lookback_weeks`` weeks of the stored run's history (orders not cancelled),
times the stored forecast of the week. A customer who ordered nothing of a SKU in that time has no forecast
demand of it. Weeks are Mondays; the default week is the first forecast week (the coming week of the run).

    for item in customer_forecast_demand(container.uow, "C-42"):
        item.sku, item.warehouse_id, item.qty  # units to pre-book at that warehouse for that week
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from orders_core.master_data.tables import WarehouseRow
from orders_core.planning.history import by_region, weekly_sku_point_demand
from orders_core.planning.reads import latest_run, week_of
from orders_core.planning.regions import nearest_warehouses
from orders_core.planning.tables import ForecastRow
from orders_core.unit_of_work import UnitOfWorkFactory

LOOKBACK_WEEKS = 13


@dataclass(frozen=True)
class CustomerDemand:
    """The customer's expected units of one SKU in one region in ``week`` (``share`` × ``region_forecast``),
    and the warehouse serving that region (the nearest; None when the service has no warehouse)."""

    sku: str
    region: str
    week: str
    share: float
    region_forecast: float
    qty: float
    warehouse_id: str | None


def customer_forecast_demand(
    new_uow: UnitOfWorkFactory, customer_id: str, week: date | None = None, lookback_weeks: int = LOOKBACK_WEEKS
) -> list[CustomerDemand]:
    """The customer's forecast demand per SKU × region for ``week`` (default: the latest run's first forecast
    week); empty before the first run, for a week the run does not cover, or for a customer without orders."""
    return customers_forecast_demand(new_uow, [customer_id], week, lookback_weeks).get(customer_id, [])


def customers_forecast_demand(
    new_uow: UnitOfWorkFactory,
    customer_ids: Sequence[str],
    week: date | None = None,
    lookback_weeks: int = LOOKBACK_WEEKS,
) -> dict[str, list[CustomerDemand]]:
    """``customer_forecast_demand`` of several customers, reading the run, everyone's history and the
    warehouses once (pre-booking asks for every customer above the score at once)."""
    run = latest_run(new_uow)
    if run is None or not customer_ids:
        return {}
    history_end = date.fromisoformat(run.history_to) + timedelta(weeks=1)
    wanted = week_of(week) if week is not None else history_end.isoformat()
    until = datetime.combine(history_end, time(0), tzinfo=UTC)
    since = until - timedelta(weeks=lookback_weeks)
    mine: dict[str, dict[tuple[str, str], int]] = {}
    for customer_id in customer_ids:
        demand = by_region(weekly_sku_point_demand(new_uow, since, until, customer_id=customer_id), run.h3_resolution)
        of_customer: dict[tuple[str, str], int] = defaultdict(int)
        for d in demand:
            of_customer[(d.sku, d.region)] += d.qty
        if of_customer:
            mine[customer_id] = of_customer
    if not mine:
        return {}
    wanted_keys = {key for of_customer in mine.values() for key in of_customer}
    everyone: dict[tuple[str, str], int] = defaultdict(int)
    for d in by_region(weekly_sku_point_demand(new_uow, since, until), run.h3_resolution):
        if (d.sku, d.region) in wanted_keys:
            everyone[(d.sku, d.region)] += d.qty
    with new_uow() as uow:
        sites = {w.id: (w.lat, w.lng) for w in uow.session.scalars(select(WarehouseRow))}
        rows = uow.session.execute(
            select(ForecastRow.sku, ForecastRow.region, ForecastRow.forecast).where(
                ForecastRow.run_id == run.id,
                ForecastRow.week == wanted,
                ForecastRow.sku.in_(sorted({sku for sku, _ in wanted_keys})),
            )
        ).all()
    served = nearest_warehouses(sorted({region for _, region in wanted_keys}), sites)
    answers: dict[str, list[CustomerDemand]] = {}
    for customer_id, of_customer in mine.items():
        answer = []
        for sku, region, forecast in rows:
            if (sku, region) not in of_customer or everyone[(sku, region)] <= 0:
                continue
            share = of_customer[(sku, region)] / everyone[(sku, region)]
            qty = share * float(forecast)
            answer.append(CustomerDemand(sku, region, wanted, share, float(forecast), qty, served.get(region)))
        answers[customer_id] = sorted(answer, key=lambda d: (d.sku, d.region))
    return answers
