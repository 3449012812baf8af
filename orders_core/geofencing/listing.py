"""Geofences as a list: by kind and owner, searchable by name or id, page by page."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import or_, select

from geofences.model import Geofence
from geofences.repository import _to_fence
from geofences.tables import GeofenceRow
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
