"""Run the demand forecast on the order history and store it (``dispatch forecast run``).

The use case reads the weekly SKU × region demand of the last ``history_weeks`` complete weeks
(``history``), the warehouses and their on-hand stock, hands them to the ``forecasting`` engine as plain
frames, and stores the run, its reconciled forecasts with intervals and its replenishment suggestions in
one transaction. Only the latest run's forecasts and suggestions are kept (older runs stay listed in
``forecast_runs`` with their scores); readers always see one whole run.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import delete, insert, select

from forecasting.models import BacktestSpec
from forecasting.pipeline import ForecastPlan, NotEnoughHistory, complete_weeks, plan
from forecasting.safety_stock import SERVICE_LEVEL
from foundation.clock import utc_now
from foundation.errors import Conflict
from orders_core.master_data.tables import WarehouseRow
from orders_core.planning.history import REGION_H3_RESOLUTION, weekly_demand
from orders_core.planning.regions import nearest_warehouses
from orders_core.planning.tables import ForecastRow, ForecastRunRow, ReplenishmentRow
from orders_core.stock.tables import StockLevelRow
from orders_core.unit_of_work import UnitOfWorkFactory


class NotEnoughOrderHistory(Conflict):
    """The order history is too short (or empty) for the forecast's backtest."""

    code = "not_enough_history"


@dataclass(frozen=True)
class ForecastSettings:
    """How a run reads the history and sizes its decisions (weeks; ``n_jobs``: statsforecast processes)."""

    history_weeks: int = 104
    lead_time_weeks: int = 2
    review_period_weeks: int = 1
    h3_resolution: int = REGION_H3_RESOLUTION
    service_level: float = SERVICE_LEVEL
    n_jobs: int = 1

    def backtest_spec(self) -> BacktestSpec:
        """The engine's backtest settings for these weeks."""
        return BacktestSpec(lead_time=self.lead_time_weeks, review_period=self.review_period_weeks, n_jobs=self.n_jobs)


@dataclass(frozen=True)
class ForecastRunSummary:
    """What a stored run holds, for the CLI and logs."""

    run_id: str
    series: int
    weeks: int
    history_from: str
    history_to: str
    chosen: dict[str, str]
    scores: list[dict[str, Any]]
    incoherence: float
    forecasts: int
    suggestions: int


def history_window(now: datetime, weeks: int) -> tuple[datetime, datetime]:
    """``[since, until)``: the ``weeks`` complete weeks (Monday 00:00 UTC) before ``now``'s week."""
    today = now.astimezone(UTC).date()
    monday = today - timedelta(days=today.weekday())
    until = datetime.combine(monday, time(0), tzinfo=UTC)
    return until - timedelta(weeks=weeks), until


def run_forecast(
    new_uow: UnitOfWorkFactory, settings: ForecastSettings = ForecastSettings(), now: datetime | None = None
) -> ForecastRunSummary:
    """Forecast every SKU × region seen in the history window and store the run (see the module)."""
    since, until = history_window(now or utc_now(), settings.history_weeks)
    demand = weekly_demand(new_uow, since, until, settings.h3_resolution)
    if not demand:
        raise NotEnoughOrderHistory("no orders in the history window: nothing to forecast")
    history = pd.DataFrame(
        {
            "sku": [d.sku for d in demand],
            "region": [d.region for d in demand],
            "ds": pd.to_datetime([d.week for d in demand]),
            "y": [float(d.qty) for d in demand],
        }
    )
    history = complete_weeks(history, end=pd.Timestamp(until.date() - timedelta(weeks=1)))
    with new_uow() as uow:
        sites = {w.id: (w.lat, w.lng) for w in uow.session.scalars(select(WarehouseRow))}
        stock = uow.session.execute(select(StockLevelRow.warehouse_id, StockLevelRow.sku, StockLevelRow.on_hand)).all()
    on_hand = pd.DataFrame(stock, columns=["warehouse", "sku", "on_hand"]).astype({"on_hand": int})
    region_warehouse = nearest_warehouses(sorted(history["region"].unique()), sites)
    try:
        result = plan(history, settings.backtest_spec(), region_warehouse, on_hand, settings.service_level)
    except NotEnoughHistory as exc:
        raise NotEnoughOrderHistory(str(exc)) from exc
    return _store(new_uow, result, history, settings)


def _store(
    new_uow: UnitOfWorkFactory, result: ForecastPlan, history: pd.DataFrame, settings: ForecastSettings
) -> ForecastRunSummary:
    run_id = uuid.uuid4().hex
    scores = [
        {k: (None if pd.isna(v) else (round(float(v), 6) if k != "model" else v)) for k, v in row.items()}
        for row in result.scores.to_dict(orient="records")
    ]
    forecasts = [
        {
            "run_id": run_id,
            "sku": row.sku,
            "region": row.region,
            "week": row.ds.date().isoformat(),
            "step": int(row.step),
            "demand_class": row.demand_class,
            "model": row.model,
            "base": float(row.base),
            "forecast": float(row.forecast),
            "lo": float(row.lo),
            "hi": float(row.hi),
        }
        for row in result.forecasts.itertuples(index=False)
    ]
    inbound: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for t in result.transfers.itertuples(index=False):
        inbound.setdefault((t.to_warehouse, t.sku), []).append({"from_warehouse": t.from_warehouse, "qty": int(t.qty)})
    suggestions = [
        {
            "run_id": run_id,
            "warehouse_id": row.warehouse,
            "sku": row.sku,
            "demand_class": str(row.demand_class),
            "on_hand": int(row.on_hand),
            "cover_demand": float(row.cover_demand),
            "safety_stock": float(row.safety_stock),
            "order_up_to": int(row.order_up_to),
            "transfer_in": int(row.transfer_in),
            "transfer_out": int(row.transfer_out),
            "order_qty": int(row.order_qty),
            "transfers": inbound.get((row.warehouse, row.sku), []),
        }
        for row in result.levels.itertuples(index=False)
    ]
    first, last = history["ds"].min().date().isoformat(), history["ds"].max().date().isoformat()
    with new_uow() as uow:
        uow.session.execute(delete(ForecastRow))
        uow.session.execute(delete(ReplenishmentRow))
        uow.session.add(
            ForecastRunRow(
                id=run_id,
                created_at=utc_now(),
                history_from=first,
                history_to=last,
                series=int(history["unique_id"].nunique()),
                horizon_weeks=settings.lead_time_weeks + settings.review_period_weeks,
                lead_time_weeks=settings.lead_time_weeks,
                h3_resolution=settings.h3_resolution,
                interval_level=result.level,
                service_level=result.service_level,
                incoherence=result.incoherence,
                chosen=dict(result.chosen),
                scores=scores,
            )
        )
        uow.session.flush()
        if forecasts:
            uow.session.execute(insert(ForecastRow), forecasts)
        if suggestions:
            uow.session.execute(insert(ReplenishmentRow), suggestions)
        uow.commit()
    return ForecastRunSummary(
        run_id=run_id,
        series=int(history["unique_id"].nunique()),
        weeks=int(history["ds"].nunique()),
        history_from=first,
        history_to=last,
        chosen=dict(result.chosen),
        scores=scores,
        incoherence=result.incoherence,
        forecasts=len(forecasts),
        suggestions=len(suggestions),
    )
