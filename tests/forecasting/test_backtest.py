"""The rolling-origin backtest: as many windows as asked, each ``horizon`` weeks, origins one horizon apart,
the last ending with the history; every model refit on the weeks before its origin."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from forecasting.classify import classify
from forecasting.history import HistorySpec, weekly_history
from forecasting.models import BacktestSpec, backtest
from forecasting.selection import choose_models, with_ours


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return weekly_history(HistorySpec(skus=4, regions=2, weeks=80, seed=28))


@pytest.mark.parametrize(("lead_time", "review", "windows"), [(2, 1, 6), (1, 1, 7)])
def test_windows_count_and_horizon(history: pd.DataFrame, lead_time: int, review: int, windows: int) -> None:
    spec = BacktestSpec(lead_time=lead_time, review_period=review, windows=windows)
    frame = backtest(history, classify(history), spec)
    horizon = lead_time + review
    cutoffs = sorted(frame["cutoff"].unique())
    assert len(cutoffs) == windows
    gaps = {(b - a).days for a, b in itertools.pairwise(cutoffs)}
    assert gaps == {7 * horizon}
    assert cutoffs[-1] == history["ds"].max() - pd.Timedelta(weeks=horizon)
    per_window = frame.groupby(["unique_id", "cutoff"])["step"].apply(sorted)
    assert all(steps == list(range(1, horizon + 1)) for steps in per_window)
    assert frame["unique_id"].nunique() == history["unique_id"].nunique()


def test_each_origin_sees_only_the_weeks_before_it(history: pd.DataFrame) -> None:
    frame = backtest(history, classify(history), BacktestSpec())
    actual = history.set_index(["unique_id", "ds"])["y"]
    # seasonal naive at an origin repeats the week one season earlier: only history can give that value
    last_year = [
        actual[(u, ds - pd.Timedelta(weeks=52))] for u, ds in zip(frame["unique_id"], frame["ds"], strict=True)
    ]
    assert frame["SeasonalNaive"].tolist() == pytest.approx(last_year)
    assert frame["y"].tolist() == [actual[(u, ds)] for u, ds in zip(frame["unique_id"], frame["ds"], strict=True)]


def test_forecasts_are_never_negative_and_each_family_gets_its_models(history: pd.DataFrame) -> None:
    classes = classify(history)
    frame = backtest(history, classes, BacktestSpec())
    models = [c for c in frame.columns if c not in ("unique_id", "ds", "cutoff", "y", "window", "step")]
    assert (frame[models].fillna(0) >= 0).all().all()
    family = frame["unique_id"].map(classes.set_index("unique_id")["demand_class"])
    smooth = family.isin(["smooth", "erratic"])
    assert frame.loc[smooth, ["MSTL", "Theta", "Ensemble"]].notna().all().all()
    assert frame.loc[~smooth, ["CrostonSBA", "ADIDA", "IMAPA", "TSB"]].notna().all().all()
    ensemble = frame.loc[smooth, ["MSTL", "Theta"]].median(axis=1)
    assert frame.loc[smooth, "Ensemble"].tolist() == pytest.approx(ensemble.tolist())


def test_the_choice_is_the_lowest_wape_candidate_of_the_class_never_a_baseline() -> None:
    frame = pd.DataFrame(
        {
            "unique_id": ["a", "a", "b", "b"],
            "demand_class": ["smooth", "smooth", "lumpy", "lumpy"],
            "y": [10.0, 10.0, 2.0, 2.0],
            "SeasonalNaive": [10.0, 10.0, 2.0, 2.0],  # perfect, but a baseline
            "MSTL": [14.0, 14.0, None, None],
            "Theta": [11.0, 9.0, None, None],
            "Ensemble": [12.5, 11.5, None, None],
            "CrostonSBA": [None, None, 1.0, 1.0],
            "ADIDA": [None, None, 2.0, 2.0],
            "IMAPA": [None, None, 3.0, 3.0],
            "TSB": [None, None, 0.0, 0.0],
        }
    )
    chosen = choose_models(frame)
    assert chosen["smooth"] == "Theta"
    assert chosen["lumpy"] == "ADIDA"  # exact; Croston and IMAPA are 1 off, TSB 2
    assert chosen["erratic"] == "Theta" and chosen["intermittent"] == "CrostonSBA"  # no series: the defaults
    assert with_ours(frame, chosen)["Ours"].tolist() == [11.0, 9.0, 2.0, 2.0]
