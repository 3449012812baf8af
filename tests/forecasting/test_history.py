"""The generated history: reproducible, weekly pattern inside weeks, yearly season across weeks, promotions,
and every demand pattern present."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.classify import classify
from forecasting.history import HistorySpec, daily_demand, weekly_demand

SPEC = HistorySpec(skus=12, regions=4, weeks=104, seed=3)


def test_the_same_seed_gives_the_same_history_and_another_seed_another() -> None:
    first, again = daily_demand(SPEC), daily_demand(SPEC)
    pd.testing.assert_frame_equal(first, again)
    other = daily_demand(HistorySpec(skus=12, regions=4, weeks=104, seed=4))
    assert not np.array_equal(first["y"].to_numpy(), other["y"].to_numpy())


def test_days_show_the_weekly_pattern_and_weeks_sum_the_days() -> None:
    daily = daily_demand(SPEC)
    by_weekday = daily.groupby(daily["day"].dt.weekday)["y"].mean()
    assert by_weekday[0] > 2 * by_weekday[6]  # Mondays busy, Sundays quiet
    assert by_weekday[4] > 2 * by_weekday[5]
    weekly = weekly_demand(daily)
    assert len(weekly) == 12 * 4 * 104
    assert weekly["y"].sum() == daily["y"].sum()
    assert (weekly["ds"].dt.weekday == 0).all()


def test_weekly_series_carry_a_yearly_season() -> None:
    daily = daily_demand(HistorySpec(skus=10, regions=3, weeks=104, seed=8))
    weekly = weekly_demand(daily)
    smooth = set(daily.loc[daily["pattern"] == "smooth", "sku"])
    assert smooth
    t = np.arange(104)
    design = np.column_stack([np.ones(104), t, np.sin(2 * np.pi * t / 52), np.cos(2 * np.pi * t / 52)])
    for sku in smooth:
        total = weekly[weekly["sku"] == sku].groupby("ds")["y"].sum().to_numpy()
        coef, *_ = np.linalg.lstsq(design, total, rcond=None)
        amplitude = float(np.hypot(coef[2], coef[3]))
        assert amplitude / total.mean() > 0.08, sku  # the generator draws amplitudes of 15-50 %


def test_promotion_weeks_sell_more_and_every_demand_class_appears() -> None:
    daily = daily_demand(HistorySpec(skus=40, regions=5, weeks=104, seed=13))
    weekly_promo = (
        daily.assign(week=daily["day"].dt.to_period("W"))
        .groupby(["sku", "week"])
        .agg(y=("y", "sum"), promo=("promo", "max"))
    )
    ratio = weekly_promo.groupby(["sku", "promo"])["y"].mean().unstack().dropna()
    assert (ratio[True] > ratio[False]).mean() > 0.8
    classes = set(classify(weekly_demand(daily))["demand_class"])
    assert classes == {"smooth", "erratic", "intermittent", "lumpy"}
