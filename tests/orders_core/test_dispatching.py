"""CarrierMatching: warm start from the DB, durable newest fixes, and positions shared through Redis (a single
server and a three-master Redis Cluster)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from infra.db import make_engine, make_session_factory
from infra.migrate import upgrade
from infra.redis_client import redis_client_from_url
from infra.throwaway import create_database
from matcher.feeds import RedisPositionStore
from matcher.model import MatchQuery
from orders_core.carriers.model import Carrier, PositionFix
from orders_core.carriers.repository import CarrierRepository
from orders_core.carriers.service import record_positions, save_carrier
from orders_core.dispatching import CarrierMatching, build_carrier_matching
from orders_core.unit_of_work import UnitOfWork

HERE = (30.25, 120.15)
QUERY = MatchQuery(HERE[0], HERE[1], HERE[0], HERE[1], weight_kg=1.0, volume_m3=0.1)


@pytest.fixture
def session_factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


def _carrier(carrier_id: str) -> Carrier:
    return Carrier(id=carrier_id, name=carrier_id, vehicle_type="van", capacity_kg=100.0, capacity_m3=1.0)


def _save(factory: sessionmaker[Session], matching: CarrierMatching, *carrier_ids: str) -> None:
    with UnitOfWork(factory) as uow:
        for carrier_id in carrier_ids:
            save_carrier(uow, matching, _carrier(carrier_id))
        uow.commit()


def _post(factory: sessionmaker[Session], matching: CarrierMatching, fixes: list[PositionFix]) -> int:
    with UnitOfWork(factory) as uow:
        accepted = record_positions(uow, matching, fixes)
        uow.commit()
    return accepted


def _wait_for(predicate, timeout_s: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def test_load_warms_the_index_from_the_database(session_factory: sessionmaker[Session]) -> None:
    writer = build_carrier_matching(session_factory, None)
    _save(session_factory, writer, "A", "B")
    now = time.time()
    _post(session_factory, writer, [PositionFix("A", *HERE, now - 5), PositionFix("A", 30.3, 120.2, now - 50)])
    fresh = build_carrier_matching(session_factory, None)
    with UnitOfWork(session_factory) as uow:
        assert fresh.load(uow) == 2
    assert len(fresh.index) == 2
    assert fresh.position_of("A") == (HERE[0], HERE[1], pytest.approx(now - 5))
    assert fresh.position_of("B") is None
    assert [c.carrier_id for c in fresh.match(QUERY)] == ["A"]


def test_positions_apply_only_after_commit(session_factory: sessionmaker[Session]) -> None:
    matching = build_carrier_matching(session_factory, None)
    _save(session_factory, matching, "A")
    with UnitOfWork(session_factory) as uow:
        record_positions(uow, matching, [PositionFix("A", *HERE, time.time())])
        assert matching.position_of("A") is None
        # no commit: rolled back
    assert matching.position_of("A") is None
    with UnitOfWork(session_factory) as uow:
        assert CarrierRepository(uow.session).position_of("A") is None


def test_durable_position_keeps_the_newest_fix(session_factory: sessionmaker[Session]) -> None:
    matching = build_carrier_matching(session_factory, None)
    _save(session_factory, matching, "A")
    now = time.time()
    assert _post(session_factory, matching, [PositionFix("A", 30.0, 120.0, now)]) == 1
    assert _post(session_factory, matching, [PositionFix("A", 31.0, 121.0, now - 100)]) == 0
    with UnitOfWork(session_factory) as uow:
        # Even when written directly, an older fix never overwrites a newer row.
        CarrierRepository(uow.session).save_positions([PositionFix("A", 32.0, 122.0, now - 1)])
        uow.commit()
    with UnitOfWork(session_factory) as uow:
        stored = CarrierRepository(uow.session).position_of("A")
    assert stored is not None
    assert (stored.lat, stored.lng, stored.ts_s) == (30.0, 120.0, pytest.approx(now))


def test_two_processes_share_positions_and_carrier_changes_through_redis(
    session_factory: sessionmaker[Session], fresh_redis_or_cluster_url: str
) -> None:
    client_a, client_b = (
        redis_client_from_url(fresh_redis_or_cluster_url),
        redis_client_from_url(fresh_redis_or_cluster_url),
    )
    first = build_carrier_matching(session_factory, client_a)
    second = build_carrier_matching(session_factory, client_b)
    try:
        for matching in (first, second):
            with UnitOfWork(session_factory) as uow:
                matching.load(uow)
        _save(session_factory, first, "A")
        assert _wait_for(lambda: second.index.profile_of("A") is not None), "carrier change not propagated"
        now = time.time()
        _post(session_factory, first, [PositionFix("A", *HERE, now)])
        assert first.position_of("A") is not None, "the posting process applies at once"
        assert _wait_for(lambda: second.position_of("A") is not None), "position not propagated"
        assert [c.carrier_id for c in second.match(QUERY)] == ["A"]
        # A third process started later learns the position at load (DB and Redis hash).
        third = build_carrier_matching(session_factory, redis_client_from_url(fresh_redis_or_cluster_url))
        with UnitOfWork(session_factory) as uow:
            third.load(uow)
        assert third.position_of("A") == (HERE[0], HERE[1], pytest.approx(now))
        third.close()
    finally:
        first.close()
        second.close()
        client_a.close()
        client_b.close()


def test_redis_store_ignores_older_fixes(fresh_redis_or_cluster_url: str) -> None:
    store = RedisPositionStore(redis_client_from_url(fresh_redis_or_cluster_url))
    assert store.write(["A"], [30.0], [120.0], [100.0]) == 1
    assert store.write(["A", "B"], [31.0, 1.0], [121.0, 2.0], [50.0, 10.0]) == 1
    assert store.latest() == {"A": (30.0, 120.0, 100.0), "B": (1.0, 2.0, 10.0)}
    assert store.last_stream_id() != "0-0"


def test_a_large_batch_is_stored_in_chunks(session_factory: sessionmaker[Session]) -> None:
    matching = build_carrier_matching(session_factory, None)
    ids = [f"C{i:05d}" for i in range(2_500)]
    _save(session_factory, matching, *ids)
    now = time.time()
    fixes = [PositionFix(cid, 30.0 + i * 1e-5, 120.0, now - 1) for i, cid in enumerate(ids)]
    assert _post(session_factory, matching, fixes) == 2_500
    with UnitOfWork(session_factory) as uow:
        assert len(CarrierRepository(uow.session).positions()) == 2_500
    assert matching.position_of(ids[-1]) is not None


def test_spatial_indexes_exist_on_postgis(postgres_url: str) -> None:
    from sqlalchemy import text

    engine = make_engine(create_database(postgres_url, "gist_check"))
    upgrade(engine)
    with make_session_factory(engine)() as session:
        rows = session.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes"
                " WHERE indexname IN ('ix_carriers_coverage', 'ix_geofences_geometry')"
            )
        ).all()
    assert {name for name, _ in rows} == {"ix_carriers_coverage", "ix_geofences_geometry"}
    assert all("gist" in definition.lower() for _, definition in rows)
