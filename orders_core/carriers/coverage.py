"""Where the active fleet delivers: the union of the active carriers' coverage, for the address check at
intake (``orders_core.orders.address_check``).

Intake asks for every order, so the parsed fences are cached per database engine for ``CACHE_TTL_S``
(another process's carrier change shows within that time; this process's own upserts clear it at once).
A carrier without coverage delivers anywhere.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass

from shapely import prepared
from shapely.geometry import Point
from shapely.prepared import PreparedGeometry
from sqlalchemy import Connection, Engine, event, select
from sqlalchemy.orm import Session

from orders_core.carriers.tables import CarrierRow

#: Longest time a cached fleet coverage may lag behind a carrier change made by another process.
CACHE_TTL_S = 2.0


@dataclass(frozen=True)
class FleetCoverage:
    """The active carriers' delivery areas: how many carriers, whether one covers everywhere, the fences."""

    active_carriers: int
    unlimited: bool
    fences: tuple[PreparedGeometry, ...]

    def covers(self, lat: float, lng: float) -> bool:
        """Whether some active carrier delivers to (lat, lng) (boundary included)."""
        if self.unlimited:
            return True
        point = Point(lng, lat)
        return any(fence.covers(point) for fence in self.fences)


_cache: weakref.WeakKeyDictionary[Engine, tuple[float, FleetCoverage]] = weakref.WeakKeyDictionary()
_lock = threading.Lock()
_CHANGED = "carriers.fleet_changed"


def _engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


def fleet_coverage(session: Session) -> FleetCoverage:
    """The active fleet's coverage as of at most ``CACHE_TTL_S`` ago (one query when the cache is cold)."""
    engine = _engine_of(session)
    now = time.monotonic()
    cached = _cache.get(engine)
    if cached is not None and now - cached[0] < CACHE_TTL_S:
        return cached[1]
    rows = session.execute(select(CarrierRow.coverage).where(CarrierRow.active.is_(True))).all()
    fences = tuple(prepared.prep(row.coverage) for row in rows if row.coverage is not None)
    coverage = FleetCoverage(len(rows), any(row.coverage is None for row in rows), fences)
    with _lock:
        _cache[engine] = (now, coverage)
    return coverage


def forget_fleet_coverage(session: Session) -> None:
    """Drop the cached coverage of this session's database now and again when the session commits (a carrier
    upsert in this process: no read between the change and its commit can keep the old fleet cached)."""
    session.info[_CHANGED] = True
    with _lock:
        _cache.pop(_engine_of(session), None)


@event.listens_for(Session, "after_commit")
def _forget_after_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, None):
        with _lock:
            _cache.pop(_engine_of(session), None)


@event.listens_for(Session, "after_rollback")
def _forget_flag(session: Session) -> None:
    session.info.pop(_CHANGED, None)
