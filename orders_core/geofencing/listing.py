"""Geofences and their enter/exit events as lists: fences by kind and owner, searchable by name or id; events
by carrier and fence in crossing-time order; page by page."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import or_, select

from geofences.events import FenceEvent
from geofences.model import Geofence
from geofences.repository import _to_fence
from geofences.tables import GeofenceEventRow, GeofenceRow
from infra.pagination import Page, PageRequest, contains_text, keyset_page
from orders_core.unit_of_work import UnitOfWorkFactory


def geofence_page(
    new_uow: UnitOfWorkFactory,
    request: PageRequest,
    *,
    kinds: Collection[str] | None = None,
    owner_id: str | None = None,
    q: str | None = None,
) -> Page[Geofence]:
    """Fences by creation time, filtered."""
    query = select(GeofenceRow)
    if kinds:
        query = query.where(GeofenceRow.kind.in_(list(kinds)))
    if owner_id is not None:
        query = query.where(GeofenceRow.owner_id == owner_id)
    if q:
        query = query.where(or_(contains_text(GeofenceRow.name, q), contains_text(GeofenceRow.id, q)))
    with new_uow() as uow:
        rows, next_cursor = keyset_page(uow.session, query, (GeofenceRow.created_at, GeofenceRow.id), request)
        return Page([_to_fence(row) for row in rows], next_cursor)


def fence_event_page(
    new_uow: UnitOfWorkFactory,
    request: PageRequest,
    *,
    carrier_id: str | None = None,
    fence_id: str | None = None,
) -> Page[FenceEvent]:
    """Enter/exit events by crossing time (``descending``: newest first), of one carrier and/or fence."""
    query = select(GeofenceEventRow)
    if carrier_id is not None:
        query = query.where(GeofenceEventRow.carrier_id == carrier_id)
    if fence_id is not None:
        query = query.where(GeofenceEventRow.fence_id == fence_id)
    with new_uow() as uow:
        rows, next_cursor = keyset_page(uow.session, query, (GeofenceEventRow.ts_s, GeofenceEventRow.id), request)
        events = [
            FenceEvent(
                r.carrier_id, r.fence_id, "enter" if r.kind == "enter" else "exit", r.ts_s, r.lat, r.lng, r.via_crossing
            )
            for r in rows
        ]
    return Page(events, next_cursor)
