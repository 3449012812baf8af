"""Percentiles with a bounded relative error from counts per logarithmic bucket (the DDSketch mapping).

A value ``x`` is kept only as the integer key of its bucket; buckets grow geometrically by ``gamma =
(1 + alpha) / (1 - alpha)``, so every value of a bucket lies within ``alpha`` (relative) of the bucket's
representative value. Counts per key add up across days, shards or processes (merging is addition), which is
what lets a database keep them as a pre-aggregate and answer a percentile over any set of days without
reading the values again.

* Key 0 holds ``|x| <= min_value`` (its representative is 0); positive values get keys >= 1 and negative
  values the mirrored negative keys, so keys sort exactly as their values do.
* ``percentile`` interpolates linearly between the two nearest ranks (as PostgreSQL's ``percentile_cont`` and
  ``orders_core.analytics.stats.percentile``), using each rank's representative value; since each lies within
  ``alpha`` of the true value and the interpolation weights are non-negative, the result lies within ``alpha``
  of the exact interpolated percentile (plus ``min_value`` absolute for values near zero).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LogBuckets:
    """The key <-> value mapping of a sketch with relative accuracy ``alpha``."""

    alpha: float
    min_value: float

    @property
    def gamma(self) -> float:
        return (1 + self.alpha) / (1 - self.alpha)

    def key(self, value: float) -> int:
        """The bucket key of one value."""
        magnitude = abs(value)
        if magnitude <= self.min_value:
            return 0
        key = max(1, math.ceil(math.log(magnitude / self.min_value) / math.log(self.gamma)))
        return key if value > 0 else -key

    def keys(self, values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """``key`` of every value of a float array (NaN values must be dropped first)."""
        magnitude = np.abs(values)
        with np.errstate(divide="ignore"):
            raw = np.ceil(np.log(np.maximum(magnitude, self.min_value) / self.min_value) / math.log(self.gamma))
        keys = np.where(magnitude <= self.min_value, 0, np.maximum(raw, 1)).astype(np.int64)
        return np.where(values < 0, -keys, keys)

    def value(self, key: int) -> float:
        """The representative value of a bucket: within ``alpha`` of every value the bucket holds."""
        if key == 0:
            return 0.0
        upper = self.min_value * self.gamma ** abs(key)
        representative = 2 * upper / (self.gamma + 1)
        return representative if key > 0 else -representative

    def percentile(self, counts: Mapping[int, int], p: float) -> float | None:
        """The ``p`` quantile (0..1) of the values counted per key; None when nothing is counted."""
        ordered = sorted((key, count) for key, count in counts.items() if count > 0)
        total = sum(count for _, count in ordered)
        if total == 0:
            return None
        position = p * (total - 1)
        low_rank = int(position)
        high_rank = min(low_rank + 1, total - 1)
        low = self._value_at_rank(ordered, low_rank)
        high = self._value_at_rank(ordered, high_rank)
        return low + (high - low) * (position - low_rank)

    def _value_at_rank(self, ordered: list[tuple[int, int]], rank: int) -> float:
        seen = 0
        for key, count in ordered:
            seen += count
            if rank < seen:
                return self.value(key)
        raise ValueError(f"rank {rank} is beyond {seen} counted values")
