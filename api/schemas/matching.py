"""Request and response bodies for carrier matching (single and batch)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.carriers import Crs
from api.schemas.master_data import LatLng


class MatchIn(BaseModel):
    """POST /v1/match per the contract, plus ``explain``, ``crs`` and opt-in radius widening."""

    pickup: LatLng
    dropoff: LatLng
    weight_kg: float = Field(ge=0, allow_inf_nan=False)
    volume_m3: float = Field(ge=0, allow_inf_nan=False)
    vehicle_type: str | None = Field(default=None, min_length=1, max_length=32)
    radius_m: float = Field(default=3000.0, gt=0, le=500_000, allow_inf_nan=False)
    limit: int = Field(default=5, ge=1, le=100)
    rank_by: Literal["score", "distance"] = "score"
    explain: bool = Field(default=False, description="return each carrier's weighted score terms")
    crs: Crs | None = Field(default=None, description="coordinate system of pickup/dropoff; default wgs84")
    fallback: bool = Field(
        default=False,
        description=(
            "when nobody is eligible within radius_m, widen through the service's fallback radii "
            "(answers 404 no_carrier_in_range if nobody is found at the widest); radius_m in the answer "
            "is the radius actually used"
        ),
    )


class CandidateOut(BaseModel):
    """One eligible carrier; ``candidates`` come best first."""

    carrier_id: str
    distance_m: float = Field(description="great-circle distance carrier -> pickup, metres")
    score: float = Field(
        description="the service's best-carrier score, a weighted cost: LOWER IS BETTER (rank_by=score lists"
        " candidates by ascending score). With the default weights (matcher.model.ScoreWeights): 1 per km to"
        " the pickup + 0.1 per unit of the trip's price (base_fare + rate_per_km * trip km) + 10 * (1 -"
        " on_time_rate) + 0.5 per job on board + 1 per rating point below 5"
    )
    terms: dict[str, float] | None = Field(
        default=None, description="with explain=true: each weighted term of score (they add up to it)"
    )


class MatchOut(BaseModel):
    candidates: list[CandidateOut]
    radius_m: float


class BatchIn(BaseModel):
    shipments: list[MatchIn] = Field(min_length=1, max_length=2_000)
    per_carrier_capacity: int = Field(default=1, ge=1, le=100)


class AssignmentOut(BaseModel):
    index: int
    carrier_id: str | None
    distance_m: float | None


class BatchOut(BaseModel):
    assignments: list[AssignmentOut]
    unserved: list[int]
    total_cost: float
