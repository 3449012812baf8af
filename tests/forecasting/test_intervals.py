"""Split-conformal intervals: never negative, around the forecast, and covering what they claim on data the
calibration did not see."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.intervals import apply_intervals, calibrate, coverage


def _frame(rng: np.random.Generator, series: int, level: float) -> pd.DataFrame:
    ids = [f"s{i}" for i in range(series)]
    forecast = np.full(series * 3, level)
    y = np.maximum(0.0, forecast + rng.normal(0, 4.0, series * 3))
    return pd.DataFrame(
        {
            "unique_id": np.repeat(ids, 3),
            "demand_class": "smooth",
            "step": np.tile([1, 2, 3], series),
            "y": y,
            "forecast": forecast,
        }
    )


def test_intervals_are_non_negative_and_hold_the_forecast() -> None:
    rng = np.random.default_rng(1)
    calibration = _frame(rng, 200, 3.0)  # low demand: lower bounds would go below zero unclipped
    scale = pd.Series(2.0, index=calibration["unique_id"].unique())
    quantiles = calibrate(calibration, scale)
    assert (quantiles["q_low"] < -0.5).all()  # unclipped, forecast + q_low * scale < 0
    scored = apply_intervals(_frame(rng, 50, 3.0).drop(columns="y"), quantiles, scale)
    assert (scored["lo"] >= 0).all() and (scored["hi"] >= 0).all()
    assert (scored["lo"] <= scored["forecast"]).all() and (scored["forecast"] <= scored["hi"]).all()
    assert (scored["lo"] == 0).any()


def test_coverage_on_fresh_draws_is_near_the_level() -> None:
    rng = np.random.default_rng(2)
    calibration = _frame(rng, 300, 20.0)
    scale = pd.Series(1.0, index=calibration["unique_id"].unique())
    quantiles = calibrate(calibration, scale, level=0.8)
    fresh = apply_intervals(_frame(rng, 300, 20.0), quantiles, scale)
    assert 0.76 <= coverage(fresh) <= 0.84
    wide = apply_intervals(_frame(rng, 300, 20.0), calibrate(calibration, scale, level=0.95), scale)
    assert coverage(wide) > coverage(fresh)
