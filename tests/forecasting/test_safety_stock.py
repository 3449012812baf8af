"""Safety stock from lead-time errors (empirical quantile for intermittent demand, not σ·√L) and the
replenishment and transfer suggestions."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from forecasting.classify import DemandClass
from forecasting.safety_stock import lead_time_errors, replenishment, safety_stock


def test_intermittent_safety_stock_is_the_empirical_upper_quantile_of_the_errors() -> None:
    errors = np.array([-1.0, -1.0, -1.0, 0.0, -1.0, -1.0, -1.0, 12.0, -1.0, 3.0])
    units = safety_stock(errors, DemandClass.INTERMITTENT, 0.9)
    assert units == 12.0  # the 9th of 10 ordered errors is 3; the next order statistic up, never interpolated
    assert safety_stock(errors, DemandClass.LUMPY, 0.8) == 3.0
    normal_rule = NormalDist().inv_cdf(0.9) * errors.std()
    assert units != pytest.approx(normal_rule)


def test_intermittent_safety_stock_is_never_negative() -> None:
    assert safety_stock(np.array([-5.0, -3.0, -4.0]), DemandClass.INTERMITTENT, 0.95) == 0.0


def test_smooth_safety_stock_is_z_times_the_rms_of_the_lead_time_errors() -> None:
    errors = np.array([3.0, -4.0, 5.0, -2.0, 1.0, 0.0])
    expected = NormalDist().inv_cdf(0.95) * np.sqrt(np.mean(errors**2))
    assert safety_stock(errors, DemandClass.SMOOTH, 0.95) == pytest.approx(expected)


def test_lead_time_errors_sum_the_first_lead_time_steps_per_window() -> None:
    frame = pd.DataFrame(
        {
            "unique_id": ["a"] * 6,
            "window": [0, 0, 0, 1, 1, 1],
            "step": [1, 2, 3, 1, 2, 3],
            "y": [5.0, 6.0, 100.0, 2.0, 0.0, 100.0],
            "Ours": [4.0, 4.0, 0.0, 3.0, 3.0, 0.0],
        }
    )
    errors = lead_time_errors(frame, "Ours", lead_time=2)
    assert errors["error"].tolist() == [3.0, -4.0]


def test_excess_moves_to_the_short_warehouse_before_anything_is_ordered() -> None:
    region_warehouse = {"north": "W1", "south": "W2"}
    forecasts = pd.DataFrame({"sku": ["S"] * 6, "region": ["north"] * 3 + ["south"] * 3, "forecast": [10.0] * 6})
    safety = pd.DataFrame(
        {"warehouse": ["W1", "W2"], "sku": ["S", "S"], "demand_class": ["smooth", "smooth"], "safety_stock": [5.0, 5.0]}
    )
    on_hand = pd.DataFrame({"warehouse": ["W1", "W2"], "sku": ["S", "S"], "on_hand": [55, 10]})
    levels, transfers = replenishment(forecasts, safety, on_hand, region_warehouse)
    by_warehouse = levels.set_index("warehouse")
    assert by_warehouse["order_up_to"].tolist() == [35, 35]
    assert transfers.to_dict(orient="records") == [
        {"sku": "S", "from_warehouse": "W1", "to_warehouse": "W2", "qty": 20}
    ]
    assert by_warehouse.loc["W2", "transfer_in"] == 20 and by_warehouse.loc["W1", "transfer_out"] == 20
    assert by_warehouse.loc["W2", "order_qty"] == 5  # 35 - 10 on hand - 20 transferred
    assert by_warehouse.loc["W1", "order_qty"] == 0
