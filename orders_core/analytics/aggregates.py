"""A period's stage timings, funnel and daily trend, from counts the database keeps, not per order in Python.

* **Counts** (funnel, orders, placed/delivered per day) are ``COUNT`` aggregates of the period's orders per
  UTC day and furthest node reached (``orders.furthest_node``), read from the ``(created_at, furthest_node)``
  index alone: exact.
* **Percentiles** come from the stage-timing pre-aggregate ``stage_duration_counts``
  (``orders_core.orders.stage_durations``): per creation day, transition and log bucket, how many orders took
  that long. The whole calendar months of the period are read from its monthly sums, its other whole UTC
  days from the day rows (a few rows per day and transition, however many orders); the part of a period
  that starts or ends inside a day is read from those orders' own columns and bucketed the same way.
  p50/p90 interpolate between ranks like ``stats`` does, on bucket values: **each figure lies within 2 % of
  the exact one** (``foundation.quantile_sketch``); counts are exact.

Both backends run the same statements; the tests compare every figure with the pure reference (``stats``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Date, Integer, Select, and_, cast, func, or_, select, union_all
from sqlalchemy.orm import Session

from orders_core.analytics.stats import TRANSITIONS, DayTrend, Timing
from orders_core.orders.milestones import MILESTONE_COLUMNS
from orders_core.orders.model import MAIN_LINE, OrderStatus
from orders_core.orders.stage_durations import BUCKETS, COUNTS, DELTAS, MONTH_COUNTS, CountKey, counts_of_epoch_micros
from orders_core.orders.tables import OrderRow
from orders_core.unit_of_work import UnitOfWorkFactory

_END_TO_END = (OrderStatus.PLACED.value, OrderStatus.DELIVERED.value)


@dataclass(frozen=True)
class PeriodFigures:
    """Everything the stage-timing view shows for one period."""

    orders: int
    timings: list[Timing]
    funnel: dict[OrderStatus, int]
    trend: list[DayTrend]


def _reached_at(status: OrderStatus) -> ColumnElement[Any]:
    """The column holding the first time an order reached ``status`` (placement falls back to creation)."""
    column: ColumnElement[Any] = getattr(OrderRow, MILESTONE_COLUMNS[status.value])
    if status is OrderStatus.PLACED:
        return func.coalesce(column, OrderRow.created_at)
    return column


def _in_period(query: Select[Any], start: datetime, end: datetime) -> Select[Any]:
    return query.where(OrderRow.created_at >= start, OrderRow.created_at < end)


def _funnel(furthest_counts: dict[int, int]) -> dict[OrderStatus, int]:
    """Per main-line node, the orders that reached it or a later one, from the orders per furthest node."""
    reached, running = {}, 0
    for index in range(len(MAIN_LINE) - 1, -1, -1):
        running += furthest_counts.get(index, 0)
        reached[MAIN_LINE[index]] = running
    return {status: reached[status] for status in MAIN_LINE}


def _day(dialect: str) -> ColumnElement[Any]:
    """The UTC day an order was created, as the backend can group by it."""
    if dialect == "postgresql":
        return cast(func.timezone("UTC", OrderRow.created_at), Date)
    return func.substr(OrderRow.created_at, 1, 10)  # stored as UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def funnel_query(start: datetime, end: datetime) -> Select[Any]:
    """The period's orders per furthest node (``period_funnel``; from the (created_at, furthest_node) index)."""
    columns: list[Any] = [OrderRow.furthest_node, func.count()]
    return _in_period(select(*columns), start, end).group_by(OrderRow.furthest_node)


def day_counts_query(dialect: str, start: datetime, end: datetime) -> Select[Any]:
    """Per UTC creation day of the period and furthest node, the orders (from the same index)."""
    day = _day(dialect).label("day")
    columns: list[Any] = [day, OrderRow.furthest_node, func.count()]
    return _in_period(select(*columns), start, end).group_by(day, OrderRow.furthest_node)


def counts_query(
    day_ranges: list[tuple[date, date]], months: tuple[date, date] | None, whole_days: tuple[date, date]
) -> Select[Any]:
    """Per transition and bucket, the orders created on the whole days ``day_ranges`` (``[first, end)`` each,
    from the day rows), in the whole months ``months`` (``[first, end)``, from the month rows), and the deltas
    not yet folded of all the ``whole_days``."""
    parts: list[Select[Any]] = []
    if day_ranges:
        days = or_(*(and_(COUNTS.c.day >= a, COUNTS.c.day < b) for a, b in day_ranges))
        parts.append(select(COUNTS.c.from_node, COUNTS.c.to_node, COUNTS.c.bucket, COUNTS.c.orders).where(days))
    if months is not None:
        within = and_(MONTH_COUNTS.c.month >= months[0], MONTH_COUNTS.c.month < months[1])
        parts.append(
            select(
                MONTH_COUNTS.c.from_node, MONTH_COUNTS.c.to_node, MONTH_COUNTS.c.bucket, MONTH_COUNTS.c.orders
            ).where(within)
        )
    unfolded = and_(DELTAS.c.day >= whole_days[0], DELTAS.c.day < whole_days[1])
    parts.append(select(DELTAS.c.from_node, DELTAS.c.to_node, DELTAS.c.bucket, DELTAS.c.orders).where(unfolded))
    rows = union_all(*parts).subquery()
    return select(rows.c.from_node, rows.c.to_node, rows.c.bucket, func.sum(rows.c.orders)).group_by(
        rows.c.from_node, rows.c.to_node, rows.c.bucket
    )


def trend_counts_query(first_day: date, end_day: date) -> Select[Any]:
    """Per day and bucket, the end-to-end durations of the orders created on ``[first_day, end_day)`` (day rows
    and deltas not yet folded)."""
    parts = [
        select(table.c.day, table.c.bucket, table.c.orders).where(
            table.c.day >= first_day,
            table.c.day < end_day,
            table.c.from_node == _END_TO_END[0],
            table.c.to_node == _END_TO_END[1],
        )
        for table in (COUNTS, DELTAS)
    ]
    rows = union_all(*parts).subquery()
    return select(rows.c.day, rows.c.bucket, func.sum(rows.c.orders)).group_by(rows.c.day, rows.c.bucket)


def period_funnel(new_uow: UnitOfWorkFactory, start: datetime, end: datetime) -> dict[OrderStatus, int]:
    """Per main-line node, how many orders placed in ``[start, end)`` reached it or a later node."""
    with new_uow() as uow:
        rows = uow.session.execute(funnel_query(start, end)).all()
    return _funnel({int(furthest): int(orders) for furthest, orders in rows})


@dataclass(frozen=True)
class _Split:
    """A period as the whole UTC days the pre-aggregate answers (``[first_day, end_day)``; of them, the whole
    calendar months ``months`` from the month rows, the other days from the day rows) and the partial-day
    ranges read per order."""

    first_day: date
    end_day: date
    partial: list[tuple[datetime, datetime]]

    @property
    def months(self) -> tuple[date, date] | None:
        first = self.first_day if self.first_day.day == 1 else _next_month(self.first_day)
        end = self.end_day.replace(day=1)
        return (first, end) if first < end else None

    @property
    def day_ranges(self) -> list[tuple[date, date]]:
        if self.first_day >= self.end_day:
            return []
        months = self.months
        if months is None:
            return [(self.first_day, self.end_day)]
        return [(a, b) for a, b in ((self.first_day, months[0]), (months[1], self.end_day)) if a < b]


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def _split(start: datetime, end: datetime) -> _Split:
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    first_day = start.date() if start.time() == time() else start.date() + timedelta(days=1)
    end_day = end.date()
    if first_day >= end_day:
        return _Split(first_day, first_day, [(start, end)])
    partial = []
    if start < _midnight(first_day):
        partial.append((start, _midnight(first_day)))
    if _midnight(end_day) < end:
        partial.append((_midnight(end_day), end))
    return _Split(first_day, end_day, partial)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _epoch_micros(dialect: str, value: ColumnElement[Any]) -> ColumnElement[Any]:
    """Microseconds since the epoch of a stored time, exactly, as an integer."""
    if dialect == "postgresql":
        return cast(func.extract("epoch", value) * 1_000_000, BigInteger)  # numeric: exact
    whole = cast(func.strftime("%s", value), Integer) * 1_000_000  # stored as UTC text with 6 fraction digits
    return whole + cast(func.substr(value, 21, 6), Integer)


def partial_query(dialect: str, ranges: list[tuple[datetime, datetime]]) -> Select[Any]:
    """Per order created in ``ranges``: its UTC day and the epoch microseconds it reached each node."""
    times = [_epoch_micros(dialect, _reached_at(status)) for status in MAIN_LINE]
    within = or_(*(and_(OrderRow.created_at >= a, OrderRow.created_at < b) for a, b in ranges))
    return select(_day(dialect), *times).where(within)


def _partial_counts(session: Session, dialect: str, ranges: list[tuple[datetime, datetime]]) -> Counter[CountKey]:
    """The pre-aggregate's counts for the orders created in ``ranges``, computed from their own columns."""
    if not ranges:
        return Counter()
    rows = session.execute(partial_query(dialect, ranges)).all()
    return counts_of_epoch_micros([_as_date(row[0]) for row in rows], [row[1:] for row in rows])


def period_figures(new_uow: UnitOfWorkFactory, start: datetime, end: datetime) -> PeriodFigures:
    """Stage timings, funnel and daily trend of the orders placed in ``[start, end)`` (UTC)."""
    split = _split(start, end)
    with new_uow() as uow:
        session = uow.session
        dialect = session.get_bind().dialect.name
        days: dict[date, dict[int, int]] = defaultdict(dict)
        for day, furthest, orders in session.execute(day_counts_query(dialect, start, end)).all():
            days[_as_date(day)][int(furthest)] = int(orders)
        by_transition: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
        by_day: dict[date, Counter[int]] = defaultdict(Counter)
        if split.first_day < split.end_day:
            whole_days = (split.first_day, split.end_day)
            for a, b, bucket, orders in session.execute(counts_query(split.day_ranges, split.months, whole_days)).all():
                by_transition[(a, b)][int(bucket)] += int(orders)
            for day, bucket, orders in session.execute(trend_counts_query(split.first_day, split.end_day)).all():
                by_day[_as_date(day)][int(bucket)] += int(orders)
        for (day, a, b, bucket), orders in _partial_counts(session, dialect, split.partial).items():
            by_transition[(a, b)][bucket] += orders
            if (a, b) == _END_TO_END:
                by_day[day][bucket] += orders
    period_counts: Counter[int] = Counter()
    for furthest_counts in days.values():
        period_counts.update(furthest_counts)
    funnel = _funnel(dict(period_counts))
    timings = [_timing(a, b, by_transition[(a.value, b.value)]) for a, b in TRANSITIONS]
    trend = []
    for day, furthest_counts in sorted(days.items()):
        reached = _funnel(furthest_counts)
        delivered = reached[OrderStatus.DELIVERED]
        trend.append(DayTrend(day, reached[OrderStatus.PLACED], delivered, BUCKETS.percentile(by_day[day], 0.5)))
    return PeriodFigures(funnel[OrderStatus.PLACED], timings, funnel, trend)


def _timing(start: OrderStatus, end: OrderStatus, counts: Counter[int]) -> Timing:
    total = sum(counts.values())
    return Timing(start, end, total, BUCKETS.percentile(counts, 0.5), BUCKETS.percentile(counts, 0.9))


def explained_queries(dialect: str, start: datetime, end: datetime) -> dict[str, Select[Any]]:
    """The reads ``period_figures`` runs on ``dialect``, by name (``dispatch bench ui --explain`` shows their plans)."""
    split = _split(start, end)
    return {
        "analytics_funnel": funnel_query(start, end),
        "analytics_day_counts": day_counts_query(dialect, start, end),
        "analytics_timings": counts_query(split.day_ranges, split.months, (split.first_day, split.end_day)),
        "analytics_trend": trend_counts_query(split.first_day, split.end_day),
    }
