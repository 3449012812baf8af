"""The pure rules of carrier callbacks: which event may follow which, ETAs, the event's own checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orders_core.transport.tracking import (
    CarrierEvent,
    CarrierEventPolicy,
    CarrierEventType,
    FailStrategy,
    InvalidCarrierEvent,
    dropoff_eta,
    impossible_because,
    is_superseded_pickup,
)

NOW = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
POLICY = CarrierEventPolicy(speed_kmh=36.0, detour_factor=1.0)  # 10 m/s on a straight line


def event(kind: CarrierEventType, minutes: float = 0, **fields: object) -> CarrierEvent:
    return CarrierEvent(event_id="e", waybill_no="W", type=kind, at=NOW + timedelta(minutes=minutes), **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "status", "allowed"),
    [
        (CarrierEventType.PICKED_UP, "assigned", True),
        (CarrierEventType.PICKED_UP, "picked_up", False),
        (CarrierEventType.PICKED_UP, "delivered", False),
        (CarrierEventType.DELIVERED, "assigned", True),
        (CarrierEventType.DELIVERED, "picked_up", True),
        (CarrierEventType.DELIVERED, "failed", True),
        (CarrierEventType.DELIVERED, "delivered", False),
        (CarrierEventType.FAILED, "picked_up", True),
        (CarrierEventType.FAILED, "delivered", False),
        (CarrierEventType.POSITION, "delivered", True),
    ],
)
def test_which_event_may_follow_which(kind: CarrierEventType, status: str, allowed: bool) -> None:
    reason = impossible_because(event(kind), status, status, returned=False, last_status_at=None)
    assert (reason is None) is allowed


def test_nothing_happens_on_a_cancelled_or_returned_waybill_and_history_is_not_rewritten() -> None:
    position = event(CarrierEventType.POSITION)
    on_cancelled = impossible_because(position, "assigned", "cancelled", returned=False, last_status_at=None)
    assert on_cancelled is not None and "cancelled" in on_cancelled
    delivered = event(CarrierEventType.DELIVERED)
    assert "returned" in str(impossible_because(delivered, "failed", "failed", returned=True, last_status_at=None))
    older = impossible_because(delivered, "failed", "failed", returned=False, last_status_at=NOW + timedelta(minutes=1))
    assert older is not None and "older" in older


def test_a_late_pickup_is_superseded_only_when_dated_before_the_outcome() -> None:
    pickup = event(CarrierEventType.PICKED_UP, minutes=-10)
    assert is_superseded_pickup(pickup, "delivered", NOW)
    assert not is_superseded_pickup(event(CarrierEventType.PICKED_UP, minutes=5), "delivered", NOW)
    assert not is_superseded_pickup(pickup, "assigned", None)


def test_eta_goes_through_the_warehouse_before_pickup() -> None:
    # 0.01 deg latitude ~ 1112 m: 111 s at 10 m/s.
    pickup_at, dropoff_at = dropoff_eta(POLICY, NOW, (31.00, 121.0), (31.02, 121.0), pickup=(31.01, 121.0))
    assert pickup_at is not None
    assert (pickup_at - NOW).total_seconds() == pytest.approx(111.2, abs=0.5)
    assert (dropoff_at - NOW).total_seconds() == pytest.approx(222.4, abs=1.0)
    none, straight = dropoff_eta(POLICY, NOW, (31.00, 121.0), (31.02, 121.0))
    assert none is None and straight == dropoff_at


def test_an_event_checks_its_own_fields() -> None:
    with pytest.raises(InvalidCarrierEvent, match="location"):
        event(CarrierEventType.POSITION).check(NOW, POLICY)
    with pytest.raises(InvalidCarrierEvent, match="reason"):
        event(CarrierEventType.FAILED).check(NOW, POLICY)
    with pytest.raises(InvalidCarrierEvent, match="strategy"):
        event(CarrierEventType.DELIVERED, strategy=FailStrategy.RETURN).check(NOW, POLICY)
    with pytest.raises(InvalidCarrierEvent, match="future"):
        event(CarrierEventType.PICKED_UP, minutes=10).check(NOW, POLICY)
    event(CarrierEventType.PICKED_UP, minutes=4).check(NOW, POLICY)  # within the skew


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="speed_kmh"):
        CarrierEventPolicy(speed_kmh=0)
    with pytest.raises(ValueError, match="max_delivery_attempts"):
        CarrierEventPolicy(max_delivery_attempts=0)
