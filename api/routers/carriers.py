"""Carrier master data (PUT/GET /v1/carriers/{id}) and position fixes (POST /v1/carriers/positions).

Dispatchers write carriers; a carrier token (subject = carrier id) may read its own record and post its
own positions. A position batch is validated as a whole: one bad fix refuses the batch.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Response

from api.auth import Forbidden, require_roles
from api.container import Container
from api.deps import get_container
from api.errors import created_or_replaced
from api.pagination import MultiValue, Page, SearchText, free_values, page_request
from api.schemas.carriers import CarrierIn, CarrierOut, CarrierSaved, PositionOut, PositionsAccepted, PositionsIn
from api.schemas.master_data import PathId
from api.tokens import Principal
from foundation.errors import NotFound
from geofences.validation import to_geojson
from infra.pagination import PageRequest
from orders_core.carriers.listing import carrier_page
from orders_core.carriers.model import Carrier, position_age
from orders_core.carriers.service import accept_positions, get_carrier, upsert_carrier

router = APIRouter(prefix="/v1/carriers", tags=["carriers"])
writers = require_roles("dispatcher")
readers = require_roles("dispatcher", "carrier")
position_writers = require_roles("dispatcher", "carrier")

CarrierId = PathId


def _secret_hint(secret: str | None) -> str | None:
    """The last 4 characters of a secret, to tell two secrets apart without revealing either."""
    return None if not secret else "..." + secret[-4:]


def _carrier_out(
    carrier: Carrier, position: tuple[float, float, float] | None, max_position_age_s: float = 0.0
) -> CarrierOut:
    """API form of a carrier with its last fix, the fix's age and whether it is too old to be matched; its
    webhook secret only as set/unset and a 4-character hint."""
    age = None if position is None else position_age(position[2], max_position_age_s)
    return CarrierOut(
        id=carrier.id,
        name=carrier.name,
        vehicle_type=carrier.vehicle_type,
        capacity_kg=carrier.capacity_kg,
        capacity_m3=carrier.capacity_m3,
        coverage=to_geojson(carrier.coverage),
        webhook_url=carrier.webhook_url,
        webhook_secret_set=bool(carrier.webhook_secret),
        webhook_secret_hint=_secret_hint(carrier.webhook_secret),
        active=carrier.active,
        rate_per_km=carrier.rate_per_km,
        base_fare=carrier.base_fare,
        on_time_rate=carrier.on_time_rate,
        rating=carrier.rating,
        position=None
        if position is None
        else PositionOut(
            lat=position[0], lng=position[1], ts=datetime.fromtimestamp(position[2], UTC), ts_s=position[2]
        ),
        position_at=None if age is None else age.fixed_at,
        position_age_s=None if age is None else age.age_s,
        position_stale=None if age is None else age.stale,
    )


@router.get("", response_model=Page[CarrierOut])
def list_carriers(
    q: SearchText = None,
    vehicle_type: MultiValue = None,
    active: bool | None = None,
    page: PageRequest = Depends(page_request),
    container: Container = Depends(get_container),
    principal: Principal = Depends(readers),
) -> Page[CarrierOut]:
    """Carriers with their last known position, oldest first (``order=desc``: newest first); ``q`` searches
    names and ids, ``vehicle_type`` may repeat. A carrier token sees only itself."""
    found = carrier_page(
        container.uow,
        page,
        q=q,
        vehicle_types=free_values(vehicle_type, name="vehicle_type"),
        active=active,
        carrier_id=principal.subject or "" if principal.role == "carrier" else None,
    )
    items = [_carrier_out(c, container.carriers.position_of(c.id)) for c in found.items]
    return Page[CarrierOut](items=items, next_cursor=found.next_cursor)


@router.post("/positions", response_model=PositionsAccepted)
def post_positions(
    body: PositionsIn,
    container: Container = Depends(get_container),
    principal: Principal = Depends(position_writers),
) -> PositionsAccepted:
    """Record GPS fixes; older-than-stored fixes are ignored and not counted as accepted.

    A carrier token posts for its own carrier: ``carrier_id`` may be left out (another carrier's is 403).
    """
    own = principal.subject if principal.role == "carrier" else None
    if principal.role == "carrier":
        foreign = sorted({p.carrier_id for p in body.positions if p.carrier_id and p.carrier_id != own})
        if foreign or not own:
            got = f" (got {', '.join(foreign[:5])})" if foreign else ""
            raise Forbidden(f"a carrier token may only post its own positions{got}")
    accepted = accept_positions(container.uow, container.carriers, body.to_fixes(own))
    return PositionsAccepted(accepted=accepted)


@router.put("/{carrier_id}", response_model=CarrierSaved, responses=created_or_replaced(CarrierSaved))
def put_carrier(
    carrier_id: CarrierId,
    body: CarrierIn,
    response: Response,
    container: Container = Depends(get_container),
    _: Principal = Depends(writers),
) -> CarrierSaved:
    """Create (201) or replace (200) a carrier; coverage must be a valid GeoJSON (Multi)Polygon or null.

    The webhook secret is never shown back, except once: when this request made the service generate it.
    """
    carrier = body.to_carrier(carrier_id)
    previous_secret = None if body.webhook_secret else _stored_secret(container, carrier_id)
    saved, created = upsert_carrier(
        container.uow, container.carriers, carrier, secret_grace_s=container.settings.webhooks.rotation_grace_s
    )
    response.status_code = 201 if created else 200
    generated = body.webhook_secret is None and saved.webhook_secret and saved.webhook_secret != previous_secret
    shown = _carrier_out(saved, container.carriers.position_of(carrier_id), container.settings.max_position_age_s)
    return CarrierSaved(**shown.model_dump(), webhook_secret=saved.webhook_secret if generated else None)


def _stored_secret(container: Container, carrier_id: str) -> str | None:
    """The carrier's current webhook secret (None for a new carrier), to tell a kept secret from a new one."""
    try:
        return get_carrier(container.uow, carrier_id).webhook_secret
    except NotFound:
        return None


@router.get("/{carrier_id}", response_model=CarrierOut)
def get_carrier_endpoint(
    carrier_id: CarrierId,
    container: Container = Depends(get_container),
    _: Principal = Depends(readers),
) -> CarrierOut:
    """A carrier's master data and last known position; a carrier token may read only its own (403 from
    ``require_roles``, like every ``{carrier_id}`` route)."""
    carrier = get_carrier(container.uow, carrier_id)
    return _carrier_out(carrier, container.carriers.position_of(carrier_id), container.settings.max_position_age_s)
