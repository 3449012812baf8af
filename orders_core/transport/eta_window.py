"""An honest delivery window around a carrier's ETA: narrow when the carrier was seen a moment ago close
to the drop-off and usually keeps its forecasts, wide when its last position is old, the road ahead is
long or its past forecasts scattered. Pure: a function of the ETA, the clock and a few measurements.

The rule (``eta_window``), each term in seconds and added to the side(s) it widens:

* a floor of ``min_half_width_s`` (5 min) on each side: nobody promises a minute;
* **position age**: the vehicle has driven (or stood) unseen since its last fix, so the forecast made
  there drifts either way by ``age_factor`` (0.5) x the fix's age;
* **remaining distance**: traffic changes the speed over what is left to drive, ``distance_factor``
  (15 %) of the remaining driving time on each side;
* **observed lateness**: how late this carrier actually delivered against the ETAs we forecast for it
  (``lateness_spread``: the 10th and 90th percentile of delivered minus forecast, over its recent
  deliveries): the early percentile (when negative) widens the early side, the late one (when positive)
  the late side. With fewer than ``min_samples`` observations the history is not trusted and adds
  nothing (the other terms still hold).

The window never starts before now: goods cannot arrive in the past, and a forecast that passed
without a delivery is centred on now instead (still due, and every term still widens it). Its ends are
rounded outwards to ``round_to_s`` (5 min; the start stays at now where rounding would reach back
before it), so the page reads "预计 14:05–14:35送达" rather than false precision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class EtaWindowParams:
    """How much each source of uncertainty widens the window (see the module docstring)."""

    min_half_width_s: float = 300.0
    age_factor: float = 0.5
    distance_factor: float = 0.15
    min_samples: int = 5
    round_to_s: float = 300.0


DEFAULT_ETA_WINDOW = EtaWindowParams()


@dataclass(frozen=True)
class LatenessSpread:
    """Percentiles of (delivered at - forecast ETA) over a carrier's recent deliveries, in seconds."""

    early_s: float
    late_s: float
    samples: int


@dataclass(frozen=True)
class EtaWindow:
    """When the goods are expected: between ``earliest`` and ``latest`` (``eta`` the central forecast)."""

    eta: datetime
    earliest: datetime
    latest: datetime

    @property
    def width_s(self) -> float:
        """How wide the window is, in seconds."""
        return (self.latest - self.earliest).total_seconds()


def _percentile(ordered: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile of an ascending sequence (``q`` in [0, 1])."""
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def lateness_spread(errors_s: Sequence[float]) -> LatenessSpread | None:
    """The 10th/90th percentiles of a carrier's forecast errors (None without any observation)."""
    if not errors_s:
        return None
    ordered = sorted(errors_s)
    return LatenessSpread(_percentile(ordered, 0.1), _percentile(ordered, 0.9), len(ordered))


def _round_down(at: datetime, step_s: float) -> datetime:
    stamp = at.timestamp()
    return datetime.fromtimestamp(math.floor(stamp / step_s) * step_s, UTC)


def _round_up(at: datetime, step_s: float) -> datetime:
    stamp = at.timestamp()
    return datetime.fromtimestamp(math.ceil(stamp / step_s) * step_s, UTC)


def eta_window(
    eta: datetime,
    *,
    now: datetime,
    position_age_s: float | None,
    remaining_drive_s: float | None,
    spread: LatenessSpread | None,
    params: EtaWindowParams = DEFAULT_ETA_WINDOW,
) -> EtaWindow:
    """The delivery window around ``eta`` by the rule in the module docstring (unknown terms add nothing)."""
    early = late = params.min_half_width_s
    if position_age_s is not None and position_age_s > 0:
        early += params.age_factor * position_age_s
        late += params.age_factor * position_age_s
    if remaining_drive_s is not None and remaining_drive_s > 0:
        early += params.distance_factor * remaining_drive_s
        late += params.distance_factor * remaining_drive_s
    if spread is not None and spread.samples >= params.min_samples:
        early += max(0.0, -spread.early_s)
        late += max(0.0, spread.late_s)
    centre = max(eta, now)  # not delivered yet: a forecast that has passed is "still due", from now on
    earliest = max(centre - timedelta(seconds=early), now)
    latest = centre + timedelta(seconds=late)
    if params.round_to_s > 0:
        earliest, latest = _round_down(earliest, params.round_to_s), _round_up(latest, params.round_to_s)
        earliest = max(earliest, now)  # rounding must not reach into the past
    return EtaWindow(eta=eta, earliest=earliest, latest=latest)
