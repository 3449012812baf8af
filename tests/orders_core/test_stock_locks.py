"""The fast stock stores and the service: all-or-nothing holds, idempotent release, no oversell, rebuild."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator

import pytest

from infra.redis_client import redis_client_from_url
from orders_core.stock.locks import StockLocks, StockSnapshot
from orders_core.stock.model import InsufficientStock, ReservationLine, StockBelowReserved
from orders_core.stock.rebuild import rebuild_fast_store
from orders_core.stock.redis_locks import RedisStockLocks
from orders_core.stock.repository import StockRepository
from orders_core.stock.service import StockService

from .test_stock_support import STORE_KINDS, StockStack, build_stack, fresh_redis_url_for, new_locks

L = ReservationLine


@pytest.fixture(params=STORE_KINDS)
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def locks(store_kind: str, request: pytest.FixtureRequest) -> Iterator[StockLocks]:
    redis_url = fresh_redis_url_for(store_kind, request)
    if redis_url is None:
        yield new_locks(None)
        return
    client = redis_client_from_url(redis_url)
    yield new_locks(client)
    client.close()


@pytest.fixture
def stack(store_kind: str, database_url: str, request: pytest.FixtureRequest) -> Iterator[StockStack]:
    built = build_stack(database_url, fresh_redis_url_for(store_kind, request))
    yield built
    built.close()


def test_reservation_is_all_or_nothing_and_names_every_short_line(locks: StockLocks) -> None:
    locks.set_on_hand("w1", "a", 5)
    locks.set_on_hand("w1", "b", 1)
    locks.set_on_hand("w2", "c", 0)
    with pytest.raises(InsufficientStock) as raised:
        locks.reserve("o1", [L("w1", "a", 3), L("w1", "b", 2), L("w2", "c", 1)])
    assert {(s.warehouse_id, s.sku, s.requested, s.available) for s in raised.value.shortages} == {
        ("w1", "b", 2, 1),
        ("w2", "c", 1, 0),
    }
    assert raised.value.code == "insufficient_stock"
    assert locks.holds("o1") == []
    assert {k: (v.on_hand, v.reserved) for k, v in locks.all_levels().items()} == {
        ("w1", "a"): (5, 0),
        ("w1", "b"): (1, 0),
        ("w2", "c"): (0, 0),
    }


def test_spanning_warehouses_compensates_groups_already_taken(locks: StockLocks) -> None:
    locks.set_on_hand("w1", "a", 5)
    locks.set_on_hand("w2", "a", 1)
    with pytest.raises(InsufficientStock):
        locks.reserve("o1", [L("w1", "a", 2), L("w2", "a", 2)])
    assert locks.levels([("w1", "a")])[("w1", "a")].reserved == 0
    locks.reserve("o1", [L("w1", "a", 2), L("w2", "a", 1), L("w1", "a", 1)])
    assert locks.holds("o1") == [L("w1", "a", 3), L("w2", "a", 1)]


def test_release_is_idempotent_and_consume_lowers_both_counts(locks: StockLocks) -> None:
    locks.set_on_hand("w1", "a", 10)
    locks.reserve("o1", [L("w1", "a", 4)])
    assert locks.consume("o1", [L("w1", "a", 1)]) == [L("w1", "a", 1)]
    level = locks.levels([("w1", "a")])[("w1", "a")]
    assert (level.on_hand, level.reserved, level.available) == (9, 3, 6)
    assert locks.release("o1") == [L("w1", "a", 3)]
    assert locks.release("o1") == []
    assert locks.release("o1", [L("w1", "a", 3)]) == []
    level = locks.levels([("w1", "a")])[("w1", "a")]
    assert (level.on_hand, level.reserved, level.available) == (9, 0, 9)


def test_on_hand_cannot_drop_below_reserved(locks: StockLocks) -> None:
    locks.set_on_hand("w1", "a", 10)
    locks.reserve("o1", [L("w1", "a", 6)])
    with pytest.raises(StockBelowReserved):
        locks.set_on_hand("w1", "a", 5)
    before, after = locks.set_on_hand("w1", "a", 6)
    assert before is not None and before.on_hand == 10
    assert (after.on_hand, after.available) == (6, 0)


def test_threads_hammering_reserve_never_oversell(locks: StockLocks) -> None:
    locks.set_on_hand("w1", "a", 100)
    locks.set_on_hand("w1", "b", 60)
    held: list[int] = []
    refused = 0
    guard = threading.Lock()

    def worker(seed: int) -> None:
        nonlocal refused
        rng = random.Random(seed)
        for n in range(40):
            qty = rng.randint(1, 3)
            try:
                locks.reserve(f"t{seed}-{n}", [L("w1", "a", qty), L("w1", "b", 1)])
            except InsufficientStock:
                with guard:
                    refused += 1
            else:
                with guard:
                    held.append(qty)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    levels = locks.all_levels()
    assert levels[("w1", "a")].reserved == sum(held) <= 100
    assert levels[("w1", "b")].reserved == len(held) <= 60
    assert levels[("w1", "a")].available >= 0 and levels[("w1", "b")].available >= 0
    assert refused > 0  # demand (16*40) far exceeds supply
    assert len(held) + refused == 16 * 40


def test_load_replaces_the_store(locks: StockLocks) -> None:
    locks.set_on_hand("w9", "z", 3)
    snapshot = StockSnapshot(on_hand={("w1", "a"): 7}, holds={"o1": [L("w1", "a", 2)], "o2": [L("w1", "a", 1)]})
    locks.load(snapshot)
    assert locks.is_loaded()
    assert {k: (v.on_hand, v.reserved) for k, v in locks.all_levels().items()} == {("w1", "a"): (7, 3)}
    assert locks.holds("o1") == [L("w1", "a", 2)]


def test_the_outcome_observer_passed_in_sees_every_lock_outcome(stack: StockStack) -> None:
    seen: list[str] = []
    service = StockService(new_locks(stack.redis_client), on_outcome=seen.append)
    with stack.uow() as uow:
        service.set_on_hand(uow, "w1", "a", 5)
        uow.commit()
    with stack.uow() as uow:
        service.reserve(uow, "o1", [L("w1", "a", 3)])
        uow.commit()
    with stack.uow() as uow, pytest.raises(InsufficientStock):
        service.reserve(uow, "o2", [L("w1", "a", 3)])
    for _ in range(2):  # the second release gives back nothing: no outcome
        with stack.uow() as uow:
            service.release(uow, "o1")
            uow.commit()
    assert seen == ["reserved", "insufficient", "released"]


def test_service_writes_durable_rows_and_compensates_rollback(stack: StockStack) -> None:
    service = stack.service
    with stack.uow() as uow:
        service.set_on_hand(uow, "w1", "a", 10)
        uow.commit()
    with stack.uow() as uow:
        service.reserve(uow, "o1", [L("w1", "a", 4)])
        uow.commit()
    with stack.uow() as uow:  # rolled back: the hold must vanish from the fast store too
        service.reserve(uow, "o2", [L("w1", "a", 5)])
    with stack.uow() as uow:
        assert service.level(uow, "w1", "a").reserved == 4
        assert service.available_by_warehouse(uow, ["a", "nope"]) == {"w1": {"a": 6}}
        assert service.reservations_of(uow, "o1") == [L("w1", "a", 4)]
        assert service.reservations_of(uow, "o2") == []
        repo = StockRepository(uow.session)
        assert repo.level("w1", "a") is not None
        assert repo.level("w1", "a").reserved == 4  # type: ignore[union-attr]
    with stack.uow() as uow:
        service.consume(uow, "o1", [L("w1", "a", 1)])
        uow.commit()
    with stack.uow() as uow:
        assert service.release(uow, "o1") == [L("w1", "a", 3)]
        uow.commit()
    with stack.uow() as uow:
        assert service.release(uow, "o1") == []
        uow.commit()
        level = service.level(uow, "w1", "a")
        assert (level.on_hand, level.reserved, level.available) == (9, 0, 9)
        assert StockRepository(uow.session).level("w1", "a") == level
        states = sorted((line.qty, state) for line, state in StockRepository(uow.session).reservations("o1"))
        assert states == [(1, "consumed"), (3, "released")]


def test_rejected_set_on_hand_changes_nothing(stack: StockStack) -> None:
    from orders_core.stock.model import NegativeQuantity

    with stack.uow() as uow:
        stack.service.set_on_hand(uow, "w1", "a", 5)
        uow.commit()
    with stack.uow() as uow, pytest.raises(NegativeQuantity):
        stack.service.set_on_hand(uow, "w1", "a", -1)
    with stack.uow() as uow:  # a use case failing after the set rolls the fast store back too
        stack.service.set_on_hand(uow, "w1", "a", 50)
    with stack.uow() as uow:
        assert stack.service.level(uow, "w1", "a").on_hand == 5
        assert StockRepository(uow.session).level("w1", "a").on_hand == 5  # type: ignore[union-attr]


def test_rebuild_after_redis_flushall_reproduces_levels_and_holds(
    database_url: str, fresh_redis_or_cluster_url: str
) -> None:
    stack = build_stack(database_url, fresh_redis_or_cluster_url)
    try:
        with stack.uow() as uow:
            stack.service.set_on_hand(uow, "w1", "a", 10)
            stack.service.set_on_hand(uow, "w2", "a", 3)
            uow.commit()
        with stack.uow() as uow:
            stack.service.reserve(uow, "o1", [L("w1", "a", 4), L("w2", "a", 1)])
            uow.commit()
        before = stack.service.locks.all_levels()
        assert stack.redis_client is not None
        stack.redis_client.flushall()  # Redis restarted with no persistence
        fresh = StockService(new_locks(stack.redis_client))
        assert not fresh.locks.is_loaded()
        with stack.uow() as uow:
            assert fresh.rebuild_if_needed(uow)
            assert not fresh.rebuild_if_needed(uow)
        assert fresh.locks.all_levels() == before
        assert fresh.locks.holds("o1") == [L("w1", "a", 4), L("w2", "a", 1)]
        with stack.uow() as uow:
            fresh.release(uow, "o1")
            uow.commit()
        assert all(level.reserved == 0 for level in fresh.locks.all_levels().values())
        with stack.uow() as uow:
            summary = rebuild_fast_store(uow, fresh.locks)
        assert summary["levels"] == 2 and summary["reserved_units"] == 0
    finally:
        stack.close()


def test_redis_restart_under_a_running_service_is_reloaded_before_the_next_operation(
    database_url: str, fresh_redis_or_cluster_url: str
) -> None:
    stack = build_stack(database_url, fresh_redis_or_cluster_url)
    try:
        with stack.uow() as uow:
            stack.service.set_on_hand(uow, "w1", "a", 10)
            uow.commit()
        with stack.uow() as uow:
            stack.service.reserve(uow, "o1", [L("w1", "a", 8)])
            uow.commit()
        assert stack.redis_client is not None
        stack.redis_client.flushall()  # same service object: it must notice and reload
        with stack.uow() as uow, pytest.raises(StockBelowReserved):
            stack.service.set_on_hand(uow, "w1", "a", 5)
        with stack.uow() as uow, pytest.raises(InsufficientStock):
            stack.service.reserve(uow, "o2", [L("w1", "a", 3)])
        stack.redis_client.flushall()
        with stack.uow() as uow:
            level = stack.service.level(uow, "w1", "a")
        assert (level.on_hand, level.reserved, level.available) == (10, 8, 2)
    finally:
        stack.close()


def test_redis_restart_is_reloaded_before_allocation_reads_availability(
    database_url: str, fresh_redis_or_cluster_url: str
) -> None:
    """The first read of a unit of work asks for the loaded marker in the same round trip as the levels:
    a Redis that restarted empty is reloaded and read again, never read as "no stock"."""
    stack = build_stack(database_url, fresh_redis_or_cluster_url)
    try:
        with stack.uow() as uow:
            stack.service.set_on_hand(uow, "w1", "a", 10)
            stack.service.set_on_hand(uow, "w2", "a", 4)
            uow.commit()
        with stack.uow() as uow:
            stack.service.reserve(uow, "o1", [L("w1", "a", 8)])
            uow.commit()
        with stack.uow() as uow:
            assert stack.service.available_by_warehouse(uow, ["a"]) == {"w1": {"a": 2}, "w2": {"a": 4}}
        assert stack.redis_client is not None
        stack.redis_client.flushall()  # same service object, keys cached: it must notice and reload
        with stack.uow() as uow:
            assert stack.service.available_by_warehouse(uow, ["a"]) == {"w1": {"a": 2}, "w2": {"a": 4}}
            with pytest.raises(InsufficientStock):
                stack.service.reserve(uow, "o2", [L("w1", "a", 3)])
        assert stack.service.locks.is_loaded()
        assert stack.service.locks.holds("o1") == [L("w1", "a", 8)]
    finally:
        stack.close()


def test_concurrent_rebuilders_load_once(database_url: str, fresh_redis_or_cluster_url: str) -> None:
    stack = build_stack(database_url, fresh_redis_or_cluster_url)
    try:
        with stack.uow() as uow:
            stack.service.set_on_hand(uow, "w1", "a", 4)
            uow.commit()
        assert stack.redis_client is not None
        stack.redis_client.flushall()
        services = [StockService(new_locks(stack.redis_client)) for _ in range(6)]
        outcomes: list[bool] = []

        def rebuild(service: StockService) -> None:
            with stack.uow() as uow:
                outcomes.append(service.rebuild_if_needed(uow))

        threads = [threading.Thread(target=rebuild, args=(service,)) for service in services]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == [False] * 5 + [True]
        assert services[0].locks.levels([("w1", "a")])[("w1", "a")].on_hand == 4
    finally:
        stack.close()


def test_a_redis_that_lost_its_scripts_holds_each_group_once(fresh_redis_or_cluster_url: str) -> None:
    client = redis_client_from_url(fresh_redis_or_cluster_url)
    locks = RedisStockLocks(client)
    locks.set_on_hand("w1", "a", 10)
    locks.set_on_hand("w2", "a", 10)
    client.script_flush()  # as after a restart (on a cluster: every master)
    locks.reserve("o1", [L("w1", "a", 2), L("w2", "a", 3)])
    levels = locks.levels([("w1", "a"), ("w2", "a")])
    assert (levels[("w1", "a")].reserved, levels[("w2", "a")].reserved) == (2, 3)
    assert locks.holds("o1") == [L("w1", "a", 2), L("w2", "a", 3)]
    client.close()
