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
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from orders_core.master_data.tables import WarehouseRow
from orders_core.planning.forecast import nearest_warehouses
from orders_core.planning.history import by_region, weekly_sku_point_demand
from orders_core.planning.reads import latest_run, week_of
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
    run = latest_run(new_uow)
    if run is None:
        return []
    history_end = date.fromisoformat(run.history_to) + timedelta(weeks=1)
    wanted = week_of(week) if week is not None else history_end.isoformat()
    until = datetime.combine(history_end, time(0), tzinfo=UTC)
    since = until - timedelta(weeks=lookback_weeks)
    mine: dict[tuple[str, str], int] = defaultdict(int)
    for d in by_region(weekly_sku_point_demand(new_uow, since, until, customer_id=customer_id), run.h3_resolution):
        mine[(d.sku, d.region)] += d.qty
    if not mine:
        return []
    everyone: dict[tuple[str, str], int] = defaultdict(int)
    for d in by_region(weekly_sku_point_demand(new_uow, since, until), run.h3_resolution):
        if (d.sku, d.region) in mine:
            everyone[(d.sku, d.region)] += d.qty
    with new_uow() as uow:
        sites = {w.id: (w.lat, w.lng) for w in uow.session.scalars(select(WarehouseRow))}
        rows = uow.session.execute(
            select(ForecastRow.sku, ForecastRow.region, ForecastRow.forecast).where(
                ForecastRow.run_id == run.id,
                ForecastRow.week == wanted,
                ForecastRow.sku.in_(sorted({sku for sku, _ in mine})),
            )
        ).all()
    served = nearest_warehouses(sorted({region for _, region in mine}), sites)
    answer = []
    for sku, region, forecast in rows:
        if (sku, region) not in mine or everyone[(sku, region)] <= 0:
            continue
        share = mine[(sku, region)] / everyone[(sku, region)]
        qty = share * float(forecast)
        answer.append(CustomerDemand(sku, region, wanted, share, float(forecast), qty, served.get(region)))
    return sorted(answer, key=lambda d: (d.sku, d.region))
