"""Small routing problems on a line or a plane, with the matrix computed from coordinates."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import numpy as np

from routing.model import Point, RoutingProblem, Stop, TravelMatrix, Vehicle


def euclidean(points: Sequence[tuple[float, float]]) -> TravelMatrix:
    """Distance = duration = straight-line distance between the points (depot first)."""
    xy = np.asarray(points, dtype=np.float64)
    matrix = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=-1))
    return TravelMatrix(durations_s=matrix, distances_m=matrix.copy())


def problem(
    depot: tuple[float, float],
    stops: Sequence[tuple[tuple[float, float], Stop]],
    vehicles: Sequence[Vehicle],
) -> RoutingProblem:
    """A problem whose stops sit at the given plane coordinates (the stops' own ``location`` is ignored)."""
    matrix = euclidean([depot, *(xy for xy, _stop in stops)])
    return RoutingProblem(Point(0.0, 0.0), tuple(vehicles), tuple(stop for _xy, stop in stops), matrix)


def stop(stop_id: str, kg: float = 1.0, **kwargs: Any) -> Stop:
    return Stop(stop_id, Point(0.0, 0.0), kg, **kwargs)


def random_problem(seed: int, n: int = 20, fleet: int = 4) -> RoutingProblem:
    """Random stops with windows, weights, volumes, services, shift ends and a few allowed-vehicle sets.

    Each stop is serviceable alone (windows close after 80, the depot is at most 71 away, shifts end
    at 600 or never), so ``validate`` accepts them; whether they all fit is up to the solver.
    """
    rng = random.Random(seed)
    vehicles = [
        Vehicle(
            f"v{k}",
            capacity_kg=rng.choice([60.0, 90.0]),
            capacity_m3=rng.choice([None, 3.0]),
            shift_end_s=rng.choice([None, 600.0]),
        )
        for k in range(fleet)
    ]
    stops = []
    for k in range(n):
        xy = (rng.uniform(0, 100), rng.uniform(0, 100))
        earliest = rng.uniform(0, 200)
        window = (earliest, max(80.0, earliest + rng.uniform(20, 150))) if rng.random() < 0.7 else None
        allowed = frozenset(rng.sample([v.id for v in vehicles], 2)) if rng.random() < 0.2 else None
        stops.append(
            (
                xy,
                stop(
                    f"s{k}",
                    kg=rng.uniform(1, 25),
                    volume_m3=rng.uniform(0, 0.8),
                    service_s=rng.uniform(0, 10),
                    window=window,
                    allowed_vehicles=allowed,
                ),
            )
        )
    return problem((50.0, 50.0), stops, vehicles)
