"""What the API and other use cases read of the stored forecast: the latest run, its forecasts (filtered,
one page at a time) and a warehouse's replenishment suggestions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from foundation.errors import NotFound
from infra.pagination import PageRequest, keyset_page
from orders_core.master_data.tables import WarehouseRow
from orders_core.planning.tables import ForecastRow, ForecastRunRow, ReplenishmentRow
from orders_core.unit_of_work import UnitOfWorkFactory


class UnknownWarehouseForPlanning(NotFound):
    """Replenishment asked for a warehouse the service does not know."""

    code = "warehouse_not_found"


@dataclass(frozen=True)
class RunInfo:
    """The stored run a read answers from."""

    id: str
    created_at: datetime
    history_from: str
    history_to: str
    series: int
    horizon_weeks: int
    lead_time_weeks: int
    h3_resolution: int
    interval_level: float
    service_level: float
    chosen: dict[str, Any]
    scores: list[Any]


@dataclass(frozen=True)
class ForecastItem:
    """One stored forecast (``week``: the Monday, ISO date)."""

    sku: str
    region: str
    week: str
    step: int
    demand_class: str
    model: str
    forecast: float
    lo: float
    hi: float
    base: float


@dataclass(frozen=True)
class Suggestion:
    """One stored replenishment suggestion of a warehouse."""

    sku: str
    demand_class: str
    on_hand: int
    cover_demand: float
    safety_stock: float
    order_up_to: int
    transfer_in: int
    transfer_out: int
    order_qty: int
    transfers: list[Any]


def week_of(day: date) -> str:
    """The Monday (ISO date) of the week ``day`` falls in: how forecasts are keyed."""
    return (day - timedelta(days=day.weekday())).isoformat()


def _run(row: ForecastRunRow) -> RunInfo:
    return RunInfo(
        id=row.id,
        created_at=row.created_at,
        history_from=row.history_from,
        history_to=row.history_to,
        series=row.series,
        horizon_weeks=row.horizon_weeks,
        lead_time_weeks=row.lead_time_weeks,
        h3_resolution=row.h3_resolution,
        interval_level=row.interval_level,
        service_level=row.service_level,
        chosen=dict(row.chosen),
        scores=list(row.scores),
    )


def latest_run(new_uow: UnitOfWorkFactory) -> RunInfo | None:
    """The newest stored run, None before the first."""
    with new_uow() as uow:
        row = uow.session.scalars(
            select(ForecastRunRow).order_by(ForecastRunRow.created_at.desc(), ForecastRunRow.id.desc()).limit(1)
        ).first()
        return _run(row) if row is not None else None


def list_forecasts(
    new_uow: UnitOfWorkFactory,
    request: PageRequest,
    *,
    sku: str | None = None,
    region: str | None = None,
    week: date | None = None,
) -> tuple[RunInfo | None, list[ForecastItem], str | None]:
    """The latest run's forecasts (ordered by SKU, region, week), filtered; with the next page's cursor."""
    run = latest_run(new_uow)
    if run is None:
        return None, [], None
    query = select(ForecastRow).where(ForecastRow.run_id == run.id)
    if sku is not None:
        query = query.where(ForecastRow.sku == sku)
    if region is not None:
        query = query.where(ForecastRow.region == region)
    if week is not None:
        query = query.where(ForecastRow.week == week_of(week))
    with new_uow() as uow:
        rows, cursor = keyset_page(uow.session, query, [ForecastRow.sku, ForecastRow.region, ForecastRow.week], request)
        items = [
            ForecastItem(r.sku, r.region, r.week, r.step, r.demand_class, r.model, r.forecast, r.lo, r.hi, r.base)
            for r in rows
        ]
    return run, items, cursor


def warehouse_replenishment(new_uow: UnitOfWorkFactory, warehouse_id: str) -> tuple[RunInfo | None, list[Suggestion]]:
    """The latest run's suggestions for one warehouse, by SKU; ``UnknownWarehouseForPlanning`` (404)."""
    with new_uow() as uow:
        if uow.session.get(WarehouseRow, warehouse_id) is None:
            raise UnknownWarehouseForPlanning(f"no warehouse with id {warehouse_id!r}")
    run = latest_run(new_uow)
    if run is None:
        return None, []
    with new_uow() as uow:
        rows = uow.session.scalars(
            select(ReplenishmentRow)
            .where(ReplenishmentRow.run_id == run.id, ReplenishmentRow.warehouse_id == warehouse_id)
            .order_by(ReplenishmentRow.sku)
        ).all()
        suggestions = [
            Suggestion(
                r.sku,
                r.demand_class,
                r.on_hand,
                r.cover_demand,
                r.safety_stock,
                r.order_up_to,
                r.transfer_in,
                r.transfer_out,
                r.order_qty,
                list(r.transfers),
            )
            for r in rows
        ]
    return run, suggestions
