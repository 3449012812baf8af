"""The candidate models of each demand family and the rolling-origin backtest that scores them.

* Smooth and erratic series: ``SeasonalNaive(52)`` and moving averages (the baselines) against
  ``MSTL(season_length=52)``, ``Theta(season_length=52)`` and ``Ensemble``, the median of those two (of two
  forecasts the median is their mean). AutoETS is not a candidate: statsforecast drops season lengths above
  24, so it cannot carry a yearly season on weekly data. MSTL's trend is forecast by a non-seasonal Theta
  (SES with drift) instead of the default AutoETS: 6.8 instead of 16.7 ms per fit on 95 weeks (measured
  once on this machine); the two were not compared for accuracy.
* Intermittent and lumpy series: the same baselines against ``CrostonSBA``, ``ADIDA``, ``IMAPA`` and ``TSB``.

The moving-average baseline is given its best practice: windows of 4, 8, 13 and 26 weeks are all run and
the selection windows pick the best (``selection``). Point forecasts are clipped at zero (demand cannot be
negative), for every model alike.

The backtest is rolling-origin: ``windows`` cut-offs ``step`` weeks apart, the last one ``horizon`` weeks
before the end; at each, every model is refit on the history up to the cut-off and forecasts ``horizon``
weeks (lead time + review period).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import (
    ADIDA,
    IMAPA,
    MSTL,
    TSB,
    CrostonSBA,
    SeasonalNaive,
    Theta,
    WindowAverage,
)

from forecasting.classify import DemandClass

SEASON_LENGTH = 52
MOVING_AVERAGE_WINDOWS = (4, 8, 13, 26)
SEASONAL_NAIVE = "SeasonalNaive"
ENSEMBLE = "Ensemble"
SMOOTH_CANDIDATES = ("MSTL", "Theta", ENSEMBLE)
INTERMITTENT_CANDIDATES = ("CrostonSBA", "ADIDA", "IMAPA", "TSB")
MOVING_AVERAGES = tuple(f"MA{w}" for w in MOVING_AVERAGE_WINDOWS)
BASELINES = (SEASONAL_NAIVE, *MOVING_AVERAGES)


@dataclass(frozen=True)
class BacktestSpec:
    """Rolling-origin backtest settings: ``horizon`` = lead time + review period (weeks)."""

    lead_time: int = 2
    review_period: int = 1
    #: Origins whose errors choose the model per class and calibrate the intervals.
    windows: int = 6
    #: Later origins, never used to choose or calibrate: the honest score of the choice.
    holdout_windows: int = 2
    season_length: int = SEASON_LENGTH
    n_jobs: int = 1

    @property
    def horizon(self) -> int:
        """Weeks a replenishment decision must cover: lead time + review period."""
        return self.lead_time + self.review_period

    @property
    def step(self) -> int:
        """Weeks between consecutive cut-offs: one horizon, so the windows' test weeks do not overlap."""
        return self.horizon


def _baselines(season_length: int) -> list[object]:
    moving = [WindowAverage(window_size=w, alias=f"MA{w}") for w in MOVING_AVERAGE_WINDOWS]
    return [SeasonalNaive(season_length=season_length, alias=SEASONAL_NAIVE), *moving]


def family_models(intermittent: bool, season_length: int = SEASON_LENGTH) -> list[object]:
    """The statsforecast models run on one family (baselines first)."""
    if intermittent:
        specific: list[object] = [CrostonSBA(), ADIDA(), IMAPA(), TSB(alpha_d=0.1, alpha_p=0.1)]
    else:
        specific = [
            MSTL(season_length=season_length, trend_forecaster=Theta(season_length=1), alias="MSTL"),
            Theta(season_length=season_length, alias="Theta"),
        ]
    return [*_baselines(season_length), *specific]


def candidates(demand_class: DemandClass) -> tuple[str, ...]:
    """Model names the selection may choose from for a class (the baselines always among them)."""
    return (*BASELINES, *(INTERMITTENT_CANDIDATES if demand_class.is_intermittent else SMOOTH_CANDIDATES))


def _add_ensemble(frame: pd.DataFrame) -> pd.DataFrame:
    if "MSTL" in frame and "Theta" in frame:
        frame[ENSEMBLE] = frame[["MSTL", "Theta"]].median(axis=1)
    return frame


def _model_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in ("unique_id", "ds", "cutoff", "y")]


def _families(history: pd.DataFrame, classes: pd.DataFrame) -> list[tuple[bool, pd.DataFrame]]:
    intermittent_ids = set(
        classes.loc[classes["demand_class"].map(lambda c: DemandClass(c).is_intermittent), "unique_id"]
    )
    is_intermittent = history["unique_id"].isin(intermittent_ids)
    families = [(False, history[~is_intermittent]), (True, history[is_intermittent])]
    return [(flag, part[["unique_id", "ds", "y"]]) for flag, part in families if not part.empty]


def backtest(
    history: pd.DataFrame,
    classes: pd.DataFrame,
    spec: BacktestSpec,
    *,
    windows: int | None = None,
    only: set[str] | None = None,
) -> pd.DataFrame:
    """The models of each series' family over ``windows`` (default ``spec.windows``) rolling origins, the
    last ending with the history; ``only`` limits the non-baseline models run (the baselines always run).

    Answers one row per series, cut-off and week: ``unique_id``, ``ds``, ``cutoff``, ``window`` (0 = oldest),
    ``step`` (1..horizon), ``y`` and one column per model (NaN where the model is not of the series' family).
    """
    parts = []
    for intermittent, part in _families(history, classes):
        models = family_models(intermittent, spec.season_length)
        if only is not None:
            models = [m for m in models if str(m) in BASELINES or _needed(m, only)]
        engine = StatsForecast(models=models, freq="W-MON", n_jobs=spec.n_jobs)
        result = engine.cross_validation(
            df=part, h=spec.horizon, n_windows=windows or spec.windows, step_size=spec.step
        )
        parts.append(_add_ensemble(result))
    frame = pd.concat(parts, ignore_index=True)
    columns = _model_columns(frame)
    frame[columns] = frame[columns].clip(lower=0.0)
    cutoffs = sorted(frame["cutoff"].unique())
    frame["window"] = frame["cutoff"].map({c: i for i, c in enumerate(cutoffs)}).astype(int)
    frame["step"] = ((frame["ds"] - frame["cutoff"]).dt.days // 7).astype(int)
    return frame.sort_values(["unique_id", "cutoff", "ds"], ignore_index=True)


def forecast(history: pd.DataFrame, chosen: dict[str, str], classes: pd.DataFrame, spec: BacktestSpec) -> pd.DataFrame:
    """Forecast ``spec.horizon`` weeks after the history with each series' class's chosen model.

    ``chosen`` maps a demand class to a model name (as ``selection.choose_models`` answers). Answers
    ``unique_id``, ``ds``, ``model`` and ``forecast`` (clipped at zero).
    """
    model_of = classes.set_index("unique_id")["demand_class"].map(chosen)
    parts = []
    for intermittent, part in _families(history, classes):
        needed = set(model_of.reindex(part["unique_id"].unique()))
        models = [m for m in family_models(intermittent, spec.season_length) if _needed(m, needed)]
        engine = StatsForecast(models=models, freq="W-MON", n_jobs=spec.n_jobs)
        parts.append(_add_ensemble(engine.forecast(df=part, h=spec.horizon)))
    wide = pd.concat(parts, ignore_index=True)
    wide["model"] = wide["unique_id"].map(model_of)
    wide["forecast"] = [row[m] for m, (_, row) in zip(wide["model"], wide.iterrows(), strict=True)]
    wide["forecast"] = wide["forecast"].astype(float).clip(lower=0.0)
    return wide[["unique_id", "ds", "model", "forecast"]].sort_values(["unique_id", "ds"], ignore_index=True)


def _needed(model: object, names: set[str]) -> bool:
    alias = str(model)
    return alias in names or (ENSEMBLE in names and alias in ("MSTL", "Theta"))


def forecast_with(history: pd.DataFrame, model_name: str, horizon: int, *, n_jobs: int = 1) -> pd.DataFrame:
    """Forecast every series of ``history`` with one named model (the aggregates of the hierarchy use it);
    answers ``unique_id``, ``ds`` and ``forecast``."""
    intermittent = model_name in INTERMITTENT_CANDIDATES
    models = [m for m in family_models(intermittent) if _needed(m, {model_name})]
    engine = StatsForecast(models=models, freq="W-MON", n_jobs=n_jobs)
    wide = _add_ensemble(engine.forecast(df=history[["unique_id", "ds", "y"]], h=horizon))
    return wide.assign(forecast=wide[model_name].clip(lower=0.0))[["unique_id", "ds", "forecast"]]


def model_names(frame: pd.DataFrame, families: Sequence[str] | None = None) -> list[str]:
    """The model columns of a backtest frame."""
    return [c for c in _model_columns(frame) if c not in ("window", "step") and (families is None or c in families)]
