"""Persistence of geofences, with a point query that uses the GiST index on PostGIS and bbox columns elsewhere."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from geofences.events import FenceEvent
from geofences.model import Geofence, GeofenceKind, fences_containing
from geofences.tables import GeofenceEventRow, GeofenceRow


def _to_fence(row: GeofenceRow) -> Geofence:
    return Geofence(
        id=row.id,
        kind=GeofenceKind(row.kind),
        geometry=row.geometry,  # type: ignore[arg-type]
        owner_id=row.owner_id,
        name=row.name,
    )


class GeofenceRepository:
    """Geofences in the relational store."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, fence_id: str) -> Geofence | None:
        """One fence, or None."""
        row = self.session.get(GeofenceRow, fence_id)
        return None if row is None else _to_fence(row)

    def upsert(self, fence: Geofence) -> bool:
        """Insert or replace a fence; returns True when it was created."""
        now = datetime.now(UTC)
        row = self.session.get(GeofenceRow, fence.id, with_for_update=True)
        created = row is None
        if row is None:
            row = GeofenceRow(id=fence.id, created_at=now)
            self.session.add(row)
        min_lng, min_lat, max_lng, max_lat = fence.geometry.bounds
        row.kind = fence.kind.value
        row.owner_id = fence.owner_id
        row.name = fence.name
        row.geometry = fence.geometry
        row.min_lng, row.min_lat, row.max_lng, row.max_lat = min_lng, min_lat, max_lng, max_lat
        row.updated_at = now
        self.session.flush()
        return created

    def list_all(self, kind: GeofenceKind | None = None) -> list[Geofence]:
        """Every fence (optionally of one kind); event detectors load these."""
        statement = select(GeofenceRow).order_by(GeofenceRow.id)
        if kind is not None:
            statement = statement.where(GeofenceRow.kind == kind.value)
        return [_to_fence(row) for row in self.session.scalars(statement)]

    def containing(self, lat: float, lng: float, kind: GeofenceKind | None = None) -> list[Geofence]:
        """Fences covering the point (boundary included): spatial prefilter in SQL, exact test in shapely."""
        statement = select(GeofenceRow).order_by(GeofenceRow.id)
        if self.session.get_bind().dialect.name == "postgresql":
            point = func.ST_SetSRID(func.ST_MakePoint(lng, lat), 4326)
            statement = statement.where(func.ST_Intersects(GeofenceRow.geometry, point))
        else:
            statement = statement.where(
                GeofenceRow.min_lng <= lng,
                GeofenceRow.max_lng >= lng,
                GeofenceRow.min_lat <= lat,
                GeofenceRow.max_lat >= lat,
            )
        if kind is not None:
            statement = statement.where(GeofenceRow.kind == kind.value)
        return fences_containing([_to_fence(row) for row in self.session.scalars(statement)], lat, lng)

    def add_events(self, events: Sequence[FenceEvent]) -> None:
        """Append confirmed fence events."""
        now = datetime.now(UTC)
        self.session.add_all(
            GeofenceEventRow(
                carrier_id=e.carrier_id,
                fence_id=e.fence_id,
                kind=e.kind,
                ts_s=e.ts_s,
                lat=e.lat,
                lng=e.lng,
                via_crossing=e.via_crossing,
                recorded_at=now,
            )
            for e in events
        )
        self.session.flush()

    def events(
        self, *, carrier_id: str | None = None, fence_id: str | None = None, limit: int = 100
    ) -> list[FenceEvent]:
        """The newest events (optionally of one carrier and/or fence), oldest first."""
        statement = select(GeofenceEventRow)
        if carrier_id is not None:
            statement = statement.where(GeofenceEventRow.carrier_id == carrier_id)
        if fence_id is not None:
            statement = statement.where(GeofenceEventRow.fence_id == fence_id)
        statement = statement.order_by(GeofenceEventRow.ts_s.desc(), GeofenceEventRow.id.desc()).limit(limit)
        rows = list(self.session.scalars(statement))
        return [
            FenceEvent(
                r.carrier_id, r.fence_id, "enter" if r.kind == "enter" else "exit", r.ts_s, r.lat, r.lng, r.via_crossing
            )
            for r in reversed(rows)
        ]
