"""Geofence use cases on both backends: a fence change reaches event detection only once it is committed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import partial

import pytest
from shapely.geometry import Polygon
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from infra.db import make_engine, make_session_factory
from infra.migrate import upgrade
from infra.redis_client import redis_client_from_url
from matcher.feeds import STREAM_KEY
from orders_core.carriers.model import Carrier, PositionFix
from orders_core.carriers.service import accept_positions, upsert_carrier
from orders_core.dispatching import CarrierMatching, build_carrier_matching
from orders_core.geofencing.service import (
    Geofence,
    GeofenceKind,
    GeofenceNotFound,
    fence_events,
    fences_containing,
    get_geofence,
    upsert_geofence,
)
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory

SQUARE = Polygon([(120.0, 30.0), (120.1, 30.0), (120.1, 30.1), (120.0, 30.1), (120.0, 30.0)])
ZONE = Geofence(id="zone", kind=GeofenceKind.RESTRICTED_ZONE, geometry=SQUARE, name="Centre")
# Outside the square, then four fixes inside it over 30 s: an enter confirmed after the dwell (3 fixes).
TRACK = [(30.05, 119.95), (30.05, 120.05), (30.051, 120.05), (30.052, 120.05), (30.053, 120.05)]


class CommitRefused(Exception):
    """What the failing store raises at commit."""


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def matching(sessions: sessionmaker[Session]) -> Iterator[CarrierMatching]:
    carriers = build_carrier_matching(sessions, None)
    with UnitOfWork(sessions) as uow:
        carriers.load(uow)
    upsert_carrier(
        partial(UnitOfWork, sessions),
        carriers,
        Carrier(id="CAR-1", name="c", vehicle_type="van", capacity_kg=10.0, capacity_m3=1.0),
    )
    yield carriers
    carriers.close()


def _failing_commits(sessions: sessionmaker[Session]) -> UnitOfWorkFactory:
    """Units of work on the same database whose commit fails (as a lost connection or a full disk would)."""
    failing = make_session_factory(sessions.kw["bind"])

    def refuse(session: Session) -> None:
        raise CommitRefused("the store refused the commit")

    event.listen(failing, "before_commit", refuse)
    return partial(UnitOfWork, failing)


def _drive_through_the_square(new_uow: UnitOfWorkFactory, carriers: CarrierMatching) -> None:
    start = time.time() - 100
    for i, (lat, lng) in enumerate(TRACK):
        assert accept_positions(new_uow, carriers, [PositionFix("CAR-1", lat, lng, start + i * 10)]) == 1


def test_upsert_creates_then_replaces_and_reads_back(
    sessions: sessionmaker[Session], matching: CarrierMatching
) -> None:
    new_uow = partial(UnitOfWork, sessions)
    assert upsert_geofence(new_uow, matching, ZONE) is True
    renamed = Geofence(id="zone", kind=GeofenceKind.SERVICE_AREA, geometry=SQUARE, owner_id="W1", name="Renamed")
    assert upsert_geofence(new_uow, matching, renamed) is False
    stored = get_geofence(new_uow, "zone")
    assert (stored.kind, stored.owner_id, stored.name) == (GeofenceKind.SERVICE_AREA, "W1", "Renamed")
    assert stored.geometry.equals(SQUARE)
    assert [f.id for f in fences_containing(new_uow, 30.05, 120.05)] == ["zone"]
    assert fences_containing(new_uow, 30.05, 120.05, GeofenceKind.RESTRICTED_ZONE) == []
    assert fences_containing(new_uow, 31.0, 120.05) == []


def test_unknown_fence_is_not_found(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(GeofenceNotFound, match="'nope'"):
        get_geofence(partial(UnitOfWork, sessions), "nope")


def test_committed_fence_reaches_event_detection(sessions: sessionmaker[Session], matching: CarrierMatching) -> None:
    new_uow = partial(UnitOfWork, sessions)
    upsert_geofence(new_uow, matching, ZONE)
    # The detector reloads fences from the store in a transaction of its own: it can only know the fence
    # if it reloaded after the upsert was committed.
    _drive_through_the_square(new_uow, matching)
    events = fence_events(new_uow, carrier_id="CAR-1")
    assert [(e.fence_id, e.kind, e.lng) for e in events] == [("zone", "enter", 120.05)]
    assert matching.fence_events.inside("CAR-1", "zone") is True


def test_fence_whose_commit_fails_is_neither_stored_nor_detected(
    sessions: sessionmaker[Session], matching: CarrierMatching
) -> None:
    new_uow = partial(UnitOfWork, sessions)
    with pytest.raises(CommitRefused):
        upsert_geofence(_failing_commits(sessions), matching, ZONE)
    with pytest.raises(GeofenceNotFound):
        get_geofence(new_uow, "zone")
    _drive_through_the_square(new_uow, matching)
    assert fence_events(new_uow) == []
    assert matching.fence_events.inside("CAR-1", "zone") is False


def test_events_filter_by_carrier_fence_and_limit(sessions: sessionmaker[Session], matching: CarrierMatching) -> None:
    new_uow = partial(UnitOfWork, sessions)
    upsert_geofence(new_uow, matching, ZONE)
    _drive_through_the_square(new_uow, matching)
    start = time.time() - 40
    for i, lng in enumerate((120.3, 120.31, 120.32)):  # out past the far side: an exit after the dwell
        accept_positions(new_uow, matching, [PositionFix("CAR-1", 30.05, lng, start + i * 10)])
    assert [e.kind for e in fence_events(new_uow, fence_id="zone")] == ["enter", "exit"]
    assert [e.kind for e in fence_events(new_uow, fence_id="zone", limit=1)] == ["exit"]
    assert fence_events(new_uow, carrier_id="CAR-2") == []
    assert fence_events(new_uow, fence_id="elsewhere") == []


def test_only_a_committed_fence_change_is_announced_to_other_processes(
    sessions: sessionmaker[Session], fresh_redis_or_cluster_url: str
) -> None:
    client = redis_client_from_url(fresh_redis_or_cluster_url)
    carriers = build_carrier_matching(sessions, client)

    def announcements() -> int:
        entries = client.xrange(STREAM_KEY) or []
        return len([fields for _, fields in entries if fields == {b"fences": b"changed"}])

    try:
        with pytest.raises(CommitRefused):
            upsert_geofence(_failing_commits(sessions), carriers, ZONE)
        assert announcements() == 0
        upsert_geofence(partial(UnitOfWork, sessions), carriers, ZONE)
        assert announcements() == 1
    finally:
        carriers.close()
        client.close()
