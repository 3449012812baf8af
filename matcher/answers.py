"""What the carrier index answers, and what it accepts: batch answers as columns, query validation, and
the exact re-ordering of flagged answers (see :mod:`matcher.kernels`, "Exactness")."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from foundation.errors import InvalidInput
from matcher.kernel_types import FloatArray, IntArray
from matcher.model import Candidate, MatchQuery

_EMPTY_ROWS: IntArray = np.zeros(0, dtype=np.int64)


@dataclass
class BatchMatches:
    """Answers of a batch of queries as columns: query ``i`` owns entries ``offsets[i]:offsets[i + 1]``
    (best first) of ``rows`` (the carriers' index rows), ``distance_m``, ``score`` and ``carrier_ids``.
    What a batch consumer (assignment, dispatch desk) works on without per-candidate objects;
    :meth:`to_candidates` gives ``match``'s lists.

    ``carrier_ids`` is resolved from the rows on first use (touching 100k-carrier id strings at random
    costs more than the rest of a query's Python work); ``id_of_row`` is the index's row -> id list as it
    was when the batch ran (the index replaces that list instead of editing a row when a carrier leaves,
    so the resolution stays right however late it happens)."""

    offsets: IntArray
    rows: IntArray
    distance_m: FloatArray
    score: FloatArray
    id_of_row: list[str | None]
    _carrier_ids: list[str] | None = None

    @staticmethod
    def empty(n_queries: int) -> BatchMatches:
        """No candidate for any of ``n_queries`` queries."""
        return BatchMatches(np.zeros(n_queries + 1, dtype=np.int64), _EMPTY_ROWS, np.zeros(0), np.zeros(0), [])

    @property
    def carrier_ids(self) -> list[str]:
        """Carrier id of every entry (resolved once, on first use)."""
        if self._carrier_ids is None:
            self._carrier_ids = list(map(self.id_of_row.__getitem__, self.rows.tolist()))  # type: ignore[arg-type]
        return self._carrier_ids

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def ids(self, i: int) -> list[str]:
        """Carrier ids of query ``i``, best first."""
        return self.carrier_ids[int(self.offsets[i]) : int(self.offsets[i + 1])]

    def candidates(self, i: int) -> list[Candidate]:
        """Query ``i``'s answer as ``match`` gives it."""
        b, e = int(self.offsets[i]), int(self.offsets[i + 1])
        return [
            Candidate(c, d, s)
            for c, d, s in zip(
                self.carrier_ids[b:e], self.distance_m[b:e].tolist(), self.score[b:e].tolist(), strict=True
            )
        ]

    def to_candidates(self) -> list[list[Candidate]]:
        """Every query's answer as ``match`` gives it (one Candidate per entry: build only when needed)."""
        cands = list(map(Candidate, self.carrier_ids, self.distance_m.tolist(), self.score.tolist()))
        off = self.offsets.tolist()
        return [cands[b:e] for b, e in itertools.pairwise(off)]


def within(
    radius_m: float, rows: list[int], dists: list[float], scores: list[float]
) -> tuple[list[int], list[float], list[float]]:
    """The candidates whose exact distance is within the radius (a flagged answer may hold borderline ones)."""
    keep = [i for i, d in enumerate(dists) if d <= radius_m]
    if len(keep) == len(dists):
        return rows, dists, scores
    return [rows[i] for i in keep], [dists[i] for i in keep], [scores[i] for i in keep]


def exact_order(
    query: MatchQuery, ids: list[str | None], rows: list[int], dists: list[float], scores: list[float]
) -> list[int]:
    """Positions of the best ``query.limit`` candidates by (exact key, carrier id): the answer's order."""
    key = dists if query.rank_by == "distance" else scores
    return sorted(range(len(rows)), key=lambda i: (key[i], str(ids[rows[i]])))[: query.limit]


def _check_latlng(lat: float, lng: float, what: str) -> None:
    if not (math.isfinite(lat) and math.isfinite(lng) and -90.0 <= lat <= 90.0 and -180.0 <= lng <= 180.0):
        raise InvalidInput(f"{what} must have lat in [-90, 90] and lng in [-180, 180], got ({lat}, {lng})")


def validate_query(query: MatchQuery) -> None:
    """Raise :class:`InvalidInput` for a query no carrier could answer sensibly."""
    _check_latlng(query.pickup_lat, query.pickup_lng, "pickup")
    _check_latlng(query.dropoff_lat, query.dropoff_lng, "dropoff")
    if not (math.isfinite(query.radius_m) and 0.0 <= query.radius_m <= 1_000_000.0):
        raise InvalidInput(f"radius_m must be between 0 and 1,000,000 metres, got {query.radius_m}")
    if not (math.isfinite(query.weight_kg) and query.weight_kg >= 0):
        raise InvalidInput(f"weight_kg must be a non-negative number, got {query.weight_kg}")
    if not (math.isfinite(query.volume_m3) and query.volume_m3 >= 0):
        raise InvalidInput(f"volume_m3 must be a non-negative number, got {query.volume_m3}")
    if query.limit < 1:
        raise InvalidInput(f"limit must be at least 1, got {query.limit}")
    if query.rank_by not in ("score", "distance"):
        raise InvalidInput(f"rank_by must be 'score' or 'distance', got {query.rank_by!r}")


__all__ = ["BatchMatches", "exact_order", "validate_query", "within"]
