"""The model chosen per demand class on the selection windows, and the portfolio scores of a backtest.

A class's model is the one of its own candidates (MSTL, Theta, Ensemble for smooth and erratic series;
CrostonSBA, ADIDA, IMAPA, TSB for intermittent and lumpy ones) with the lowest WAPE over that class's
series on the selection windows. The baselines are not candidates: they are what the choice is scored
against. The moving-average baseline's window is chosen the same way, portfolio-wide, so it too gets its
best practice.
"""

from __future__ import annotations

import pandas as pd

from forecasting.classify import DemandClass
from forecasting.metrics import bias, mase, wape
from forecasting.models import INTERMITTENT_CANDIDATES, MOVING_AVERAGES, SMOOTH_CANDIDATES

OURS = "Ours"
#: What a class with no series in the backtest gets (its choice cannot be measured).
DEFAULT_CHOICE = {False: "Theta", True: "CrostonSBA"}


def class_candidates(demand_class: DemandClass) -> tuple[str, ...]:
    """The models a class chooses from."""
    return INTERMITTENT_CANDIDATES if demand_class.is_intermittent else SMOOTH_CANDIDATES


def choose_models(backtest: pd.DataFrame) -> dict[str, str]:
    """Per demand class (every class, by value), the candidate with the lowest WAPE on ``backtest``'s rows
    of that class (``backtest`` carries ``demand_class``, ``y`` and the model columns)."""
    chosen = {}
    for demand_class in DemandClass:
        rows = backtest[backtest["demand_class"] == demand_class.value]
        names = [m for m in class_candidates(demand_class) if m in rows and rows[m].notna().all()]
        if rows.empty or not names or rows["y"].sum() <= 0:
            chosen[demand_class.value] = DEFAULT_CHOICE[demand_class.is_intermittent]
            continue
        chosen[demand_class.value] = min(names, key=lambda m: wape(rows["y"].to_numpy(), rows[m].to_numpy()))
    return chosen


def best_moving_average(backtest: pd.DataFrame) -> str:
    """The moving-average window with the lowest portfolio WAPE on ``backtest``."""
    return min(MOVING_AVERAGES, key=lambda m: wape(backtest["y"].to_numpy(), backtest[m].to_numpy()))


def with_ours(backtest: pd.DataFrame, chosen: dict[str, str]) -> pd.DataFrame:
    """``backtest`` with an ``Ours`` column: each row's forecast by its class's chosen model."""
    model = backtest["demand_class"].map(chosen)
    ours = pd.Series(float("nan"), index=backtest.index)
    for name in model.unique():
        rows = model == name
        ours[rows] = backtest.loc[rows, name]
    return backtest.assign(**{OURS: ours})


def score_table(frame: pd.DataFrame, models: list[str], scale: pd.Series) -> pd.DataFrame:
    """Portfolio WAPE, bias and MASE of each model column over every row of ``frame``."""
    y = frame["y"].to_numpy()
    rows = [(m, wape(y, frame[m].to_numpy()), bias(y, frame[m].to_numpy()), mase(frame, scale, m)) for m in models]
    return pd.DataFrame(rows, columns=["model", "wape", "bias", "mase"])


def class_table(frame: pd.DataFrame, chosen: dict[str, str]) -> pd.DataFrame:
    """Per class: series, demand, the chosen model and the WAPE of each of the class's candidates."""
    rows = []
    for demand_class, part in frame.groupby("demand_class"):
        names = class_candidates(DemandClass(demand_class))
        y = part["y"].to_numpy()
        scores = {m: wape(y, part[m].to_numpy()) for m in names if m in part and part[m].notna().all()}
        rows.append(
            {
                "demand_class": demand_class,
                "series": part["unique_id"].nunique(),
                "demand": float(y.sum()),
                "chosen": chosen[str(demand_class)],
                **{f"wape_{m}": v for m, v in scores.items()},
            }
        )
    return pd.DataFrame(rows)
