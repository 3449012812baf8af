"""Portfolio error measures of a forecast against what happened.

* WAPE = Σ|y − ŷ| / Σy over every series, week and window: volume-weighted, defined with zeros;
* bias = Σ(ŷ − y) / Σy: positive means over-forecasting;
* MASE = per series, the mean absolute error divided by the series' in-sample mean absolute one-week
  change (naive lag-1, as M5 scales), then averaged over the series whose scale is not zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def wape(y: np.ndarray, forecast: np.ndarray) -> float:
    """Σ|y − ŷ| / Σy (NaN when nothing was demanded)."""
    total = float(np.sum(y))
    return float(np.sum(np.abs(np.asarray(y) - np.asarray(forecast))) / total) if total > 0 else float("nan")


def bias(y: np.ndarray, forecast: np.ndarray) -> float:
    """Σ(ŷ − y) / Σy (NaN when nothing was demanded)."""
    total = float(np.sum(y))
    return float(np.sum(np.asarray(forecast) - np.asarray(y)) / total) if total > 0 else float("nan")


def naive_scale(history: pd.DataFrame) -> pd.Series:
    """Per ``unique_id``: mean |y_t − y_{t−1}| of the history given (the MASE and interval scale).

    A series that never changes has scale 0 here; ``positive_scale`` gives the fallback the intervals use.
    """
    ordered = history.sort_values(["unique_id", "ds"])
    change = ordered.groupby("unique_id", sort=True)["y"].diff().abs()
    return change.groupby(ordered["unique_id"], sort=True).mean().fillna(0.0)


def positive_scale(history: pd.DataFrame) -> pd.Series:
    """``naive_scale`` where positive, else the series' mean demand, else 1 unit: never zero."""
    scale = naive_scale(history)
    level = history.groupby("unique_id", sort=True)["y"].mean()
    return scale.where(scale > 0, level.where(level > 0, 1.0))


def mase(errors: pd.DataFrame, scale: pd.Series, column: str) -> float:
    """Mean over series of MAE(``column``) / scale; ``errors`` has ``unique_id``, ``y`` and ``column``."""
    mae = (errors["y"] - errors[column]).abs().groupby(errors["unique_id"]).mean()
    aligned = scale.reindex(mae.index)
    usable = aligned > 0
    return float((mae[usable] / aligned[usable]).mean()) if usable.any() else float("nan")
