"""MinTrace reconciliation: SKU totals and region totals equal the sums of their SKU × region forecasts,
and no forecast is negative even when the unconstrained solution would be."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.history import HistorySpec, weekly_history
from forecasting.reconcile import hierarchy, incoherence, reconcile


def _base(y_df: pd.DataFrame, rng: np.random.Generator, bottom_ids: set[str], shrink_bottom: bool) -> pd.DataFrame:
    last = y_df[y_df["ds"] == y_df["ds"].max()]
    weeks = []
    for k in (1, 2, 3):
        noise = rng.uniform(0.5, 1.5, len(last))
        forecast = last["y"].to_numpy() * noise + 1.0
        if shrink_bottom:  # tiny bottom forecasts under big aggregates: least squares would push some below 0
            forecast = np.where(last["unique_id"].isin(bottom_ids), 0.01, forecast * 3)
        weeks.append(
            pd.DataFrame(
                {"unique_id": last["unique_id"], "ds": last["ds"] + pd.Timedelta(weeks=k), "forecast": forecast}
            )
        )
    return pd.concat(weeks, ignore_index=True)


def test_reconciled_forecasts_are_coherent_and_non_negative() -> None:
    history = weekly_history(HistorySpec(skus=4, regions=3, weeks=60, seed=2))
    y_df, s_df, tags = hierarchy(history)
    assert set(tags) == {"sku", "region", "sku/region"}
    bottom_ids = set(history["unique_id"])
    for shrink in (False, True):
        base = _base(y_df, np.random.default_rng(7), bottom_ids, shrink)
        assert incoherence(base, s_df) > 1.0  # the base forecasts disagree
        result = reconcile(base, s_df, tags)
        assert incoherence(result, s_df) < 1e-6
        assert (result["forecast"] >= 0).all()
        bottom = result[result["unique_id"].isin(bottom_ids)].copy()
        bottom["sku"] = bottom["unique_id"].str.split("/").str[0]
        sku_totals = bottom.groupby(["sku", "ds"])["forecast"].sum()
        stated = result.set_index(["unique_id", "ds"])["forecast"]
        for (sku, ds), total in sku_totals.items():
            assert stated[(sku, ds)] == np.float64(total) or abs(stated[(sku, ds)] - total) < 1e-6
