"""Plain data of the matcher: carrier profiles, queries, candidates, score weights, batch results.

Score (lower is better; candidates are returned best first, i.e. by ascending score):

    score = distance_per_km * pickup_km                 # how far the carrier must drive to the pickup
          + price             * (base_fare + rate_per_km * trip_km)   # what the trip costs
          + lateness          * (1 - on_time_rate)       # share of late deliveries
          + load_per_job      * current_load             # jobs already on board
          + rating_gap        * (5 - rating)             # distance from a perfect rating

``pickup_km`` is the haversine distance carrier -> pickup, ``trip_km`` the haversine distance
pickup -> dropoff. With ``explain=True`` each term (already weighted) is returned in ``Candidate.terms``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from shapely.geometry import MultiPolygon, Polygon

RankBy = Literal["score", "distance"]


@dataclass(frozen=True)
class CarrierProfile:
    """The master data of one carrier the matcher needs (its position arrives separately)."""

    carrier_id: str
    vehicle_type: str
    capacity_kg: float
    capacity_m3: float
    coverage: Polygon | MultiPolygon | None
    active: bool = True
    rate_per_km: float = 1.0
    base_fare: float = 0.0
    on_time_rate: float = 0.95
    rating: float = 4.5
    current_load: int = 0


@dataclass(frozen=True)
class MatchQuery:
    """One pickup -> dropoff job to find carriers for."""

    pickup_lat: float
    pickup_lng: float
    dropoff_lat: float
    dropoff_lng: float
    weight_kg: float
    volume_m3: float
    vehicle_type: str | None = None
    radius_m: float = 3000.0
    limit: int = 5
    rank_by: RankBy = "score"
    explain: bool = False


@dataclass(slots=True)
class Candidate:
    """An eligible carrier with its great-circle distance to the pickup and its score (lower is better).

    Slotted and not frozen: the matcher makes one per answer line on its hottest path, and a frozen
    dataclass's ``__init__`` costs about twice as much. Nothing keeps or hashes a Candidate."""

    carrier_id: str
    distance_m: float
    score: float
    terms: dict[str, float] | None = None


@dataclass(frozen=True)
class ScoreWeights:
    """Weights of the score terms (see the module docstring); all in score units per unit of the term."""

    distance_per_km: float = 1.0
    price: float = 0.1
    lateness: float = 10.0
    load_per_job: float = 0.5
    rating_gap: float = 1.0


@dataclass
class BatchResult:
    """Assignment of many queries at once: query index -> carrier id, the unserved query indexes, total cost,
    and (when radii widen, :func:`matcher.batch.assign_widening`) the radius each assigned query was served at."""

    assignments: dict[int, str] = field(default_factory=dict)
    unserved: list[int] = field(default_factory=list)
    total_cost: float = 0.0
    radius_m: dict[int, float] = field(default_factory=dict)
