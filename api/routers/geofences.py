"""Geofences: PUT/GET /v1/geofences/{id}, the point query GET /v1/geofences/containing?lat=&lng=, and the
enter/exit events detected as carrier positions arrive (GET /v1/geofences/events)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from api.auth import Forbidden, require_roles
from api.container import Container
from api.deps import get_container
from api.errors import created_or_replaced, refusals
from api.pagination import MultiValue, Page, SearchText, one_of, page_request
from api.schemas.geofences import FenceEventOut, GeofenceIn, GeofenceOut, Kind
from api.schemas.master_data import ID_PATTERN, PathId
from api.tokens import Principal
from geofences.validation import parse_polygonal, to_geojson
from infra.pagination import PageRequest
from orders_core.geofencing import service as geofencing
from orders_core.geofencing.listing import fence_event_page, geofence_page

router = APIRouter(prefix="/v1/geofences", tags=["geofences"])
writers = require_roles("dispatcher")
readers = require_roles("dispatcher", "warehouse", "carrier")

FenceId = PathId


def _fence_out(fence: geofencing.Geofence) -> GeofenceOut:
    geometry = to_geojson(fence.geometry)
    assert geometry is not None
    return GeofenceOut(id=fence.id, kind=fence.kind.value, geometry=geometry, owner_id=fence.owner_id, name=fence.name)


@router.get("", response_model=Page[GeofenceOut])
def list_geofences(
    kind: MultiValue = None,
    owner_id: Annotated[str | None, Query(max_length=64, pattern=ID_PATTERN)] = None,
    q: SearchText = None,
    page: PageRequest = Depends(page_request),
    container: Container = Depends(get_container),
    _: Principal = Depends(readers),
) -> Page[GeofenceOut]:
    """Fences, oldest first (``order=desc``: newest first), by kind (may repeat) and owner; ``q`` searches
    names and ids."""
    kinds = one_of(kind, [k.value for k in geofencing.GeofenceKind], name="kind")
    found = geofence_page(container.uow, page, kinds=kinds, owner_id=owner_id, q=q)
    return Page[GeofenceOut](items=[_fence_out(f) for f in found.items], next_cursor=found.next_cursor)


@router.get("/containing", response_model=Page[GeofenceOut])
def containing(
    lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False)],
    lng: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False)],
    kind: Kind | None = None,
    container: Container = Depends(get_container),
    _: Principal = Depends(readers),
) -> Page[GeofenceOut]:
    """Every fence that covers the point (boundary counts as inside), optionally of one kind, by id (one page:
    ``next_cursor`` is always null)."""
    fences = geofencing.fences_containing(
        container.uow, lat, lng, None if kind is None else geofencing.GeofenceKind(kind)
    )
    return Page[GeofenceOut](items=[_fence_out(f) for f in fences], next_cursor=None)


@router.get("/events", response_model=Page[FenceEventOut])
def fence_events(
    carrier_id: Annotated[str | None, Query(max_length=64)] = None,
    fence_id: Annotated[str | None, Query(max_length=64)] = None,
    page: PageRequest = Depends(page_request),
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
) -> Page[FenceEventOut]:
    """Enter/exit events by crossing time, oldest first (``order=desc``: newest first); a carrier token sees
    only its own."""
    if principal.role == "carrier":
        if carrier_id is not None and carrier_id != principal.subject:
            raise Forbidden("a carrier token may only read its own fence events")
        carrier_id = principal.subject or ""
    found = fence_event_page(container.uow, page, carrier_id=carrier_id, fence_id=fence_id)
    return Page[FenceEventOut](
        next_cursor=found.next_cursor,
        items=[
            FenceEventOut(
                carrier_id=e.carrier_id,
                fence_id=e.fence_id,
                kind=e.kind,
                at=datetime.fromtimestamp(e.ts_s, UTC),
                lat=e.lat,
                lng=e.lng,
                via_crossing=e.via_crossing,
            )
            for e in found.items
        ],
    )


@router.put(
    "/{fence_id}",
    response_model=GeofenceOut,
    responses={
        **created_or_replaced(GeofenceOut),
        **refusals(
            {
                422: "invalid_geometry: the geometry breaks a GeoJSON rule the schema cannot state (a ring not"
                " closed, a self-intersection, zero area), named with its coordinate path; validation_error:"
                " the body breaks the schema."
            }
        ),
    },
)
def put_geofence(
    fence_id: FenceId,
    body: GeofenceIn,
    response: Response,
    container: Container = Depends(get_container),
    _: Principal = Depends(writers),
) -> GeofenceOut:
    """Create (201) or replace (200) a fence; the geometry must be a valid GeoJSON (Multi)Polygon."""
    fence = geofencing.Geofence(
        id=fence_id,
        kind=geofencing.GeofenceKind(body.kind),
        geometry=parse_polygonal(body.geometry, field="geometry"),
        owner_id=body.owner_id,
        name=body.name,
    )
    created = geofencing.upsert_geofence(container.uow, container.carriers, fence)
    response.status_code = 201 if created else 200
    return _fence_out(fence)


@router.get("/{fence_id}", response_model=GeofenceOut)
def get_geofence(
    fence_id: FenceId, container: Container = Depends(get_container), _: Principal = Depends(readers)
) -> GeofenceOut:
    """One fence or 404."""
    return _fence_out(geofencing.get_geofence(container.uow, fence_id))
