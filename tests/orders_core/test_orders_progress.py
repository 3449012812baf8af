"""Progress against the promise on hand-made timelines: due and expected times per main-line node,
lateness, and the delay reason derived from what happened to the order (no database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from foundation.errors import InvalidInput
from orders_core.orders.delays import CAUSE_CODES, REASONS, DelayCode, delay_code_of_exception, describe
from orders_core.orders.model import MAIN_LINE, OrderStatus, TimelineEntry
from orders_core.orders.progress import CarrierEtas, order_progress
from orders_core.orders.promise import DeliveryTargets, promised_delivery

T0 = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)
TARGETS = DeliveryTargets(
    lead_time_s=86_400,
    to_credit_review_s=60,
    to_stock_locked_s=300,
    to_allocated_s=300,
    to_picking_s=7_200,
    to_loaded_s=7_200,
    to_in_transit_s=3_600,
    to_delivered_s=7_200,
)
PROMISE = T0 + timedelta(days=1)


@dataclass(frozen=True)
class Exc:
    kind: str
    created_at: datetime
    resolved_at: datetime | None = None


def at(**delta: float) -> datetime:
    return T0 + timedelta(**delta)


def entry(status: str, when: datetime, reason_code: str | None = None) -> TimelineEntry:
    return TimelineEntry(status=status, at=when, actor="test", reason_code=reason_code, reason=None)


def allocated_quickly() -> list[TimelineEntry]:
    return [
        entry("placed", T0, "order_placed"),
        entry("credit_review", at(seconds=1), "checks_started"),
        entry("stock_locked", at(seconds=2), "stock_reserved"),
        entry("allocated", at(seconds=3), "allocated"),
    ]


def progress(
    timeline: list[TimelineEntry],
    exceptions: list[Exc] | None = None,
    *,
    now: datetime,
    promised_by: datetime = PROMISE,
    etas: CarrierEtas | None = None,
    cancelled: bool = False,
):  # type: ignore[no-untyped-def]
    return order_progress(
        timeline,
        exceptions or [],
        placed_at=T0,
        promised_by=promised_by,
        targets=TARGETS,
        now=now,
        etas=etas,
        cancelled=cancelled,
    )


def test_an_order_on_plan_is_late_nowhere_and_its_plan_adds_the_targets() -> None:
    result = progress(allocated_quickly(), now=at(minutes=10))
    assert [n.status for n in result.nodes] == list(MAIN_LINE)
    assert not any(n.late or n.forecast_late or n.delay_code for n in result.nodes)
    due = {n.status: n.due_at for n in result.nodes}
    assert due[OrderStatus.STOCK_LOCKED] == at(seconds=360)
    assert due[OrderStatus.ALLOCATED] == at(seconds=660)
    assert due[OrderStatus.PICKING] == at(seconds=660 + 7_200)
    assert due[OrderStatus.IN_TRANSIT] == at(seconds=660 + 18_000)
    assert due[OrderStatus.DELIVERED] == PROMISE
    picking = result.node(OrderStatus.PICKING)
    # Reached early (at +3 s): the forecast keeps the plan rather than promising earlier.
    assert picking.reached_at is None and picking.expected_at == picking.due_at
    assert result.node(OrderStatus.ALLOCATED).reached_at == at(seconds=3)
    assert [n is not None for n in result.entry_nodes] == [True, True, True, True]


def test_credit_hold_before_a_late_stock_lock_is_the_reason() -> None:
    timeline = [
        entry("placed", T0, "order_placed"),
        entry("credit_review", at(seconds=1), "checks_started"),
        entry("on_hold", at(seconds=2), "credit_limit_exceeded"),
        entry("credit_review", at(hours=3), "credit_limit_exceeded_approved"),
        entry("stock_locked", at(hours=3, seconds=1), "stock_reserved"),
        entry("allocated", at(hours=3, seconds=2), "allocated"),
    ]
    exceptions = [Exc("credit_limit_exceeded", at(seconds=2), at(hours=3))]
    result = progress(timeline, exceptions, now=at(hours=3, minutes=1))
    locked = result.node(OrderStatus.STOCK_LOCKED)
    assert locked.late and locked.delay_code is DelayCode.CREDIT_HOLD
    assert locked.late_by_s == pytest.approx(3 * 3600 + 1 - 360)
    assert result.node(OrderStatus.ALLOCATED).delay_code is DelayCode.CREDIT_HOLD
    assert not result.node(OrderStatus.CREDIT_REVIEW).late
    # The hold and the return to credit review are not nodes; the first credit_review entry is.
    assert [n is not None for n in result.entry_nodes] == [True, True, False, False, True, True]
    # Downstream nodes are due on the plan made at placement: picking is already overdue, same cause.
    picking = result.node(OrderStatus.PICKING)
    assert picking.reached_at is None and picking.late and picking.delay_code is DelayCode.CREDIT_HOLD


def test_the_same_late_stock_lock_without_a_recorded_cause_is_the_checks_running_late() -> None:
    timeline = [
        entry("placed", T0),
        entry("credit_review", at(seconds=1)),
        entry("stock_locked", at(hours=1)),
    ]
    assert progress(timeline, now=at(hours=1)).node(OrderStatus.STOCK_LOCKED).delay_code is DelayCode.CHECKS_LATE


def test_an_order_still_on_hold_for_stock_is_overdue_with_stock_shortage() -> None:
    timeline = [
        entry("placed", T0),
        entry("credit_review", at(seconds=1)),
        entry("on_hold", at(seconds=2), "stock_shortage"),
    ]
    result = progress(timeline, [Exc("stock_shortage", at(seconds=2))], now=at(hours=1))
    locked = result.node(OrderStatus.STOCK_LOCKED)
    assert locked.reached_at is None and locked.late
    assert locked.late_by_s == pytest.approx(3600 - 360)
    assert locked.delay_code is DelayCode.STOCK_SHORTAGE
    assert result.node(OrderStatus.ALLOCATED).delay_code is DelayCode.STOCK_SHORTAGE
    # Not due yet, but its forecast (now + the targets in between) is past its due time: same cause.
    loaded = result.node(OrderStatus.LOADED)
    assert not loaded.late and loaded.forecast_late and loaded.delay_code is DelayCode.STOCK_SHORTAGE
    # stock_locked is overdue (could happen now), then allocated, picking and loaded follow by their targets.
    assert loaded.expected_at == at(hours=1) + timedelta(seconds=300 + 7_200 + 7_200)
    # The promise is a day away: delivery is still expected on time.
    assert not result.node(OrderStatus.DELIVERED).forecast_late


def test_a_hold_without_an_exception_explains_the_wait_as_a_hold() -> None:
    timeline = [entry("placed", T0), entry("credit_review", at(seconds=1)), entry("on_hold", at(seconds=2), "manual")]
    assert progress(timeline, now=at(hours=1)).node(OrderStatus.STOCK_LOCKED).delay_code is DelayCode.ON_HOLD


def test_a_wave_not_started_by_its_due_time_is_picking_late() -> None:
    result = progress(allocated_quickly(), now=at(hours=5))
    picking = result.node(OrderStatus.PICKING)
    assert picking.late and picking.reached_at is None
    assert picking.late_by_s == pytest.approx(5 * 3600 - 660 - 7_200)
    assert picking.delay_code is DelayCode.PICKING_LATE
    # The forecast of the nodes after the overdue one starts from now.
    assert result.node(OrderStatus.LOADED).expected_at == at(hours=5) + timedelta(seconds=7_200)


def in_transit_at(when: datetime) -> list[TimelineEntry]:
    return [
        *allocated_quickly(),
        entry("picking", at(hours=1)),
        entry("loaded", at(hours=2)),
        entry("in_transit", when),
    ]


def test_a_carrier_eta_past_the_promise_forecasts_a_late_delivery_by_the_carrier() -> None:
    eta = PROMISE + timedelta(hours=2)
    result = progress(in_transit_at(at(hours=3)), now=at(hours=4), etas=CarrierEtas(dropoff_at=eta))
    delivered = result.node(OrderStatus.DELIVERED)
    assert delivered.expected_at == eta and delivered.due_at == PROMISE
    assert not delivered.late and delivered.forecast_late
    assert delivered.delay_code is DelayCode.CARRIER_LATE
    # An ETA before the promise: on time, and the forecast follows it.
    early = progress(in_transit_at(at(hours=3)), now=at(hours=4), etas=CarrierEtas(dropoff_at=at(hours=5)))
    assert early.node(OrderStatus.DELIVERED).expected_at == at(hours=5)
    assert not early.node(OrderStatus.DELIVERED).forecast_late


def test_a_pickup_eta_sets_the_expected_in_transit_time() -> None:
    timeline = [*allocated_quickly(), entry("picking", at(hours=1)), entry("loaded", at(hours=2))]
    result = progress(timeline, now=at(hours=2, minutes=5), etas=CarrierEtas(pickup_at=at(hours=2, minutes=40)))
    assert result.node(OrderStatus.IN_TRANSIT).expected_at == at(hours=2, minutes=40)


def test_a_failed_attempt_explains_a_late_delivery_and_a_slow_drive_is_the_carrier() -> None:
    late_delivery = PROMISE + timedelta(hours=2)
    failed = [
        *in_transit_at(at(hours=3)),
        entry("in_transit", at(hours=20), "delivery_failed"),
        entry("delivered", late_delivery),
    ]
    result = progress(failed, now=late_delivery)
    delivered = result.node(OrderStatus.DELIVERED)
    assert delivered.late and delivered.late_by_s == pytest.approx(7200)
    assert delivered.delay_code is DelayCode.FAILED_DELIVERY_ATTEMPT
    assert result.entry_nodes[-2] is None  # the note is not a node
    slow = [*in_transit_at(at(hours=3)), entry("delivered", late_delivery)]
    assert progress(slow, now=late_delivery).node(OrderStatus.DELIVERED).delay_code is DelayCode.CARRIER_LATE


def test_the_step_that_overran_most_is_blamed_not_an_early_short_exception() -> None:
    timeline = [
        entry("placed", T0),
        entry("credit_review", at(seconds=1)),
        entry("on_hold", at(seconds=2), "price_conflict"),
        entry("credit_review", at(minutes=7)),
        entry("stock_locked", at(minutes=7, seconds=1)),
        entry("allocated", at(minutes=7, seconds=2)),
        entry("picking", at(hours=1)),
        entry("loaded", at(hours=2)),
        entry("in_transit", at(hours=3)),
        entry("delivered", PROMISE + timedelta(hours=3)),
    ]
    exceptions = [Exc("price_conflict", at(seconds=2), at(minutes=7))]
    result = progress(timeline, exceptions, now=PROMISE + timedelta(hours=4))
    assert result.node(OrderStatus.STOCK_LOCKED).delay_code is DelayCode.PRICE_CONFLICT
    assert result.node(OrderStatus.DELIVERED).delay_code is DelayCode.CARRIER_LATE


def test_no_carrier_in_range_explains_a_late_pickup() -> None:
    loaded = [*allocated_quickly(), entry("picking", at(hours=1)), entry("loaded", at(hours=2))]
    exceptions = [Exc("no_carrier_in_range", at(hours=2, seconds=1))]
    result = progress(loaded, exceptions, now=at(hours=9))
    in_transit = result.node(OrderStatus.IN_TRANSIT)
    assert in_transit.late and in_transit.delay_code is DelayCode.NO_CARRIER_IN_RANGE


def test_a_cancelled_order_expects_nothing_more() -> None:
    timeline = [*allocated_quickly(), entry("cancelled", at(minutes=30))]
    result = progress(timeline, now=at(days=3), cancelled=True)
    ahead = [n for n in result.nodes if n.reached_at is None]
    assert [n.status for n in ahead] == list(MAIN_LINE[4:])
    assert all(n.due_at is None and n.expected_at is None and not n.late and n.delay_code is None for n in ahead)


def test_a_promise_sooner_than_the_plan_caps_every_node_at_the_promise() -> None:
    promise = at(hours=1)
    result = progress(allocated_quickly(), now=at(minutes=5), promised_by=promise)
    assert [n.due_at for n in result.nodes][4:] == [promise] * 4
    assert result.node(OrderStatus.ALLOCATED).due_at == at(seconds=660)


def test_every_delay_code_has_both_texts_and_every_cause_a_code() -> None:
    assert set(REASONS) == set(DelayCode)
    for code in DelayCode:
        assert describe(code, "en") and describe(code, "zh") and describe(code, "en") != describe(code, "zh")
    assert describe(DelayCode.CREDIT_HOLD) == REASONS[DelayCode.CREDIT_HOLD].zh  # Chinese by default
    assert set(CAUSE_CODES.values()) <= set(DelayCode)
    # The exception kinds the pipeline opens count under their own reason, not a plain hold.
    kinds = ("price_conflict", "credit_limit_exceeded", "credit_overdue", "stock_shortage", "short_pick")
    transport = ("no_carrier_in_range", "delivered_far_from_dropoff", "shipment_returned")
    for kind in kinds + transport:
        assert delay_code_of_exception(kind) is not DelayCode.ON_HOLD
    assert delay_code_of_exception("something_new") is DelayCode.ON_HOLD


def test_a_requested_promise_must_be_aware_future_and_within_a_year() -> None:
    assert promised_delivery(T0, None, TARGETS) == T0 + timedelta(days=1)
    assert promised_delivery(T0, at(hours=5), TARGETS) == at(hours=5)
    for bad in (datetime(2025, 3, 4, 8, 0), T0, at(days=-1), at(days=400)):
        with pytest.raises(InvalidInput, match="promised_by"):
            promised_delivery(T0, bad, TARGETS)


def test_delivery_targets_refuse_negative_or_zero_lead_time() -> None:
    with pytest.raises(ValueError, match="to_picking_s"):
        DeliveryTargets(to_picking_s=-1)
    with pytest.raises(ValueError, match="lead_time_s"):
        DeliveryTargets(lead_time_s=0)
