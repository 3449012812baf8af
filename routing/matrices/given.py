"""A caller's own travel matrix (the contract's ``matrix``), used exactly as given once it is checked.

This is how a road-network or traffic-aware matrix from elsewhere replaces the default model without
code changes (as VROOM accepts custom matrices). Entries are trusted, not corrected: only the shape and
the values' sanity are checked (square, one row per location, finite, non-negative; zeros allowed).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from routing.matrices.errors import InvalidMatrix
from routing.model import FloatMatrix, Point, TravelMatrix


def _checked(name: str, rows: npt.ArrayLike, size: int, labels: Sequence[str] | None) -> FloatMatrix:
    try:
        array = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidMatrix(f"matrix.{name} must be a list of {size} rows of {size} numbers", labels=labels) from None
    if array.ndim != 2 or array.shape[0] != size or array.shape[1] != size:
        shape = " x ".join(str(d) for d in array.shape) if array.ndim == 2 else f"{array.ndim}-dimensional"
        raise InvalidMatrix(
            f"matrix.{name} is {shape}; the plan has {size} locations (the depot and {size - 1} stops), "
            f"so it must be {size} x {size}",
            labels=labels,
        )
    bad = ~np.isfinite(array) | (array < 0.0)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        raise InvalidMatrix(
            f"travel must be a finite non-negative number, got {array[row, col]}", (name, row, col), labels
        )
    return array


def given_matrix(
    durations_s: npt.ArrayLike, distances_m: npt.ArrayLike, size: int, labels: Sequence[str] | None = None
) -> TravelMatrix:
    """The caller's matrices for ``size`` locations (depot first), or :class:`InvalidMatrix` naming the cell."""
    return TravelMatrix(
        durations_s=_checked("durations_s", durations_s, size, labels),
        distances_m=_checked("distances_m", distances_m, size, labels),
    )


class GivenMatrixProvider:
    """A :class:`~routing.model.MatrixProvider` that answers the caller's matrix for exactly its locations."""

    def __init__(self, durations_s: npt.ArrayLike, distances_m: npt.ArrayLike) -> None:
        self.durations_s = durations_s
        self.distances_m = distances_m

    def matrix(self, points: Sequence[Point]) -> TravelMatrix:
        """The given matrix, checked against the number of ``points``."""
        return given_matrix(self.durations_s, self.distances_m, len(points))
