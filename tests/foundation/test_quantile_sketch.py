"""The log-bucket sketch keeps every value within alpha of its bucket's value, orders keys as values, and its
interpolated percentiles stay within the bound its docstring proves, against exact percentiles of the same
values (computed here by sorting, not by the sketch)."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from foundation.quantile_sketch import LogBuckets

SKETCH = LogBuckets(alpha=0.02, min_value=0.001)


def _values(seed: int, count: int) -> list[float]:
    rng = random.Random(seed)
    values = [rng.lognormvariate(8, 2) for _ in range(count)]  # seconds to weeks
    values += [0.0, 0.0005, -0.0005, -3.5, -7200.0, 1e-9, 1e9]
    return values


def test_every_value_lies_within_alpha_of_its_buckets_value() -> None:
    for value in _values(1, 5000):
        represented = SKETCH.value(SKETCH.key(value))
        if abs(value) <= SKETCH.min_value:
            assert represented == 0.0
        else:
            assert abs(represented - value) <= SKETCH.alpha * abs(value) * (1 + 1e-12)


def test_keys_sort_as_their_values_and_the_vectorised_keys_are_the_same() -> None:
    values = sorted(_values(2, 5000))
    keys = [SKETCH.key(v) for v in values]
    assert keys == sorted(keys)
    assert SKETCH.keys(np.array(values)).tolist() == keys
    assert SKETCH.key(-5.0) == -SKETCH.key(5.0) < 0 < SKETCH.key(5.0)


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 0.9, 0.99, 1.0])
def test_percentiles_stay_within_the_bound_of_the_exact_interpolation(p: float) -> None:
    for seed in range(5):
        values = sorted(_values(10 + seed, random.Random(seed).randrange(1, 3000)))
        counts = Counter(SKETCH.key(v) for v in values)
        position = p * (len(values) - 1)
        low, high = values[int(position)], values[min(int(position) + 1, len(values) - 1)]
        exact = low + (high - low) * (position - int(position))
        got = SKETCH.percentile(counts, p)
        assert got is not None
        assert abs(got - exact) <= SKETCH.alpha * max(abs(low), abs(high)) + SKETCH.min_value


def test_merged_counts_answer_as_the_union_and_nothing_counted_answers_none() -> None:
    first, second = _values(3, 400), _values(4, 700)
    merged = Counter(SKETCH.key(v) for v in first) + Counter(SKETCH.key(v) for v in second)
    union = Counter(SKETCH.key(v) for v in first + second)
    assert SKETCH.percentile(merged, 0.9) == SKETCH.percentile(union, 0.9)
    assert SKETCH.percentile(Counter(), 0.5) is None
    assert SKETCH.percentile({5: 0}, 0.5) is None
