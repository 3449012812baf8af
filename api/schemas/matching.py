"""Request and response bodies for carrier matching (single and batch)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from api.schemas.carriers import Crs
from api.schemas.master_data import ID_PATTERN, LatLng


class MatchIn(BaseModel):
    """POST /v1/match per the contract, plus ``explain``, ``crs``, opt-in radius widening, and jobs by id.

    Either give ``pickup``, ``dropoff``, ``weight_kg`` and ``volume_m3``, or name an ``order_id`` or a
    ``shipment_id`` and the service derives them (a field given as well overrides the derived one)."""

    id: str | None = Field(
        default=None, max_length=64, description="the caller's reference of this job, echoed in batch answers"
    )
    order_id: str | None = Field(
        default=None,
        max_length=64,
        pattern=ID_PATTERN,
        description=(
            "match this order: through its only shipment, or before allocation from the warehouse nearest its"
            " delivery point that can supply it (422 ambiguous_order when it ships from several warehouses)"
        ),
    )
    shipment_id: str | None = Field(
        default=None,
        max_length=64,
        pattern=ID_PATTERN,
        description="match this shipment: pickup its warehouse, drop-off its order's delivery point, its load",
    )
    pickup: LatLng | None = None
    dropoff: LatLng | None = None
    weight_kg: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    volume_m3: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    vehicle_type: str | None = Field(
        default=None, min_length=1, max_length=32, description="one of the fleet's vehicle types (422 otherwise)"
    )
    radius_m: float = Field(default=3000.0, gt=0, le=500_000, allow_inf_nan=False)
    limit: int = Field(default=5, ge=1, le=100)
    rank_by: Literal["score", "distance"] = Field(
        default="score", description="'score' (lower is better) or 'distance' to the pickup"
    )
    explain: bool = Field(
        default=False,
        description="return each carrier's weighted score terms and the explanation (an empty answer always has it)",
    )
    crs: Crs | None = Field(default=None, description="coordinate system of pickup/dropoff; default wgs84")
    fallback: bool = Field(
        default=False,
        description=(
            "when nobody is eligible within radius_m, widen through the service's fallback radii "
            "(answers 404 no_carrier_in_range if nobody is found at the widest); radius_m in the answer "
            "is the radius actually used"
        ),
    )

    @model_validator(mode="after")
    def _job_known(self) -> MatchIn:
        if self.order_id is None and self.shipment_id is None:
            missing = [name for name in ("pickup", "dropoff", "weight_kg", "volume_m3") if getattr(self, name) is None]
            if missing:
                raise ValueError(f"give {', '.join(missing)}, or an order_id or shipment_id to derive them from")
        return self

    @property
    def by_reference(self) -> bool:
        """The job names an order or a shipment (the service derives what is not given)."""
        return self.order_id is not None or self.shipment_id is not None


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


class StaleCarrierOut(BaseModel):
    carrier_id: str
    distance_m: float
    position_age_s: float


class ExplanationOut(BaseModel):
    """Why carriers were left out: each known carrier counted once, under the first check it fails."""

    carriers: int = Field(description="carriers known to the matcher")
    eligible: int = Field(description="carriers eligible at radius_m (the answer holds at most limit of them)")
    excluded: dict[str, int] = Field(
        description=(
            "carriers left out per reason, checked in this order: inactive, no_position, out_of_radius,"
            " vehicle_type, capacity, coverage, stale_position (would be eligible with a fresh position)"
        )
    )
    radius_m: float
    max_position_age_s: float | None = Field(description="positions older than this are stale (null: no limit)")
    stale_nearer: list[StaleCarrierOut] = Field(
        description="carriers skipped as stale that are nearer the pickup than the best answer, nearest first"
    )
    message: str


class JobOut(BaseModel):
    """What the service derived from ``order_id`` / ``shipment_id`` (and matched)."""

    order_id: str
    shipment_id: str | None
    warehouse_id: str
    pickup_source: str = Field(description="'shipment' or 'nearest_stocking_warehouse' (order not yet allocated)")
    pickup: LatLng
    dropoff: LatLng
    weight_kg: float
    volume_m3: float


class MatchOut(BaseModel):
    candidates: list[CandidateOut]
    radius_m: float
    job: JobOut | None = None
    explanation: ExplanationOut | None = None


class BatchIn(BaseModel):
    shipments: list[MatchIn] = Field(min_length=1, max_length=2_000)
    per_carrier_capacity: int = Field(default=1, ge=1, le=100)


class AssignmentOut(BaseModel):
    index: int
    id: str | None = Field(default=None, description="the job's id: its id, else its shipment_id, else its order_id")
    order_id: str | None = None
    shipment_id: str | None = None
    carrier_id: str | None
    distance_m: float | None
    radius_m: float | None = Field(default=None, description="the radius the carrier was found at")
    explanation: ExplanationOut | None = Field(default=None, description="why nobody was assigned (unserved jobs)")


class BatchOut(BaseModel):
    assignments: list[AssignmentOut]
    unserved: list[int]
    unserved_ids: list[str | None] = Field(default_factory=list, description="the ids of the unserved jobs")
    total_cost: float
