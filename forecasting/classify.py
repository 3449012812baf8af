"""Demand classes by the Syntetos-Boylan scheme: ADI (average inter-demand interval) against 1.32 and CV²
(squared coefficient of variation of the non-zero demand sizes) against 0.49.

|              | CV² < 0.49   | CV² >= 0.49 |
| ADI < 1.32   | smooth       | erratic     |
| ADI >= 1.32  | intermittent | lumpy       |

Why: smooth and erratic series are forecast with seasonal models, intermittent and lumpy ones with
Croston-type models that forecast size and interval apart. ADI is the number of periods divided by the
number of periods with demand (a series with demand every period has ADI 1). A series with no demand at
all has an infinite ADI and CV² 0: intermittent (its forecasts are zero). A cut-off value itself belongs to
the upper class (ADI = 1.32 is intermittent, CV² = 0.49 is erratic).
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import pandas as pd

ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49


class DemandClass(StrEnum):
    """A series' demand pattern."""

    SMOOTH = "smooth"
    ERRATIC = "erratic"
    INTERMITTENT = "intermittent"
    LUMPY = "lumpy"

    @property
    def is_intermittent(self) -> bool:
        """Intermittent and lumpy series: demand in fewer than 1 of 1.32 periods."""
        return self in (DemandClass.INTERMITTENT, DemandClass.LUMPY)


def adi_cv2(y: np.ndarray) -> tuple[float, float]:
    """ADI and CV² of one series (``inf`` and 0 when it has no demand; CV² 0 with one non-zero period)."""
    values = np.asarray(y, dtype=float)
    nonzero = values[values > 0]
    if nonzero.size == 0:
        return float("inf"), 0.0
    adi = values.size / nonzero.size
    cv2 = float(nonzero.var() / nonzero.mean() ** 2) if nonzero.size > 1 else 0.0
    return float(adi), cv2


def demand_class(adi: float, cv2: float) -> DemandClass:
    """The class of an (ADI, CV²) pair by the cut-offs above."""
    if adi < ADI_CUTOFF:
        return DemandClass.SMOOTH if cv2 < CV2_CUTOFF else DemandClass.ERRATIC
    return DemandClass.INTERMITTENT if cv2 < CV2_CUTOFF else DemandClass.LUMPY


def classify(history: pd.DataFrame) -> pd.DataFrame:
    """Per ``unique_id`` of a long frame (``unique_id``, ``ds``, ``y``): ``adi``, ``cv2`` and ``demand_class``."""
    rows = []
    for unique_id, group in history.groupby("unique_id", sort=True):
        adi, cv2 = adi_cv2(group["y"].to_numpy())
        rows.append((unique_id, adi, cv2, demand_class(adi, cv2).value))
    return pd.DataFrame(rows, columns=["unique_id", "adi", "cv2", "demand_class"])
