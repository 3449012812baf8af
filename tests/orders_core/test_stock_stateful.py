"""Stateful property test: random stock operations keep every store consistent with a plain model.

Under random set_on_hand / reserve (committed or rolled back) / release / consume / cancel / rebuild, for
every key: ``on_hand == available + reserved``, nothing is negative, the fast store equals the model,
and the durable rows agree (levels, and reserved == sum of held reservation rows).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from orders_core.stock.model import InsufficientStock, ReservationLine, StockBelowReserved
from orders_core.stock.rebuild import rebuild_fast_store
from orders_core.stock.repository import StockRepository

from .test_stock_support import STORE_KINDS, StockStack, build_stack, fresh_redis_url_for

KEYS = [("w1", "a"), ("w1", "b"), ("w2", "a"), ("w2", "c")]
ORDERS = [f"o{i}" for i in range(5)]

keys = st.sampled_from(KEYS)
orders = st.sampled_from(ORDERS)
lines = st.lists(st.tuples(keys, st.integers(1, 6)), min_size=1, max_size=4)


@pytest.fixture(params=STORE_KINDS)
def stack(request: pytest.FixtureRequest, database_url: str) -> Iterator[StockStack]:
    built = build_stack(database_url, fresh_redis_url_for(request.param, request))
    yield built
    built.close()


def test_stock_stays_consistent_under_random_operations(stack: StockStack, backend: str) -> None:
    class StockMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            stack.reset()
            self.on_hand: dict[tuple[str, str], int] = {}
            self.holds: dict[str, dict[tuple[str, str], int]] = {}

        def reserved(self, key: tuple[str, str]) -> int:
            return sum(hold.get(key, 0) for hold in self.holds.values())

        @rule(key=keys, on_hand=st.integers(0, 25))
        def set_on_hand(self, key: tuple[str, str], on_hand: int) -> None:
            try:
                with stack.uow() as uow:
                    stack.service.set_on_hand(uow, key[0], key[1], on_hand)
                    uow.commit()
            except StockBelowReserved:
                assert on_hand < self.reserved(key)
            else:
                assert on_hand >= self.reserved(key)
                self.on_hand[key] = on_hand

        @rule(order=orders, wanted=lines, commit=st.booleans())
        def reserve(self, order: str, wanted: list[tuple[tuple[str, str], int]], commit: bool) -> None:
            totals: dict[tuple[str, str], int] = {}
            for key, qty in wanted:
                totals[key] = totals.get(key, 0) + qty
            fits = all(self.on_hand.get(key, 0) - self.reserved(key) >= qty for key, qty in totals.items())
            try:
                with stack.uow() as uow:
                    stack.service.reserve(uow, order, [ReservationLine(k[0], k[1], q) for k, q in wanted])
                    if commit:
                        uow.commit()
            except InsufficientStock as refused:
                assert not fits
                short = {(s.warehouse_id, s.sku) for s in refused.shortages}
                assert short == {k for k, q in totals.items() if self.on_hand.get(k, 0) - self.reserved(k) < q}
            else:
                assert fits
                if commit:
                    hold = self.holds.setdefault(order, {})
                    for key, qty in totals.items():
                        hold[key] = hold.get(key, 0) + qty

        @rule(order=orders)
        def release_or_cancel(self, order: str) -> None:
            with stack.uow() as uow:
                released = stack.service.release(uow, order)
                uow.commit()
            expected = self.holds.pop(order, {})
            assert {(line.warehouse_id, line.sku): line.qty for line in released} == expected

        @rule(order=orders, wanted=lines)
        def reallocate(self, order: str, wanted: list[tuple[tuple[str, str], int]]) -> None:
            """Release and reserve again in ONE unit of work (re-planning an order)."""
            freed = self.holds.get(order, {})
            totals: dict[tuple[str, str], int] = {}
            for key, qty in wanted:
                totals[key] = totals.get(key, 0) + qty
            # The fast store frees the old hold only after commit, so it still counts here.
            fits = all(self.on_hand.get(key, 0) - self.reserved(key) >= qty for key, qty in totals.items())
            try:
                with stack.uow() as uow:
                    stack.service.release(uow, order)
                    stack.service.reserve(uow, order, [ReservationLine(k[0], k[1], q) for k, q in wanted])
                    uow.commit()
            except InsufficientStock:
                assert not fits
            else:
                assert fits
                assert freed is not None
                self.holds[order] = dict(totals)

        @rule(order=orders, share=st.floats(0.0, 1.0))
        def consume(self, order: str, share: float) -> None:
            hold = self.holds.get(order, {})
            picked = {key: int(qty * share) for key, qty in hold.items() if int(qty * share) > 0}
            if not picked:
                return
            with stack.uow() as uow:
                stack.service.consume(uow, order, [ReservationLine(k[0], k[1], q) for k, q in picked.items()])
                uow.commit()
            for key, qty in picked.items():
                hold[key] -= qty
                self.on_hand[key] -= qty
                if hold[key] == 0:
                    del hold[key]

        @rule()
        def rebuild(self) -> None:
            with stack.uow() as uow:
                rebuild_fast_store(uow, stack.service.locks)

        @invariant()
        def stores_agree_with_the_model(self) -> None:
            fast = stack.service.locks.all_levels()
            with stack.uow() as uow:
                repo = StockRepository(uow.session)
                durable = repo.all_levels()
                held_rows = repo.held_totals()
                by_warehouse = stack.service.available_by_warehouse(uow, ["a", "b", "c"])
            free: dict[str, dict[str, int]] = {}
            for (wh, sku), on_hand in self.on_hand.items():
                free.setdefault(wh, {})[sku] = on_hand - self.reserved((wh, sku))
            assert by_warehouse == free
            assert set(fast) == set(durable) == set(self.on_hand)
            for key, on_hand in self.on_hand.items():
                reserved = self.reserved(key)
                for level in (fast[key], durable[key]):
                    assert level.on_hand == level.available + level.reserved
                    assert level.on_hand >= 0 and level.reserved >= 0 and level.available >= 0
                    assert (level.on_hand, level.reserved) == (on_hand, reserved)
                assert held_rows.get(key, 0) == reserved
            for order in ORDERS:
                expected = sorted((k[0], k[1], q) for k, q in self.holds.get(order, {}).items())
                got = [(line.warehouse_id, line.sku, line.qty) for line in stack.service.locks.holds(order)]
                assert got == expected

    examples = 12 if backend == "postgis" else 30
    run_state_machine_as_test(
        StockMachine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
