"""Split-conformal prediction intervals from backtest residuals, clipped at zero.

Residuals ``y − ŷ`` of the chosen model on the calibration windows are divided by each series' scale (its
mean absolute week-to-week change, ``metrics.positive_scale``) so that series of every size can share one
calibration set, and pooled per demand class and step ahead. The interval of a new forecast is
``[ŷ + q_low · scale, ŷ + q_high · scale]`` with ``q_low`` and ``q_high`` the conformal lower and upper
quantiles of those scaled residuals (asymmetric: demand is skewed), then clipped at zero. Its coverage is
measured on windows the calibration never saw (``coverage``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

LEVEL = 0.8
#: A (class, step) group with fewer residuals than this borrows the class's residuals of every step.
MIN_GROUP = 30


def _conformal_quantiles(scores: np.ndarray, level: float) -> tuple[float, float]:
    """Lower and upper split-conformal quantiles of ``scores`` for a central ``level`` interval."""
    n = scores.size
    alpha = (1.0 - level) / 2.0
    upper_rank = min(n, math.ceil((n + 1) * (1.0 - alpha)))
    lower_rank = max(1, math.floor((n + 1) * alpha))
    ordered = np.sort(scores)
    return float(ordered[lower_rank - 1]), float(ordered[upper_rank - 1])


def calibrate(residuals: pd.DataFrame, scale: pd.Series, level: float = LEVEL) -> pd.DataFrame:
    """Per ``demand_class`` and ``step``: ``q_low`` and ``q_high`` of the scaled residuals.

    ``residuals`` has ``unique_id``, ``demand_class``, ``step``, ``y`` and ``forecast``; ``scale`` is indexed
    by ``unique_id`` and positive.
    """
    scaled = (residuals["y"] - residuals["forecast"]) / residuals["unique_id"].map(scale).to_numpy()
    frame = residuals.assign(score=scaled.to_numpy())
    rows = []
    for demand_class, of_class in frame.groupby("demand_class"):
        for step, group in of_class.groupby("step"):
            pool = group if len(group) >= MIN_GROUP else of_class
            low, high = _conformal_quantiles(pool["score"].to_numpy(), level)
            rows.append((demand_class, int(step), low, high, len(pool)))
    return pd.DataFrame(rows, columns=["demand_class", "step", "q_low", "q_high", "n"])


def apply_intervals(forecasts: pd.DataFrame, quantiles: pd.DataFrame, scale: pd.Series) -> pd.DataFrame:
    """``forecasts`` (``unique_id``, ``demand_class``, ``step``, ``forecast``) with ``lo`` and ``hi`` added,
    both at least zero and ``lo <= forecast <= hi`` where the forecast is itself non-negative."""
    merged = forecasts.merge(
        quantiles[["demand_class", "step", "q_low", "q_high"]], on=["demand_class", "step"], how="left"
    )
    series_scale = merged["unique_id"].map(scale).to_numpy()
    low = merged["forecast"] + merged["q_low"].fillna(0.0).clip(upper=0.0) * series_scale
    high = merged["forecast"] + merged["q_high"].fillna(0.0).clip(lower=0.0) * series_scale
    return merged.drop(columns=["q_low", "q_high"]).assign(lo=low.clip(lower=0.0), hi=high.clip(lower=0.0))


def coverage(frame: pd.DataFrame) -> float:
    """Share of rows whose ``y`` lies in ``[lo, hi]``."""
    inside = (frame["y"] >= frame["lo"]) & (frame["y"] <= frame["hi"])
    return float(inside.mean()) if len(frame) else float("nan")
