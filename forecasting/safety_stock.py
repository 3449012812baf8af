"""Safety stock from the backtest's lead-time errors, and replenishment or transfer suggestions per warehouse.

The error that safety stock must absorb is the error of the demand forecast over the lead time. The
backtest measured it directly: per window, ``Σ_{step ≤ lead time} (y − ŷ)``. Warehouse errors are the sums
of the errors of the regions the warehouse serves, window by window (so correlated regions add up, and
independent ones partly cancel). No ``σ·√L`` rule scales a one-week error up.

* intermittent and lumpy (warehouse × SKU) demand: the empirical ``service_level`` quantile of those
  errors (the next order statistic up, never an interpolation between two), at least zero: their errors
  are skewed and far from normal;
* smooth and erratic demand: ``z(service_level) ×`` the root mean square of the same errors (bias included).

With the backtest's handful of windows, a 95 % empirical quantile is the largest error seen; more windows
make it finer.

The order-up-to level of a warehouse and SKU covers the forecast demand over lead time + review period plus
the safety stock. A warehouse above its level can give the excess to one below before anything is ordered:
transfers first (largest excess to largest shortfall), then a supplier order for what remains short.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from statistics import NormalDist

import numpy as np
import pandas as pd

from forecasting.classify import DemandClass, adi_cv2, demand_class

SERVICE_LEVEL = 0.95


def lead_time_errors(frame: pd.DataFrame, column: str, lead_time: int) -> pd.DataFrame:
    """Per ``unique_id`` and backtest ``window``: ``error`` = Σ over the first ``lead_time`` steps of
    ``y − frame[column]``; keeps ``sku`` and ``region`` when ``frame`` has them."""
    early = frame[frame["step"] <= lead_time]
    keys = [k for k in ("unique_id", "sku", "region", "window") if k in early]
    return early.assign(error=early["y"] - early[column]).groupby(keys, as_index=False, sort=True)["error"].sum()


def safety_stock(errors: np.ndarray, demand: DemandClass, service_level: float = SERVICE_LEVEL) -> float:
    """Units of safety stock for one stocking point from its lead-time forecast errors (see the module)."""
    values = np.asarray(errors, dtype=float)
    if values.size == 0:
        return 0.0
    if demand.is_intermittent:
        return max(0.0, float(np.quantile(values, service_level, method="higher")))
    z = NormalDist().inv_cdf(service_level)
    return max(0.0, z * float(np.sqrt(np.mean(values**2))))


def warehouse_safety_stock(
    errors: pd.DataFrame,
    history: pd.DataFrame,
    region_warehouse: Mapping[str, str],
    service_level: float = SERVICE_LEVEL,
) -> pd.DataFrame:
    """Per ``warehouse`` and ``sku``: the demand class of the warehouse's weekly demand (``history``
    summed over its regions), the windows measured and the ``safety_stock``."""
    tagged = errors.assign(warehouse=errors["region"].map(region_warehouse)).dropna(subset=["warehouse"])
    summed = tagged.groupby(["warehouse", "sku", "window"], as_index=False)["error"].sum()
    demand = history.assign(warehouse=history["region"].map(region_warehouse)).dropna(subset=["warehouse"])
    weekly = demand.groupby(["warehouse", "sku", "ds"])["y"].sum()
    rows = []
    for (warehouse, sku), part in summed.groupby(["warehouse", "sku"], sort=True):
        series = weekly.loc[(warehouse, sku)].to_numpy() if (warehouse, sku) in weekly.index.droplevel(2) else []
        pattern = demand_class(*adi_cv2(np.asarray(series)))
        units = safety_stock(part["error"].to_numpy(), pattern, service_level)
        rows.append((warehouse, sku, pattern.value, len(part), units))
    return pd.DataFrame(rows, columns=["warehouse", "sku", "demand_class", "windows", "safety_stock"])


def replenishment(
    forecasts: pd.DataFrame,
    safety: pd.DataFrame,
    on_hand: pd.DataFrame,
    region_warehouse: Mapping[str, str],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Order-up-to levels, transfers and supplier orders per warehouse and SKU.

    ``forecasts``: ``sku``, ``region``, ``forecast`` over the weeks to cover (lead time + review period);
    ``safety``: ``warehouse_safety_stock``'s answer; ``on_hand``: ``warehouse``, ``sku``, ``on_hand``.
    Answers ``(levels, transfers)``: levels per ``warehouse``, ``sku`` with ``demand_class`` ("none" where
    nothing is forecast), ``on_hand``, ``cover_demand``,
    ``safety_stock``, ``order_up_to`` (whole units), ``transfer_in``, ``transfer_out`` and ``order_qty``;
    transfers as ``sku``, ``from_warehouse``, ``to_warehouse``, ``qty``.
    """
    demand = forecasts.assign(warehouse=forecasts["region"].map(region_warehouse)).dropna(subset=["warehouse"])
    cover = (
        demand.groupby(["warehouse", "sku"], as_index=False)["forecast"]
        .sum()
        .rename(columns={"forecast": "cover_demand"})
    )
    levels = cover.merge(
        safety[["warehouse", "sku", "demand_class", "safety_stock"]], on=["warehouse", "sku"], how="outer"
    )
    levels = levels.merge(on_hand[["warehouse", "sku", "on_hand"]], on=["warehouse", "sku"], how="outer")
    levels = levels.fillna(
        {"cover_demand": 0.0, "safety_stock": 0.0, "on_hand": 0, "demand_class": "none"}
    ).sort_values(["sku", "warehouse"])
    levels["on_hand"] = levels["on_hand"].astype(int)
    levels["order_up_to"] = [
        math.ceil(c + s - 1e-9) for c, s in zip(levels["cover_demand"], levels["safety_stock"], strict=True)
    ]
    levels["transfer_in"] = 0
    levels["transfer_out"] = 0
    transfers = []
    for sku, part in levels.groupby("sku", sort=True):
        gap = (part["order_up_to"] - part["on_hand"]).to_dict()
        excess = sorted(((-g, i) for i, g in gap.items() if g < 0), reverse=True)
        short = sorted(((g, i) for i, g in gap.items() if g > 0), reverse=True)
        spare = {i: amount for amount, i in excess}
        for need, to in short:
            for _, source in excess:
                qty = min(need, spare[source])
                if qty <= 0:
                    continue
                spare[source] -= qty
                need -= qty
                levels.loc[source, "transfer_out"] += qty
                levels.loc[to, "transfer_in"] += qty
                transfers.append((sku, levels.loc[source, "warehouse"], levels.loc[to, "warehouse"], int(qty)))
                if need == 0:
                    break
    remaining = levels["order_up_to"] - levels["on_hand"] - levels["transfer_in"]
    levels["order_qty"] = remaining.clip(lower=0).astype(int)
    transfer_frame = pd.DataFrame(transfers, columns=["sku", "from_warehouse", "to_warehouse", "qty"])
    return levels.reset_index(drop=True), transfer_frame
