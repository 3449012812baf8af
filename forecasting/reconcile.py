"""Coherent forecasts across the SKU × region hierarchy with hierarchicalforecast's MinTrace.

The hierarchy is grouped, not nested: each SKU over all regions, each region over all SKUs, and the
SKU × region series at the bottom (the grand total is the sum of either level). Every aggregate gets its
own base forecast (aggregates are smooth and carry the season better than their noisy parts), then
MinTrace (``wls_struct``: weights from the summing matrix, needing no in-sample residuals;
``nonnegative=True``) returns forecasts where each SKU's total equals the sum over its regions and each
region's total the sum over its SKUs.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hierarchicalforecast.core import HierarchicalReconciliation
from hierarchicalforecast.methods import MinTrace
from hierarchicalforecast.utils import aggregate

SPEC = [["sku"], ["region"], ["sku", "region"]]
BASE = "base"
#: A reconciled forecast below minus this is negative (above it is rounding of an exact zero).
NEGATIVE_TOLERANCE = 1e-9


def hierarchy(bottom: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
    """Every level's series of a bottom history (``sku``, ``region``, ``ds``, ``y``): ``(Y_df, S_df, tags)``.

    Bottom ids come out as ``"{sku}/{region}"`` (the engine's ``unique_id``), SKU totals as the SKU, region
    totals as the region.
    """
    frame = bottom[["sku", "region", "ds", "y"]]
    y_df, s_df, tags = aggregate(frame, SPEC)
    return y_df, s_df, tags


def _min_trace(frame: pd.DataFrame, s_df: pd.DataFrame, tags: dict[str, np.ndarray], nonnegative: bool) -> pd.DataFrame:
    method = MinTrace(method="wls_struct", nonnegative=nonnegative, num_threads=2 if nonnegative else 1)
    with warnings.catch_warnings():  # qpsolvers' advice to pass sparse matrices: hierarchicalforecast's to take
        warnings.simplefilter("ignore")
        return HierarchicalReconciliation(reconcilers=[method]).reconcile(Y_hat_df=frame, S_df=s_df, tags=tags)


def reconcile(base: pd.DataFrame, s_df: pd.DataFrame, tags: dict[str, np.ndarray]) -> pd.DataFrame:
    """MinTrace (structural weights, non-negative) of ``base`` (``unique_id``, ``ds``, ``forecast`` for every
    series of ``s_df``); answers ``unique_id``, ``ds``, ``base`` and ``forecast`` (reconciled, >= 0).

    The unconstrained MinTrace is solved first: when none of its forecasts is negative it is also the
    optimum of the non-negative problem (the constraints are inactive), and the quadratic program, seconds
    for a thousand series, is skipped. Otherwise MinTrace(nonnegative=True) solves it.
    """
    frame = base.rename(columns={"forecast": BASE})[["unique_id", "ds", BASE]]
    result = _min_trace(frame, s_df, tags, nonnegative=False)
    column = next(c for c in result.columns if c.startswith(f"{BASE}/MinTrace"))
    if (result[column] < -NEGATIVE_TOLERANCE).any():
        result = _min_trace(frame, s_df, tags, nonnegative=True)
        column = next(c for c in result.columns if c.startswith(f"{BASE}/MinTrace"))
    result = result.rename(columns={column: "forecast"})
    result["forecast"] = result["forecast"].clip(lower=0.0)  # the QP's solver tolerance can leave -1e-9
    return result[["unique_id", "ds", BASE, "forecast"]]


def incoherence(forecasts: pd.DataFrame, s_df: pd.DataFrame) -> float:
    """Largest |aggregate − sum of its bottom series| over every aggregate and week of ``forecasts``
    (``unique_id``, ``ds``, ``forecast``): 0 for coherent forecasts."""
    wide = forecasts.pivot(index="unique_id", columns="ds", values="forecast")
    bottom_ids = [c for c in s_df.columns if c != "unique_id"]
    summing = s_df.set_index("unique_id")[bottom_ids]
    implied = summing.to_numpy(dtype=float) @ wide.loc[bottom_ids].to_numpy()
    return float(np.max(np.abs(wide.loc[summing.index].to_numpy() - implied)))
