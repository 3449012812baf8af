"""The forecast the service stores: classify, backtest, choose, forecast, reconcile, intervals, safety stock.

Unlike ``evaluation`` (which keeps a hold-out to score the choice honestly), the production run uses every
week it has: the backtest runs over ``windows + holdout_windows`` origins, all of which choose the models,
calibrate the intervals and measure the lead-time errors behind the safety stock; then each class's model
is refit on the whole history and forecasts ``horizon`` weeks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.classify import DemandClass, classify
from forecasting.intervals import LEVEL, apply_intervals, calibrate
from forecasting.metrics import naive_scale, positive_scale
from forecasting.models import SEASONAL_NAIVE, BacktestSpec, backtest, forecast, forecast_with
from forecasting.reconcile import hierarchy, incoherence, reconcile
from forecasting.safety_stock import SERVICE_LEVEL, lead_time_errors, replenishment, warehouse_safety_stock
from forecasting.selection import OURS, choose_models, score_table, with_ours


class NotEnoughHistory(ValueError):
    """The history is shorter than one season plus the backtest's windows."""


@dataclass
class ForecastPlan:
    """A production forecast run's results (plain frames)."""

    classes: pd.DataFrame
    chosen: dict[str, str]
    #: Backtest scores of the choice and the seasonal naive over every origin (in-sample for the choice).
    scores: pd.DataFrame
    #: ``unique_id``, ``sku``, ``region``, ``ds``, ``step``, ``demand_class``, ``model``, ``base``,
    #: ``forecast`` (reconciled), ``lo``, ``hi``.
    forecasts: pd.DataFrame
    #: Largest |aggregate − sum of parts| of the reconciled forecasts.
    incoherence: float
    levels: pd.DataFrame
    transfers: pd.DataFrame
    level: float = LEVEL
    service_level: float = SERVICE_LEVEL


def minimum_weeks(spec: BacktestSpec) -> int:
    """Weeks of history a run needs: a season before the first origin, then every window."""
    return spec.season_length + (spec.windows + spec.holdout_windows) * spec.step


def complete_weeks(history: pd.DataFrame, end: pd.Timestamp | None = None) -> pd.DataFrame:
    """``history`` (``sku``, ``region``, ``ds``, ``y``) with a zero for every week without demand, from the
    first week of any series to ``end`` (default the last week), and ``unique_id`` = ``"{sku}/{region}"``."""
    weeks = pd.date_range(history["ds"].min(), end if end is not None else history["ds"].max(), freq="W-MON")
    pairs = history[["sku", "region"]].drop_duplicates()
    grid = pairs.merge(pd.DataFrame({"ds": weeks}), how="cross")
    full = grid.merge(history[["sku", "region", "ds", "y"]], on=["sku", "region", "ds"], how="left")
    full["y"] = full["y"].fillna(0.0).astype(float)
    full.insert(0, "unique_id", full["sku"] + "/" + full["region"])
    return full.sort_values(["unique_id", "ds"], ignore_index=True)


def plan(
    history: pd.DataFrame,
    spec: BacktestSpec,
    region_warehouse: Mapping[str, str],
    on_hand: pd.DataFrame,
    service_level: float = SERVICE_LEVEL,
) -> ForecastPlan:
    """Forecast, reconcile, intervals and replenishment from a complete weekly history (``complete_weeks``)."""
    weeks = history["ds"].nunique()
    if weeks < minimum_weeks(spec):
        raise NotEnoughHistory(f"{weeks} weeks of history; the forecast needs at least {minimum_weeks(spec)}")
    classes = classify(history)
    class_of = classes.set_index("unique_id")["demand_class"]
    frame = backtest(history, classes, spec, windows=spec.windows + spec.holdout_windows)
    frame["demand_class"] = frame["unique_id"].map(class_of)
    chosen = choose_models(frame)
    frame = with_ours(frame, chosen)
    scores = score_table(frame, [OURS, SEASONAL_NAIVE], naive_scale(history))
    scale = positive_scale(history)
    residuals = frame[["unique_id", "demand_class", "step", "y"]].assign(forecast=frame[OURS])
    quantiles = calibrate(residuals, scale)

    bottom = forecast(history, chosen, classes, spec)
    y_df, s_df, tags = hierarchy(history)
    aggregates = y_df[~y_df["unique_id"].isin(set(history["unique_id"]))]
    aggregate_base = forecast_with(aggregates, chosen[DemandClass.SMOOTH.value], spec.horizon, n_jobs=spec.n_jobs)
    reconciled = reconcile(pd.concat([bottom[["unique_id", "ds", "forecast"]], aggregate_base]), s_df, tags)
    mismatch = incoherence(reconciled, s_df)
    ours = reconciled[reconciled["unique_id"].isin(set(history["unique_id"]))].merge(
        bottom[["unique_id", "ds", "model"]], on=["unique_id", "ds"]
    )
    first = history["ds"].max()
    ours["step"] = ((ours["ds"] - first).dt.days // 7).astype(int)
    ours["demand_class"] = ours["unique_id"].map(class_of)
    ours = ours.merge(history[["unique_id", "sku", "region"]].drop_duplicates(), on="unique_id")
    with_bounds = apply_intervals(ours, quantiles, scale)
    forecasts = with_bounds[
        ["unique_id", "sku", "region", "ds", "step", "demand_class", "model", "base", "forecast", "lo", "hi"]
    ].sort_values(["unique_id", "ds"], ignore_index=True)

    errors = lead_time_errors(
        frame.merge(history[["unique_id", "sku", "region"]].drop_duplicates(), on="unique_id"), OURS, spec.lead_time
    )
    safety = warehouse_safety_stock(errors, history, region_warehouse, service_level)
    levels, transfers = replenishment(forecasts, safety, on_hand, region_warehouse)
    return ForecastPlan(
        classes=classes,
        chosen=chosen,
        scores=scores,
        forecasts=forecasts,
        incoherence=mismatch,
        levels=levels,
        transfers=transfers,
        service_level=service_level,
    )


def as_records(frame: pd.DataFrame) -> list[dict[str, object]]:
    """Rows of a frame as plain Python values (dates as ``datetime.date``), for storing."""
    records = []
    for row in frame.to_dict(orient="records"):
        records.append({k: _plain(v) for k, v in row.items()})
    return records


def _plain(value: object) -> object:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, np.generic):
        return value.item()
    return value
