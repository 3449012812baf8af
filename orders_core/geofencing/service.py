"""Geofence use cases over the relational store, each in its own unit of work.

A committed fence change is pushed to the carrier matching's fence-event detector (and, through Redis,
to the other processes); a rolled-back one is not. The value types the API needs (``Geofence``,
``GeofenceKind``, ``FenceEvent``) are re-exported here so that callers need not reach into the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from geofences.events import FenceEvent
from geofences.model import Geofence, GeofenceKind, GeofenceNotFound
from geofences.repository import GeofenceRepository
from orders_core.unit_of_work import UnitOfWorkFactory

if TYPE_CHECKING:
    from orders_core.dispatching import CarrierMatching

__all__ = [
    "FenceEvent",
    "Geofence",
    "GeofenceKind",
    "GeofenceNotFound",
    "fence_events",
    "fences_containing",
    "get_geofence",
    "upsert_geofence",
]


def upsert_geofence(new_uow: UnitOfWorkFactory, carriers: CarrierMatching, fence: Geofence) -> bool:
    """Create or replace a fence; answers whether it was created.

    Fence-event detection reloads the fences only once the change is committed, never when it fails.
    """
    with new_uow() as uow:
        created = GeofenceRepository(uow.session).upsert(fence)
        uow.after_commit(carriers.fences_changed)
        uow.commit()
    return created


def get_geofence(new_uow: UnitOfWorkFactory, fence_id: str) -> Geofence:
    """One fence (404 if unknown)."""
    with new_uow() as uow:
        fence = GeofenceRepository(uow.session).get(fence_id)
    if fence is None:
        raise GeofenceNotFound(f"no geofence with id {fence_id!r}")
    return fence


def fences_containing(
    new_uow: UnitOfWorkFactory, lat: float, lng: float, kind: GeofenceKind | None = None
) -> list[Geofence]:
    """Every fence covering the point (boundary counts as inside), optionally of one kind, by id."""
    with new_uow() as uow:
        return GeofenceRepository(uow.session).containing(lat, lng, kind)


def fence_events(
    new_uow: UnitOfWorkFactory, *, carrier_id: str | None = None, fence_id: str | None = None, limit: int = 100
) -> list[FenceEvent]:
    """The newest enter/exit events (optionally of one carrier and/or fence), oldest first."""
    with new_uow() as uow:
        return GeofenceRepository(uow.session).events(carrier_id=carrier_id, fence_id=fence_id, limit=limit)
