"""Carrier matching: POST /v1/match (best carriers for one shipment) and /v1/match/batch (many at once).

Radius semantics: by default only carriers within ``radius_m`` (default 3000) are returned, as the
contract defines eligibility; an empty list is a 200 with an ``explanation`` (carriers left out per
reason), as is an answer where a nearer carrier was skipped only for its stale position. With
``"fallback": true`` the service widens through ``settings.match_fallback_steps_m`` (those larger than
``radius_m``) and answers 404 ``no_carrier_in_range`` (with the explanation in its details) when nobody
is eligible even at the widest; ``radius_m`` in the answer is the radius actually used.
A job may name an ``order_id`` or ``shipment_id`` instead of coordinates and load
(``orders_core.transport.match_jobs`` derives them); fields given as well override the derived ones.
"""

from __future__ import annotations

import time
from dataclasses import asdict

from fastapi import APIRouter, Depends

from api.auth import require_roles
from api.container import Container
from api.deps import get_container
from api.metrics import MATCH_LATENCY
from api.schemas.master_data import LatLng
from api.schemas.matching import (
    AssignmentOut,
    BatchIn,
    BatchOut,
    CandidateOut,
    ExplanationOut,
    JobOut,
    MatchIn,
    MatchOut,
)
from api.tokens import Principal
from geo.crs import to_wgs84
from geo.distance import haversine_m
from matcher.explain import MatchExplanation, describe_explanation
from matcher.model import Candidate, MatchQuery
from orders_core.transport.match_jobs import JobRef, MatchJob, match_jobs

router = APIRouter(prefix="/v1/match", tags=["matching"])
matchers = require_roles("dispatcher")


def to_query(body: MatchIn, job: MatchJob | None = None) -> MatchQuery:
    """The request as the matcher's query, in WGS-84; what the body leaves out comes from ``job``."""
    if body.pickup is not None:
        pickup = to_wgs84(body.pickup.lat, body.pickup.lng, body.crs)
    else:
        assert job is not None  # MatchIn refuses a body with neither
        pickup = (job.pickup_lat, job.pickup_lng)
    if body.dropoff is not None:
        dropoff = to_wgs84(body.dropoff.lat, body.dropoff.lng, body.crs)
    else:
        assert job is not None
        dropoff = (job.dropoff_lat, job.dropoff_lng)
    weight_kg = body.weight_kg if body.weight_kg is not None else job.weight_kg if job else 0.0
    volume_m3 = body.volume_m3 if body.volume_m3 is not None else job.volume_m3 if job else 0.0
    return MatchQuery(
        pickup_lat=pickup[0],
        pickup_lng=pickup[1],
        dropoff_lat=dropoff[0],
        dropoff_lng=dropoff[1],
        weight_kg=weight_kg,
        volume_m3=volume_m3,
        vehicle_type=body.vehicle_type,
        radius_m=body.radius_m,
        limit=body.limit,
        rank_by=body.rank_by,
        explain=body.explain,
    )


def _jobs(bodies: list[MatchIn], container: Container) -> list[MatchJob | None]:
    """The derived job of each body that names an order or shipment (one read for all of them)."""
    refs = [JobRef(b.order_id, b.shipment_id) for b in bodies if b.by_reference]
    derived = iter(match_jobs(container.uow, container.stock, refs) if refs else [])
    return [next(derived) if b.by_reference else None for b in bodies]


def _job_out(job: MatchJob | None, query: MatchQuery) -> JobOut | None:
    if job is None:
        return None
    return JobOut(
        order_id=job.order_id,
        shipment_id=job.shipment_id,
        warehouse_id=job.warehouse_id,
        pickup_source=job.pickup_source,
        pickup=LatLng(lat=query.pickup_lat, lng=query.pickup_lng),
        dropoff=LatLng(lat=query.dropoff_lat, lng=query.dropoff_lng),
        weight_kg=query.weight_kg,
        volume_m3=query.volume_m3,
    )


def explanation_out(explanation: MatchExplanation, note: str | None = None) -> ExplanationOut:
    """API form of an explanation; ``note`` is added to its message."""
    message = describe_explanation(explanation)
    return ExplanationOut(**asdict(explanation), message=message if note is None else f"{message}; {note}")


def _candidate_out(candidate: Candidate, explain: bool) -> CandidateOut:
    return CandidateOut(
        carrier_id=candidate.carrier_id,
        distance_m=candidate.distance_m,
        score=candidate.score,
        terms=candidate.terms if explain else None,
    )


@router.post("", response_model=MatchOut, response_model_exclude_none=True)
def match(body: MatchIn, container: Container = Depends(get_container), _: Principal = Depends(matchers)) -> MatchOut:
    """Eligible carriers best first (by score or by distance to the pickup); an empty answer says why."""
    container.carriers.check_vehicle_type(body.vehicle_type)
    job = _jobs([body], container)[0]
    query = to_query(body, job)
    started = time.perf_counter()
    if body.fallback:
        candidates, radius_m = container.carriers.match_widening(query, container.settings.match_fallback_steps_m)
    else:
        candidates, radius_m = container.carriers.match(query), body.radius_m
    MATCH_LATENCY.observe(time.perf_counter() - started)
    explanation = None
    nearest = min((c.distance_m for c in candidates), default=None)
    widest = MatchQuery(**{**asdict(query), "radius_m": radius_m})
    if not candidates or body.explain or container.carriers.stale_carrier_nearer(widest, nearest):
        explanation = explanation_out(container.carriers.explain(widest, nearest_answer_m=nearest))
    return MatchOut(
        candidates=[_candidate_out(c, body.explain) for c in candidates],
        radius_m=radius_m,
        job=_job_out(job, query),
        explanation=explanation,
    )


@router.post("/batch", response_model=BatchOut)
def match_batch(
    body: BatchIn, container: Container = Depends(get_container), _: Principal = Depends(matchers)
) -> BatchOut:
    """Assign many jobs at once, minimising total cost, each carrier taking at most N of them; a job with
    ``fallback`` widens through the fallback radii when nobody is left for it at its own radius."""
    for shipment in body.shipments:
        container.carriers.check_vehicle_type(shipment.vehicle_type)
    jobs = _jobs(body.shipments, container)
    queries = [to_query(shipment, job) for shipment, job in zip(body.shipments, jobs, strict=True)]
    steps = container.settings.match_fallback_steps_m
    radii = [
        [q.radius_m, *sorted(r for r in steps if r > q.radius_m)] if b.fallback else [q.radius_m]
        for q, b in zip(queries, body.shipments, strict=True)
    ]
    started = time.perf_counter()
    result = container.carriers.match_batch_widening(queries, radii, per_carrier_capacity=body.per_carrier_capacity)
    MATCH_LATENCY.observe(time.perf_counter() - started)
    assignments = []
    for i, (query, shipment) in enumerate(zip(queries, body.shipments, strict=True)):
        carrier_id = result.assignments.get(i)
        distance_m = None
        explanation = None
        if carrier_id is not None:
            position = container.carriers.position_of(carrier_id)
            if position is not None:
                distance_m = haversine_m(position[0], position[1], query.pickup_lat, query.pickup_lng)
        else:
            widest = MatchQuery(**{**asdict(query), "radius_m": radii[i][-1]})
            why = container.carriers.explain(widest)
            note = "every eligible carrier was given to another job of this batch" if why.eligible else None
            explanation = explanation_out(why, note)
        job = jobs[i]
        assignments.append(
            AssignmentOut(
                index=i,
                id=shipment.id or shipment.shipment_id or shipment.order_id,
                order_id=shipment.order_id if job is None else job.order_id,
                shipment_id=shipment.shipment_id if job is None else job.shipment_id,
                carrier_id=carrier_id,
                distance_m=distance_m,
                radius_m=result.radius_m.get(i),
                explanation=explanation,
            )
        )
    unserved = sorted(result.unserved)
    return BatchOut(
        assignments=assignments,
        unserved=unserved,
        unserved_ids=[assignments[i].id for i in unserved],
        total_cost=result.total_cost,
    )
