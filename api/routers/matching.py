"""Carrier matching: POST /v1/match (best carriers for one shipment) and /v1/match/batch (many at once).

Radius semantics: by default only carriers within ``radius_m`` (default 3000) are returned, as the
contract defines eligibility; an empty list is a 200. With ``"fallback": true`` the service widens
through ``settings.match_fallback_steps_m`` (those larger than ``radius_m``) and answers 404
``no_carrier_in_range`` when nobody is eligible even at the widest; ``radius_m`` in the answer is the
radius actually used.
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends

from api.auth import require_roles
from api.container import Container
from api.deps import get_container
from api.metrics import MATCH_LATENCY
from api.schemas.matching import AssignmentOut, BatchIn, BatchOut, CandidateOut, MatchIn, MatchOut
from api.tokens import Principal
from geo.crs import to_wgs84
from geo.distance import haversine_m
from matcher.model import Candidate, MatchQuery

router = APIRouter(prefix="/v1/match", tags=["matching"])
matchers = require_roles("dispatcher")


def to_query(body: MatchIn) -> MatchQuery:
    """The request as the matcher's query, in WGS-84."""
    pickup = to_wgs84(body.pickup.lat, body.pickup.lng, body.crs)
    dropoff = to_wgs84(body.dropoff.lat, body.dropoff.lng, body.crs)
    return MatchQuery(
        pickup_lat=pickup[0],
        pickup_lng=pickup[1],
        dropoff_lat=dropoff[0],
        dropoff_lng=dropoff[1],
        weight_kg=body.weight_kg,
        volume_m3=body.volume_m3,
        vehicle_type=body.vehicle_type,
        radius_m=body.radius_m,
        limit=body.limit,
        rank_by=body.rank_by,
        explain=body.explain,
    )


def _candidate_out(candidate: Candidate, explain: bool) -> CandidateOut:
    return CandidateOut(
        carrier_id=candidate.carrier_id,
        distance_m=candidate.distance_m,
        score=candidate.score,
        terms=candidate.terms if explain else None,
    )


@router.post("", response_model=MatchOut, response_model_exclude_none=True)
def match(body: MatchIn, container: Container = Depends(get_container), _: Principal = Depends(matchers)) -> MatchOut:
    """Eligible carriers best first (by score or by distance to the pickup)."""
    query = to_query(body)
    started = time.perf_counter()
    if body.fallback:
        candidates, radius_m = container.carriers.match_widening(query, container.settings.match_fallback_steps_m)
    else:
        candidates, radius_m = container.carriers.match(query), body.radius_m
    MATCH_LATENCY.observe(time.perf_counter() - started)
    return MatchOut(candidates=[_candidate_out(c, body.explain) for c in candidates], radius_m=radius_m)


@router.post("/batch", response_model=BatchOut)
def match_batch(
    body: BatchIn, container: Container = Depends(get_container), _: Principal = Depends(matchers)
) -> BatchOut:
    """Assign many shipments at once, minimising total cost, each carrier taking at most N of them."""
    queries = [to_query(shipment) for shipment in body.shipments]
    started = time.perf_counter()
    result = container.carriers.match_batch(queries, per_carrier_capacity=body.per_carrier_capacity)
    MATCH_LATENCY.observe(time.perf_counter() - started)
    assignments = []
    for i, query in enumerate(queries):
        carrier_id = result.assignments.get(i)
        distance_m = None
        if carrier_id is not None:
            position = container.carriers.position_of(carrier_id)
            if position is not None:
                distance_m = haversine_m(position[0], position[1], query.pickup_lat, query.pickup_lng)
        assignments.append(AssignmentOut(index=i, carrier_id=carrier_id, distance_m=distance_m))
    return BatchOut(assignments=assignments, unserved=sorted(result.unserved), total_cost=result.total_cost)
