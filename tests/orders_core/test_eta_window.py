"""The delivery window around a carrier's ETA: it widens with the position's age, the road left and the
carrier's observed forecast errors, never starts in the past, and is rounded outwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders_core.transport.eta_window import (
    EtaWindowParams,
    LatenessSpread,
    eta_window,
    lateness_spread,
)

NOW = datetime(2026, 11, 30, 6, 2, 30, tzinfo=UTC)
EXACT = EtaWindowParams(round_to_s=0)  # no rounding: the terms can be read off the widths


def width(age_s: float | None, drive_s: float | None, spread: LatenessSpread | None = None) -> float:
    eta = NOW + timedelta(hours=2)  # far enough that the window never meets now
    return eta_window(
        eta, now=NOW, position_age_s=age_s, remaining_drive_s=drive_s, spread=spread, params=EXACT
    ).width_s


def test_a_fresh_fix_near_the_drop_off_gets_the_narrowest_window() -> None:
    assert width(0, 0) == 2 * EXACT.min_half_width_s


def test_an_older_position_widens_the_window_by_the_age_factor_on_each_side() -> None:
    assert width(600, 0) - width(0, 0) == 2 * EXACT.age_factor * 600
    assert width(1800, 0) > width(600, 0)


def test_more_road_ahead_widens_the_window() -> None:
    assert width(0, 3600) - width(0, 0) == 2 * EXACT.distance_factor * 3600


def test_a_carrier_that_delivers_late_widens_the_late_side_only() -> None:
    eta = NOW + timedelta(hours=2)
    spread = LatenessSpread(early_s=120.0, late_s=900.0, samples=20)  # even early, it is never early
    window = eta_window(eta, now=NOW, position_age_s=0, remaining_drive_s=0, spread=spread, params=EXACT)
    assert (eta - window.earliest).total_seconds() == EXACT.min_half_width_s
    assert (window.latest - eta).total_seconds() == EXACT.min_half_width_s + 900.0
    scattered = LatenessSpread(early_s=-600.0, late_s=900.0, samples=20)
    window = eta_window(eta, now=NOW, position_age_s=0, remaining_drive_s=0, spread=scattered, params=EXACT)
    assert (eta - window.earliest).total_seconds() == EXACT.min_half_width_s + 600.0


def test_too_little_history_is_not_trusted() -> None:
    few = LatenessSpread(early_s=-3600.0, late_s=3600.0, samples=EXACT.min_samples - 1)
    assert width(0, 0, few) == width(0, 0)
    enough = LatenessSpread(early_s=-3600.0, late_s=3600.0, samples=EXACT.min_samples)
    assert width(0, 0, enough) == width(0, 0) + 7200.0


def test_a_forecast_that_passed_unseen_starts_the_window_now() -> None:
    eta = NOW - timedelta(minutes=20)
    window = eta_window(eta, now=NOW, position_age_s=3600, remaining_drive_s=600, spread=None)
    assert window.earliest >= NOW and window.latest > window.earliest
    assert window.earliest - NOW < timedelta(minutes=1)
    # Still due: centred on now, widened by every term (5 min + half the hour unseen + 15 % of the drive).
    assert window.latest >= NOW + timedelta(seconds=300 + 1800 + 90)


def test_the_ends_are_rounded_outwards_to_five_minutes() -> None:
    eta = NOW + timedelta(minutes=40)
    window = eta_window(eta, now=NOW, position_age_s=120, remaining_drive_s=900, spread=None)
    exact = eta_window(eta, now=NOW, position_age_s=120, remaining_drive_s=900, spread=None, params=EXACT)
    assert window.earliest.timestamp() % 300 == 0 and window.latest.timestamp() % 300 == 0
    assert window.earliest <= exact.earliest and window.latest >= exact.latest
    assert window.latest - exact.latest < timedelta(minutes=5)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    eta_offset_s=st.floats(-7200, 7200),
    age_s=st.floats(0, 7200),
    more_age_s=st.floats(0, 7200),
    drive_s=st.floats(0, 14400),
)
def test_the_window_never_starts_before_now_holds_a_future_eta_and_grows_with_age(
    eta_offset_s: float, age_s: float, more_age_s: float, drive_s: float
) -> None:
    eta = NOW + timedelta(seconds=eta_offset_s)
    window = eta_window(eta, now=NOW, position_age_s=age_s, remaining_drive_s=drive_s, spread=None)
    older = eta_window(eta, now=NOW, position_age_s=age_s + more_age_s, remaining_drive_s=drive_s, spread=None)
    assert window.earliest >= NOW
    if eta >= NOW:
        assert window.earliest <= eta <= window.latest
    assert older.latest >= window.latest and older.earliest <= window.earliest


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.floats(-10_000, 10_000), min_size=1, max_size=60))
def test_the_spread_is_the_10th_and_90th_percentile_of_the_errors(errors: list[float]) -> None:
    spread = lateness_spread(errors)
    assert spread is not None and spread.samples == len(errors)
    assert np.isclose(spread.early_s, np.percentile(errors, 10), atol=1e-6)
    assert np.isclose(spread.late_s, np.percentile(errors, 90), atol=1e-6)


def test_no_history_is_no_spread() -> None:
    assert lateness_spread([]) is None
