"""An honest score of the per-class choice: chosen on some windows, scored on later ones it never saw.

The last ``holdout_windows × horizon`` weeks are put aside. On the history before them the series are
classified, every candidate is backtested over ``windows`` rolling origins, each class's model and the
moving average's window are chosen, and the conformal quantiles are calibrated. Then, on the hold-out
origins (models refit on everything before each), the choice ("Ours"), seasonal naive and the chosen
moving average are scored: WAPE, bias, MASE and the coverage of their intervals (each model's own
residuals calibrate its own intervals, the same way). Nothing measured on the hold-out feeds back.

With ``reconciled=True`` the hold-out forecasts are also reconciled across SKU × region (the aggregates
forecast by the smooth class's chosen model) and scored as "Ours (reconciled)".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from forecasting.classify import DemandClass, classify
from forecasting.intervals import LEVEL, apply_intervals, calibrate, coverage
from forecasting.metrics import naive_scale, positive_scale
from forecasting.models import SEASONAL_NAIVE, BacktestSpec, backtest
from forecasting.reconcile import hierarchy, reconcile
from forecasting.selection import OURS, best_moving_average, choose_models, class_table, score_table, with_ours

RECONCILED = "Ours (reconciled)"


@dataclass
class Evaluation:
    """What ``evaluate`` measured (frames are long, one row per series × origin × week)."""

    classes: pd.DataFrame
    chosen: dict[str, str]
    moving_average: str
    selection: pd.DataFrame
    holdout: pd.DataFrame
    table: pd.DataFrame
    by_class: pd.DataFrame
    level: float = LEVEL
    notes: list[str] = field(default_factory=list)


def _interval_coverage(
    selection: pd.DataFrame, holdout: pd.DataFrame, model: str, scale: pd.Series, *, calibrated_on: str
) -> float:
    residuals = selection[["unique_id", "demand_class", "step", "y"]].assign(forecast=selection[calibrated_on])
    quantiles = calibrate(residuals, scale)
    scored = holdout[["unique_id", "demand_class", "step", "y"]].assign(forecast=holdout[model])
    return coverage(apply_intervals(scored, quantiles, scale))


def evaluate(history: pd.DataFrame, spec: BacktestSpec, *, reconciled: bool = False) -> Evaluation:
    """Choose on the selection windows, score on the hold-out windows (see the module)."""
    holdout_start = history["ds"].max() - pd.Timedelta(weeks=spec.holdout_windows * spec.step)
    train = history[history["ds"] <= holdout_start]
    classes = classify(train)
    class_of = classes.set_index("unique_id")["demand_class"]
    selection = backtest(train, classes, spec)
    selection["demand_class"] = selection["unique_id"].map(class_of)
    chosen = choose_models(selection)
    moving = best_moving_average(selection)
    selection = with_ours(selection, chosen)
    holdout = backtest(history, classes, spec, windows=spec.holdout_windows, only=set(chosen.values()))
    holdout["demand_class"] = holdout["unique_id"].map(class_of)
    holdout = with_ours(holdout, chosen)
    models = [OURS, SEASONAL_NAIVE, moving]
    if reconciled:
        holdout = holdout.merge(
            _reconciled_holdout(history, holdout, chosen, spec), on=["unique_id", "ds", "cutoff"], how="left"
        )
        models.append(RECONCILED)
    table = score_table(holdout, models, naive_scale(train))
    scale = positive_scale(train)
    # each model's intervals calibrated on its own selection residuals; the reconciled forecasts keep the
    # widths calibrated for the base model they come from
    table["coverage"] = [
        _interval_coverage(selection, holdout, m, scale, calibrated_on=OURS if m == RECONCILED else m) for m in models
    ]
    return Evaluation(
        classes=classes,
        chosen=chosen,
        moving_average=moving,
        selection=selection,
        holdout=holdout,
        table=table,
        by_class=class_table(selection, chosen),
    )


def _reconciled_holdout(
    history: pd.DataFrame, holdout: pd.DataFrame, chosen: dict[str, str], spec: BacktestSpec
) -> pd.DataFrame:
    """The hold-out origins' forecasts of every level, reconciled per origin; bottom rows only."""
    y_df, s_df, tags = hierarchy(history)
    bottom_ids = set(history["unique_id"])
    aggregates = y_df[~y_df["unique_id"].isin(bottom_ids)]
    aggregate_model = chosen[DemandClass.SMOOTH.value]
    agg_classes = pd.DataFrame(
        {"unique_id": aggregates["unique_id"].unique(), "demand_class": DemandClass.SMOOTH.value}
    )
    agg = backtest(aggregates, agg_classes, spec, windows=spec.holdout_windows, only={aggregate_model})
    agg = agg.assign(forecast=agg[aggregate_model])[["unique_id", "ds", "cutoff", "forecast"]]
    bottom = holdout.rename(columns={OURS: "forecast"})[["unique_id", "ds", "cutoff", "forecast"]]
    parts = []
    for cutoff, base in pd.concat([bottom, agg]).groupby("cutoff"):
        result = reconcile(base[["unique_id", "ds", "forecast"]], s_df, tags)
        result = result[result["unique_id"].isin(bottom_ids)].assign(cutoff=cutoff)
        parts.append(result.rename(columns={"forecast": RECONCILED})[["unique_id", "ds", "cutoff", RECONCILED]])
    return pd.concat(parts, ignore_index=True)
