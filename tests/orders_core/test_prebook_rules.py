"""The pre-booking rules (pure): soft holds share only what firm orders left, by customer score; firm demand
bumps them; a customer's own firm units consume its soft hold first; the pre-booked week."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from orders_core.stock.prebook import SoftHold, settle, week_of

T0 = datetime(2026, 11, 30, 9, tzinfo=UTC)


def hold(hid: str, customer: str, requested: int, priority: float, *, wh: str = "W", sku: str = "S") -> SoftHold:
    return SoftHold(hid, customer, wh, sku, requested, priority, T0)


def test_soft_holds_take_only_what_firm_orders_left_best_score_first() -> None:
    holds = [hold("a", "A", 6, 80), hold("b", "B", 6, 90)]
    result = settle(holds, {("W", "S"): 8}, {})
    assert (result["b"].held, result["b"].bumped) == (6, 0)  # higher score first
    assert (result["a"].held, result["a"].bumped) == (2, 4)
    # Firm orders took 5 more units: free drops to 3, the lowest score is bumped first.
    result = settle(holds, {("W", "S"): 3}, {})
    assert (result["b"].held, result["a"].held) == (3, 0)
    assert result["a"].bumped == 6
    # Nothing free (or a negative drift): nothing is held softly.
    assert all(r.held == 0 for r in settle(holds, {("W", "S"): -2}, {}).values())


def test_own_firm_units_consume_the_soft_hold_first() -> None:
    holds = [hold("a", "A", 10, 80)]
    result = settle(holds, {("W", "S"): 100}, {"a": 4})
    assert (result["a"].consumed, result["a"].held, result["a"].bumped) == (4, 6, 0)
    full = settle(holds, {("W", "S"): 100}, {"a": 12})["a"]
    assert (full.consumed, full.held, full.bumped) == (10, 0, 0)
    assert full.fulfilled


def test_soft_holds_never_exceed_free_stock_and_always_add_up() -> None:
    rng = random.Random(13)
    for _ in range(500):
        holds = [
            hold(f"h{i}", f"C{i % 4}", rng.randint(1, 20), rng.choice([60, 75, 90]), sku=rng.choice("XY"))
            for i in range(rng.randint(0, 8))
        ]
        free = {("W", sku): rng.randint(-3, 40) for sku in "XY"}
        own = {h.id: rng.randint(0, 10) for h in holds if rng.random() < 0.4}
        result = settle(holds, free, own)
        for sku in "XY":
            held = sum(result[h.id].held for h in holds if h.sku == sku)
            assert held <= max(free[("W", sku)], 0)
        for h in holds:
            r = result[h.id]
            assert r.consumed + r.held + r.bumped == h.requested
            assert r.consumed == min(h.requested, own.get(h.id, 0))
            # A hold gets units only once every hold of a higher score is served in full.
            if r.held:
                better = [o for o in holds if o.sku == h.sku and o.priority > h.priority]
                assert all(result[o.id].bumped == 0 for o in better)


def test_the_week_runs_from_monday_to_monday_utc() -> None:
    start, end = week_of(datetime(2026, 12, 3, 15, 30, tzinfo=UTC))  # a Thursday
    assert start == datetime(2026, 11, 30, tzinfo=UTC) and start.weekday() == 0
    assert end - start == timedelta(days=7)
    assert week_of(start) == (start, end)
