"""Syntetos-Boylan classes on hand-built series: each side of both cut-offs (ADI 1.32, CV² 0.49)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from forecasting.classify import ADI_CUTOFF, CV2_CUTOFF, DemandClass, adi_cv2, classify, demand_class


def test_demand_every_week_with_steady_sizes_is_smooth() -> None:
    adi, cv2 = adi_cv2(np.array([10, 12, 9, 11, 10, 10, 13, 9]))
    assert adi == 1.0
    assert cv2 < CV2_CUTOFF
    assert demand_class(adi, cv2) is DemandClass.SMOOTH


def test_demand_every_week_with_wild_sizes_is_erratic() -> None:
    y = np.array([1, 40, 2, 35, 1, 50, 3, 30])
    adi, cv2 = adi_cv2(y)
    assert adi == 1.0
    assert cv2 == pytest.approx(y.var() / y.mean() ** 2)
    assert cv2 >= CV2_CUTOFF
    assert demand_class(adi, cv2) is DemandClass.ERRATIC


def test_rare_steady_demand_is_intermittent_and_rare_wild_demand_is_lumpy() -> None:
    steady = np.array([0, 0, 5, 0, 0, 6, 0, 0, 5, 0])  # 3 demands in 10 weeks: ADI 3.33
    wild = np.array([0, 0, 1, 0, 0, 30, 0, 0, 2, 0])
    assert adi_cv2(steady)[0] == pytest.approx(10 / 3)
    assert demand_class(*adi_cv2(steady)) is DemandClass.INTERMITTENT
    assert demand_class(*adi_cv2(wild)) is DemandClass.LUMPY


def test_the_cut_off_values_belong_to_the_upper_classes() -> None:
    assert demand_class(ADI_CUTOFF - 1e-9, 0.0) is DemandClass.SMOOTH
    assert demand_class(ADI_CUTOFF, 0.0) is DemandClass.INTERMITTENT
    assert demand_class(1.0, CV2_CUTOFF - 1e-9) is DemandClass.SMOOTH
    assert demand_class(1.0, CV2_CUTOFF) is DemandClass.ERRATIC
    assert demand_class(ADI_CUTOFF, CV2_CUTOFF) is DemandClass.LUMPY


def test_adi_just_either_side_of_1_32_from_real_counts() -> None:
    # 100 weeks with 76 demands: ADI 1.3158 (< 1.32); with 75 demands: ADI 1.3333 (>= 1.32)
    below = np.r_[np.full(76, 4.0), np.zeros(24)]
    above = np.r_[np.full(75, 4.0), np.zeros(25)]
    assert demand_class(*adi_cv2(below)) is DemandClass.SMOOTH
    assert demand_class(*adi_cv2(above)) is DemandClass.INTERMITTENT


def test_no_demand_at_all_is_intermittent_with_infinite_adi() -> None:
    adi, cv2 = adi_cv2(np.zeros(12))
    assert math.isinf(adi) and cv2 == 0.0
    assert demand_class(adi, cv2) is DemandClass.INTERMITTENT


def test_classify_answers_one_row_per_series() -> None:
    frame = pd.DataFrame(
        {
            "unique_id": ["a"] * 4 + ["b"] * 4,
            "ds": list(pd.date_range("2025-01-06", periods=4, freq="W-MON")) * 2,
            "y": [5, 5, 6, 5, 0, 0, 9, 0],
        }
    )
    classes = classify(frame).set_index("unique_id")["demand_class"]
    assert classes.to_dict() == {"a": "smooth", "b": "intermittent"}
