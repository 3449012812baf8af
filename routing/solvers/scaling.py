"""From the problem's floats to the integers solvers work on, rounded so integer-feasible means feasible.

Travel, service, demands and earliest starts are rounded up; latest starts, shift ends and capacities
down. The scale is the finest power of ten (up to 10^4, i.e. 0.0001 s on Solomon's 0.01-sensitive
windows) that keeps the horizon and the longest possible plan below ``MAX_SCALED``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from routing.model import FloatMatrix, RoutingProblem

# Integers a solver sees stay below this, leaving room for sums of penalties in int64.
MAX_SCALED = 2**40


@dataclass(frozen=True)
class Scaling:
    """Factors from the problem's floats to a solver's integers (powers of ten, as fine as the range allows)."""

    time: float
    distance: float
    load: float = 1000.0

    @classmethod
    def of(cls, problem: RoutingProblem) -> Scaling:
        return cls(time=power_of_ten(time_horizon(problem)), distance=power_of_ten(distance_bound(problem)))


def power_of_ten(bound: float, finest: float = 10_000.0) -> float:
    """The largest power of ten up to ``finest`` that keeps ``bound`` below ``MAX_SCALED``."""
    scale = finest
    while scale > 1e-6 and bound * scale >= MAX_SCALED:
        scale /= 10
    return scale


def finite(matrix: FloatMatrix) -> FloatMatrix:
    return np.where(np.isfinite(matrix), matrix, 0.0)


def time_horizon(problem: RoutingProblem) -> float:
    """A time no useful schedule reaches: the latest deadline plus a way back, or every leg and service."""
    durations = finite(problem.matrix.durations_s)
    legs = float(durations.max(initial=0.0))
    services = sum(stop.service_s for stop in problem.stops)
    ends = [v.shift_end_s for v in problem.vehicles if v.shift_end_s is not None]
    if len(ends) == len(problem.vehicles):
        return max(ends) + 1.0
    latest = [
        stop.window[1] + stop.service_s for stop in problem.stops if stop.window and math.isfinite(stop.window[1])
    ]
    every_leg = float(durations.max(axis=1, initial=0.0).sum()) + services
    return max([*ends, *latest, every_leg]) + legs + 1.0


def distance_bound(problem: RoutingProblem) -> float:
    """No route plan drives further than the longest way out of every location (an upper bound)."""
    return float(finite(problem.matrix.distances_m).max(axis=1, initial=0.0).sum()) + 1.0


def up(value: float, scale: float) -> int:
    return math.ceil(value * scale - 1e-6)


def down(value: float, scale: float) -> int:
    return math.floor(value * scale + 1e-6)
