"""Line by line: what was ordered, reserved, loaded and delivered, and each shortfall's reason in the delay
taxonomy's codes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orders_core.orders.delays import REASONS, DelayCode
from orders_core.orders.line_fulfilment import FulfilmentFacts, LineFulfilment, Shortfall, line_fulfilment


def facts(lines: Sequence[tuple[str, int]], **given: Mapping[str, Any]) -> FulfilmentFacts:
    empty: dict[str, Any] = {}
    fields = ("taken_off", "reserved", "picked", "collected", "delivered", "open_shortage", "open_short_pick", "failed")
    return FulfilmentFacts(lines=lines, **{name: given.get(name, empty) for name in fields})


def by_sku(result: tuple[LineFulfilment, ...]) -> dict[str, LineFulfilment]:
    return {line.sku: line for line in result}


def test_a_delivered_order_has_every_unit_at_every_stage_and_no_shortfall() -> None:
    (line,) = line_fulfilment(
        facts([("S1", 4)], reserved={"S1": 4}, picked={"S1": 4}, collected={"S1": 4}, delivered={"S1": 4})
    )
    assert (line.ordered, line.reserved, line.loaded, line.delivered, line.shortfalls) == (4, 4, 4, 4, ())


def test_an_open_short_pick_names_the_missing_units() -> None:
    lines = line_fulfilment(
        facts(
            [("S1", 20), ("S2", 10)],
            reserved={"S1": 20, "S2": 10},
            picked={"S1": 20, "S2": 7},
            open_short_pick={"S2": 3},
        )
    )
    s1, s2 = by_sku(lines)["S1"], by_sku(lines)["S2"]
    assert s1.shortfalls == () and s1.loaded == 20
    assert s2.loaded == 7 and s2.shortfalls == (Shortfall(DelayCode.SHORT_PICK, 3),)


def test_units_taken_off_by_a_resolution_still_count_as_ordered() -> None:
    # Shipped as picked: the line went from 10 to 7; the customer ordered 10.
    (line,) = line_fulfilment(
        facts([("S2", 7)], taken_off={"S2": [(DelayCode.SHORT_PICK, 3)]}, reserved={"S2": 7}, picked={"S2": 7})
    )
    assert (line.ordered, line.reserved, line.loaded) == (10, 7, 7)
    assert line.shortfalls == (Shortfall(DelayCode.SHORT_PICK, 3),)


def test_a_line_dropped_entirely_is_still_listed() -> None:
    lines = line_fulfilment(facts([("S1", 2)], taken_off={"S9": [(DelayCode.STOCK_SHORTAGE, 5)]}))
    assert [line.sku for line in lines] == ["S1", "S9"]
    assert by_sku(lines)["S9"].ordered == 5 and by_sku(lines)["S9"].shortfalls[0].code is DelayCode.STOCK_SHORTAGE


def test_an_open_shortage_counts_only_the_units_not_reserved() -> None:
    (line,) = line_fulfilment(facts([("S1", 8)], reserved={}, open_shortage={"S1": 3}))
    assert line.reserved == 0 and line.shortfalls == (Shortfall(DelayCode.STOCK_SHORTAGE, 3),)


def test_loaded_counts_what_the_carrier_collected_when_no_pick_was_confirmed() -> None:
    (line,) = line_fulfilment(facts([("S1", 5)], reserved={"S1": 5}, collected={"S1": 5}))
    assert line.loaded == 5


def test_a_failed_delivery_and_a_return_say_so() -> None:
    lines = line_fulfilment(
        facts(
            [("S1", 2), ("S2", 1)],
            reserved={"S1": 2, "S2": 1},
            collected={"S1": 2, "S2": 1},
            failed={"S1": [(DelayCode.FAILED_DELIVERY_ATTEMPT, 2)], "S2": [(DelayCode.RETURNED_TO_WAREHOUSE, 1)]},
        )
    )
    assert by_sku(lines)["S1"].shortfalls == (Shortfall(DelayCode.FAILED_DELIVERY_ATTEMPT, 2),)
    assert by_sku(lines)["S2"].shortfalls == (Shortfall(DelayCode.RETURNED_TO_WAREHOUSE, 1),)
    assert all(s.code in REASONS for line in lines for s in line.shortfalls)  # one taxonomy: every code has text
