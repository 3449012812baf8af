"""Stage timings, funnel and daily trend from each order's first-reached times: pure, so tests can check
every figure by hand.

* A **transition** ``a -> b`` counts the orders that reached both nodes; its durations are ``b - a``.
* The **funnel** counts, per node, the orders that reached it or any later node of the main line (an order
  delivered has passed every node, even one its timeline skipped), so it never widens downstream.
* Percentiles interpolate linearly between the two nearest ranks (as PostgreSQL's ``percentile_cont``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from orders_core.orders.model import MAIN_LINE, OrderStatus

#: The transitions the desk reads first, then every consecutive pair of the main line.
HEADLINE_TRANSITIONS: tuple[tuple[OrderStatus, OrderStatus], ...] = (
    (OrderStatus.PLACED, OrderStatus.ALLOCATED),
    (OrderStatus.ALLOCATED, OrderStatus.LOADED),
    (OrderStatus.LOADED, OrderStatus.DELIVERED),
    (OrderStatus.PLACED, OrderStatus.DELIVERED),
)
TRANSITIONS: tuple[tuple[OrderStatus, OrderStatus], ...] = HEADLINE_TRANSITIONS + tuple(
    (MAIN_LINE[i], MAIN_LINE[i + 1]) for i in range(len(MAIN_LINE) - 1)
)


@dataclass(frozen=True)
class OrderReach:
    """One order of the period: when it was placed and when it first reached each main-line node."""

    order_id: str
    placed_at: datetime
    reached: dict[OrderStatus, datetime]


@dataclass(frozen=True)
class Timing:
    """Time spent between two nodes over the orders that reached both (seconds; None when count is 0)."""

    from_node: OrderStatus
    to_node: OrderStatus
    count: int
    p50_s: float | None
    p90_s: float | None


@dataclass(frozen=True)
class DayTrend:
    """Orders placed on one UTC day and the median end-to-end time of those of them delivered."""

    day: date
    placed: int
    delivered: int
    end_to_end_p50_s: float | None


def percentile(values: Sequence[float], p: float) -> float | None:
    """The ``p`` quantile (0..1) of ``values`` by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = p * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def _reached(order: OrderReach) -> dict[OrderStatus, datetime]:
    """First-reached times with placement filled in (orders stored before the timeline had a ``placed``)."""
    return {OrderStatus.PLACED: order.placed_at, **order.reached}


def _durations(
    reached_times: Sequence[dict[OrderStatus, datetime]], start: OrderStatus, end: OrderStatus
) -> list[float]:
    return [
        (reached[end] - reached[start]).total_seconds()
        for reached in reached_times
        if start in reached and end in reached
    ]


def stage_timings(orders: Sequence[OrderReach]) -> list[Timing]:
    """Count, p50 and p90 of every transition in ``TRANSITIONS`` (headline ones first)."""
    reached_times = [_reached(order) for order in orders]  # once per order, not once per transition
    timings = []
    for start, end in TRANSITIONS:
        durations = _durations(reached_times, start, end)
        timings.append(Timing(start, end, len(durations), percentile(durations, 0.5), percentile(durations, 0.9)))
    return timings


def funnel(orders: Sequence[OrderReach]) -> dict[OrderStatus, int]:
    """Per main-line node, how many orders reached it or a later node."""
    counts = dict.fromkeys(MAIN_LINE, 0)
    for order in orders:
        furthest = max(MAIN_LINE.index(status) for status in _reached(order) if status in MAIN_LINE)
        for status in MAIN_LINE[: furthest + 1]:
            counts[status] += 1
    return counts


def daily_trend(orders: Sequence[OrderReach]) -> list[DayTrend]:
    """Per UTC day with placements (oldest first): orders placed and the end-to-end p50 of those delivered."""
    days: dict[date, list[OrderReach]] = {}
    for order in orders:
        days.setdefault(order.placed_at.date(), []).append(order)
    trend = []
    for day in sorted(days):
        durations = _durations([_reached(o) for o in days[day]], OrderStatus.PLACED, OrderStatus.DELIVERED)
        trend.append(DayTrend(day, len(days[day]), len(durations), percentile(durations, 0.5)))
    return trend
