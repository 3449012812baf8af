"""The stock protocol across crashes (docs/STOCK_PROTOCOL.md), on SQLite and PostGIS, memory and Redis stores.

Crashes are simulated without mocks: a unit of work abandoned after its fast-store hold (no hooks run, as
when the process dies), a commit made on the session directly (the after-commit hooks never run), a session
whose COMMIT raises after the server committed, drift written straight into Redis or the tables.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, cast

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from orders_core.stock.locks import StockLocks
from orders_core.stock.model import InsufficientStock, ReservationLine, StockBelowReserved
from orders_core.stock.reconcile import StockReconciler
from orders_core.stock.redis_locks import stock_key, warehouse_marker
from orders_core.stock.repository import StockRepository
from orders_core.stock.service import StockService
from orders_core.unit_of_work import CommitOutcome, UnitOfWork

from .test_stock_support import StockStack, build_stack, new_locks

L = ReservationLine
LEASE_S = 0.3


@pytest.fixture(params=["memory", "redis"])
def stack(request: pytest.FixtureRequest, database_url: str) -> Iterator[StockStack]:
    redis_url = request.getfixturevalue("fresh_redis_url") if request.param == "redis" else None
    built = build_stack(database_url, redis_url)
    built.service = StockService(built.service.locks, lease_s=LEASE_S)
    yield built
    built.close()


def _stocked(stack: StockStack, **counts: int) -> None:
    with stack.uow() as uow:
        for name, on_hand in counts.items():
            warehouse_id, sku = name.split("_")
            stack.service.set_on_hand(uow, warehouse_id, sku, on_hand)
        uow.commit()


def _fast(locks: StockLocks, warehouse_id: str, sku: str) -> tuple[int, int]:
    level = locks.levels([(warehouse_id, sku)])[(warehouse_id, sku)]
    return level.on_hand, level.reserved


def _durable(stack: StockStack, warehouse_id: str, sku: str) -> tuple[int, int]:
    with stack.uow() as uow:
        level = StockRepository(uow.session).level(warehouse_id, sku)
    assert level is not None
    return level.on_hand, level.reserved


def _reconciler(stack: StockStack, grace_s: float = 0.0) -> StockReconciler:
    repairs: list[tuple[str, int]] = []
    reconciler = StockReconciler(
        stack.uow, stack.service.locks, grace_s=grace_s, on_repair=lambda k, n: repairs.append((k, n))
    )
    reconciler.repairs = repairs  # type: ignore[attr-defined]
    return reconciler


# -- database constraints -------------------------------------------------------------------------------------


def test_the_database_refuses_a_direct_oversell(stack: StockStack) -> None:
    _stocked(stack, w1_a=5)
    with pytest.raises(IntegrityError), stack.uow() as uow:
        uow.session.execute(text("UPDATE stock_levels SET reserved = 6 WHERE warehouse_id = 'w1' AND sku = 'a'"))
        uow.commit()
    assert _durable(stack, "w1", "a") == (5, 0)


def test_a_fast_store_that_drifted_high_is_refused_by_the_database_cleanly(stack: StockStack) -> None:
    _stocked(stack, w1_a=5, w1_b=5)
    stack.service.locks.put_on_hand("w1", "a", 50)  # the fast store believes in goods that are not there
    with stack.uow() as uow:
        with pytest.raises(InsufficientStock) as refused:
            stack.service.reserve(uow, "o1", [L("w1", "a", 7), L("w1", "b", 2)])
        assert [(s.sku, s.available) for s in refused.value.shortages] == [("a", 5)]
        assert stack.service.locks.holds("o1") == []  # given back at once: the caller may go on
        stack.service.reserve(uow, "o1", [L("w1", "a", 5), L("w1", "b", 2)])  # the transaction is still usable
        uow.commit()
    assert _durable(stack, "w1", "a") == (5, 5) and _durable(stack, "w1", "b") == (5, 2)
    with stack.uow() as uow:
        assert StockRepository(uow.session).held_lines("o1") == [L("w1", "a", 5), L("w1", "b", 2)]


def test_set_on_hand_below_durable_holds_is_409_even_if_the_fast_store_forgot_them(stack: StockStack) -> None:
    _stocked(stack, w1_a=10)
    with stack.uow() as uow:
        stack.service.reserve(uow, "o1", [L("w1", "a", 6)])
        uow.commit()
    stack.service.locks.release("o1")  # the fast store lost the hold (drift)
    with stack.uow() as uow, pytest.raises(StockBelowReserved):
        stack.service.set_on_hand(uow, "w1", "a", 4)
    assert _durable(stack, "w1", "a") == (10, 6)


# -- set_on_hand: the fast store learns a count once it is durable ------------------------------------------


def test_a_raised_count_is_not_reservable_before_commit_and_a_rollback_leaves_nothing(stack: StockStack) -> None:
    _stocked(stack, w1_a=2)
    with stack.uow() as uow:
        stack.service.set_on_hand(uow, "w1", "a", 9)
        assert _fast(stack.service.locks, "w1", "a") == (2, 0)  # not before commit
        # an order racing with the uncommitted raise cannot take the 7 units that may roll back
        with stack.uow() as other, pytest.raises(InsufficientStock):
            stack.service.reserve(other, "o1", [L("w1", "a", 3)])
    # rolled back: nothing to undo, the store never saw it
    assert _fast(stack.service.locks, "w1", "a") == (2, 0)
    with stack.uow() as uow:
        stack.service.set_on_hand(uow, "w1", "a", 9)
        uow.commit()
    assert _fast(stack.service.locks, "w1", "a") == (9, 0)


# -- leases: a process dying between the fast-store hold and the commit -------------------------------------


def _abandon(stack: StockStack, order_id: str, lines: list[ReservationLine]) -> None:
    """Take the hold, write the rows, then "die": no commit, no hooks (the session just goes away)."""
    uow = stack.uow().__enter__()
    stack.service.reserve(uow, order_id, lines)
    uow.session.rollback()  # what the server does when the connection of a dead process drops
    uow.session.close()


def test_a_hold_whose_process_died_before_commit_is_freed_once_its_lease_expires(stack: StockStack) -> None:
    _stocked(stack, w1_a=5, w2_a=5)
    stack.service = StockService(stack.service.locks, lease_s=2.0)  # outlives the first pass on a slow machine
    _abandon(stack, "o-dead", [L("w1", "a", 4), L("w2", "a", 1)])
    assert _fast(stack.service.locks, "w1", "a") == (5, 4)
    reconciler = _reconciler(stack)
    report = reconciler.run()
    assert [d.state for d in report.drifts] == ["in_flight", "in_flight"]  # leased: maybe still committing
    assert _fast(stack.service.locks, "w1", "a") == (5, 4)
    time.sleep(2.2)
    report = reconciler.run()
    assert report.repaired_units == 5 and not report.unresolved
    assert reconciler.repairs == [("hold_freed", 4), ("hold_freed", 1)]  # type: ignore[attr-defined]
    assert _fast(stack.service.locks, "w1", "a") == (5, 0) and _fast(stack.service.locks, "w2", "a") == (5, 0)
    assert stack.service.locks.holds("o-dead") == []


def test_a_committed_hold_is_confirmed_and_never_freed(stack: StockStack) -> None:
    _stocked(stack, w1_a=5)
    with stack.uow() as uow:
        stack.service.reserve(uow, "o1", [L("w1", "a", 3)])
        assert [r.leased for r in stack.service.locks.hold_records()] == [True]
        uow.commit()
    assert [r.leased for r in stack.service.locks.hold_records()] == [False]
    time.sleep(LEASE_S + 0.2)
    assert _reconciler(stack).run().drifts == []
    assert _fast(stack.service.locks, "w1", "a") == (5, 3)


def test_a_release_committed_without_its_after_commit_hook_is_freed(stack: StockStack) -> None:
    _stocked(stack, w1_a=5)
    with stack.uow() as uow:
        stack.service.reserve(uow, "o1", [L("w1", "a", 3)])
        uow.commit()
    uow = stack.uow().__enter__()
    stack.service.release(uow, "o1")
    uow.session.commit()  # durable, then the process dies before the hooks
    uow.session.close()
    assert _fast(stack.service.locks, "w1", "a") == (5, 3) and _durable(stack, "w1", "a") == (5, 0)
    assert _reconciler(stack, grace_s=60).run().repaired_units == 0  # changed just now: left alone
    report = _reconciler(stack).run()
    assert report.repaired_units == 3
    assert _fast(stack.service.locks, "w1", "a") == (5, 0)


def test_a_count_whose_after_commit_write_was_lost_is_repaired_after_the_grace(stack: StockStack) -> None:
    _stocked(stack, w1_a=5)
    uow = stack.uow().__enter__()
    stack.service.set_on_hand(uow, "w1", "a", 8)
    uow.session.commit()
    uow.session.close()
    assert _fast(stack.service.locks, "w1", "a") == (5, 0)
    assert _reconciler(stack, grace_s=60).run().unresolved[0].state == "in_flight"
    reconciler = _reconciler(stack)
    assert reconciler.run().repaired_units == 3
    assert reconciler.repairs == [("on_hand", 3)]  # type: ignore[attr-defined]
    assert _fast(stack.service.locks, "w1", "a") == (8, 0)


def test_a_durable_hold_the_fast_store_lost_is_restored(stack: StockStack) -> None:
    _stocked(stack, w1_a=5)
    with stack.uow() as uow:
        stack.service.reserve(uow, "o1", [L("w1", "a", 2)])
        uow.commit()
    stack.service.locks.release("o1")
    assert _fast(stack.service.locks, "w1", "a") == (5, 0)
    assert _reconciler(stack).run().repaired_units == 2
    assert stack.service.locks.holds("o1") == [L("w1", "a", 2)]
    assert _fast(stack.service.locks, "w1", "a") == (5, 2)


def test_a_repair_does_not_clobber_a_hold_that_moved_since_it_was_read(stack: StockStack) -> None:
    _stocked(stack, w1_a=5)
    stack.service.locks.reserve("o-ghost", [L("w1", "a", 2)])  # no lease, no row
    assert stack.service.locks.repair_hold("o-ghost", "w1", {"a": 1}, {"a": 0}) is None  # read 1, it is 2
    assert _fast(stack.service.locks, "w1", "a") == (5, 2)
    assert stack.service.locks.repair_on_hand("w1", "a", 4, 9) is False
    assert stack.service.locks.repair_hold("o-ghost", "w1", {"a": 2}, {"a": 0}) == 2
    assert _fast(stack.service.locks, "w1", "a") == (5, 0)


# -- a COMMIT whose outcome is unknown ---------------------------------------------------------------------


class _CommitsThenLosesTheConnection(Session):
    """COMMIT reaches the server and succeeds, then the answer is lost."""

    def commit(self) -> None:
        super().commit()
        raise OperationalError("COMMIT", {}, ConnectionError("server closed the connection unexpectedly"))


class _LosesTheConnectionBeforeCommit(Session):
    """The connection drops before COMMIT reaches the server: the transaction rolls back."""

    def commit(self) -> None:
        super().rollback()
        raise OperationalError("COMMIT", {}, ConnectionError("server closed the connection unexpectedly"))


def _uow_with(stack: StockStack, session_class: type[Session], *, probe_fails: bool = False) -> UnitOfWork:
    faulty = sessionmaker(stack.engine, class_=session_class, expire_on_commit=False)
    if not probe_fails:
        calls: list[int] = []

        def factory() -> Session:
            calls.append(1)
            return faulty() if len(calls) == 1 else stack.session_factory()

        return UnitOfWork(cast(Any, factory))

    def unreachable() -> Session:
        if getattr(unreachable, "used", False):
            raise OperationalError("connect", {}, ConnectionError("database unreachable"))
        unreachable.used = True  # type: ignore[attr-defined]
        return faulty()

    return UnitOfWork(cast(Any, unreachable))


def test_a_commit_that_succeeded_but_raised_runs_the_after_commit_hooks(stack: StockStack) -> None:
    _stocked(stack, w1_a=5)
    with _uow_with(stack, _CommitsThenLosesTheConnection) as uow:
        stack.service.reserve(uow, "o1", [L("w1", "a", 3)])
        uow.commit()  # resolved as committed: no error, the work is durable
        assert uow.commit_outcome is CommitOutcome.COMMITTED
    assert _durable(stack, "w1", "a") == (5, 3)
    assert _fast(stack.service.locks, "w1", "a") == (5, 3)  # not compensated (the old code released it here)
    assert [r.leased for r in stack.service.locks.hold_records()] == [False]  # confirmed


def test_a_commit_that_rolled_back_and_raised_compensates(stack: StockStack) -> None:
    _stocked(stack, w1_a=5)
    with _uow_with(stack, _LosesTheConnectionBeforeCommit) as uow:
        stack.service.reserve(uow, "o1", [L("w1", "a", 3)])
        with pytest.raises(OperationalError):
            uow.commit()
        assert uow.commit_outcome is CommitOutcome.ROLLED_BACK
    assert _durable(stack, "w1", "a") == (5, 0)
    assert _fast(stack.service.locks, "w1", "a") == (5, 0)


def test_an_unreadable_outcome_runs_no_hook_and_leaves_the_lease_to_the_reconciler(stack: StockStack) -> None:
    _stocked(stack, w1_a=5)
    with _uow_with(stack, _LosesTheConnectionBeforeCommit, probe_fails=True) as uow:
        stack.service.reserve(uow, "o1", [L("w1", "a", 3)])
        with pytest.raises(OperationalError):
            uow.commit()
        assert uow.commit_outcome is CommitOutcome.UNKNOWN
    assert _fast(stack.service.locks, "w1", "a") == (5, 3)  # no guess: still held, under its lease
    time.sleep(LEASE_S + 0.2)
    assert _reconciler(stack).run().repaired_units == 3
    assert _fast(stack.service.locks, "w1", "a") == (5, 0)


def _fails() -> None:
    raise RuntimeError("an after-commit hook failed")


def test_a_failing_after_commit_hook_does_not_skip_the_others(stack: StockStack) -> None:
    ran: list[str] = []
    with stack.uow() as uow:
        uow.after_commit(lambda: ran.append("first"))
        uow.after_commit(_fails)
        uow.after_commit(lambda: ran.append("third"))
        uow.commit()
    assert ran == ["first", "third"]


# -- Redis Cluster: one master restarting empty loses its warehouses' keys and their marker -------------------


def test_a_warehouse_whose_keys_were_lost_is_reloaded(database_url: str, fresh_redis_url: str) -> None:
    stack = build_stack(database_url, fresh_redis_url)
    try:
        stack.service = StockService(stack.service.locks, lease_s=LEASE_S)
        _stocked(stack, w1_a=5, w2_a=7)
        with stack.uow() as uow:
            stack.service.reserve(uow, "o1", [L("w1", "a", 2), L("w2", "a", 3)])
            uow.commit()
        client = stack.redis_client
        assert client is not None
        for key in list(client.scan_iter(match="*{wh:w2}*")):  # the master of w2's slot restarted empty
            client.delete(key)
        assert stack.service.locks.is_loaded()  # the global marker lives elsewhere and survived
        assert not client.exists(stock_key("w2", "a")) and not client.exists(warehouse_marker("w2"))
        report = _reconciler(stack).run()
        assert [d.kind for d in report.drifts if d.state == "repaired"] == ["warehouse_reloaded"]
        assert _fast(stack.service.locks, "w2", "a") == (7, 3)
        assert _fast(stack.service.locks, "w1", "a") == (5, 2)
        assert stack.service.locks.holds("o1") == [L("w1", "a", 2), L("w2", "a", 3)]
        assert _reconciler(stack).run().drifts == []
    finally:
        stack.close()


def test_the_memory_store_follows_the_same_lease_rules(database_url: str) -> None:
    locks = new_locks(None)
    stack = build_stack(database_url, None)
    try:
        stack.service = StockService(locks, lease_s=LEASE_S)
        with stack.uow() as uow:
            stack.service.rebuild_if_needed(uow)
        _stocked(stack, w1_a=3)
        _abandon(stack, "o-dead", [L("w1", "a", 3)])
        assert locks.hold_records()[0].leased
        time.sleep(LEASE_S + 0.2)
        assert not locks.hold_records()[0].leased
    finally:
        stack.close()
