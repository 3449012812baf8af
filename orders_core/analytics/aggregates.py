"""A period's stage timings, funnel and daily trend computed by the database, not per order in Python.

Counts (funnel, orders, placed/delivered per day, transition counts) are ``COUNT`` aggregates over the
period's orders (picked by the ``created_at`` index), grouped by UTC day for the trend. Percentiles:

* **PostgreSQL**: ``percentile_cont(p) WITHIN GROUP (ORDER BY seconds)`` per transition in one query, and per
  day for the trend in a second, grouped query. ``percentile_cont`` interpolates linearly between the two
  nearest ranks in double precision exactly as ``stats.percentile`` does.
* **SQLite** has no percentile aggregate: one query returns, per order, only the epoch microseconds at which it
  first reached each node (computed in SQL from the stored UTC text), fetched into numpy; each transition's
  durations are column differences, sorted there and interpolated with ``stats.sorted_percentile``, so the
  figures equal ``stats`` bit for bit.

Definitions follow ``stats``: placement is ``first_placed_at`` or, for orders stored before the timeline had a
``placed`` entry, ``created_at``; the funnel counts per node the orders that reached it or a later node.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
from sqlalchemy import ARRAY, ColumnElement, Date, Float, Integer, Select, cast, func, literal, literal_column, select
from sqlalchemy.orm import Session

from orders_core.analytics.stats import TRANSITIONS, DayTrend, Timing, sorted_percentile
from orders_core.orders.milestones import MILESTONE_COLUMNS
from orders_core.orders.model import MAIN_LINE, OrderStatus
from orders_core.orders.tables import OrderRow
from orders_core.unit_of_work import UnitOfWorkFactory

_END_TO_END = (OrderStatus.PLACED, OrderStatus.DELIVERED)


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


def _funnel_columns() -> list[ColumnElement[Any]]:
    """Per main-line node, the count of orders that reached it or a later node (placed: every order)."""
    columns: list[ColumnElement[Any]] = [func.count()]
    for index in range(1, len(MAIN_LINE)):
        later = [_reached_at(status) for status in MAIN_LINE[index:]]
        columns.append(func.count(func.coalesce(*later) if len(later) > 1 else later[0]))
    return columns


def _day(dialect: str) -> ColumnElement[Any]:
    """The UTC day an order was placed (``created_at``), as the backend can group by it."""
    if dialect == "postgresql":
        return cast(func.timezone("UTC", OrderRow.created_at), Date)
    return func.substr(OrderRow.created_at, 1, 10)  # stored as UTC text 'YYYY-MM-DD HH:MM:SS.ffffff'


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def funnel_query(start: datetime, end: datetime) -> Select[Any]:
    """The read behind ``period_funnel`` (also EXPLAINed by ``dispatch bench ui --explain``)."""
    return _in_period(select(*_funnel_columns()), start, end)


def period_funnel(new_uow: UnitOfWorkFactory, start: datetime, end: datetime) -> dict[OrderStatus, int]:
    """Per main-line node, how many orders placed in ``[start, end)`` reached it or a later node."""
    with new_uow() as uow:
        row = uow.session.execute(funnel_query(start, end)).one()
    return dict(zip(MAIN_LINE, (int(value) for value in row), strict=True))


def period_figures(new_uow: UnitOfWorkFactory, start: datetime, end: datetime) -> PeriodFigures:
    """Stage timings, funnel and daily trend of the orders placed in ``[start, end)`` (UTC)."""
    with new_uow() as uow:
        session = uow.session
        funnel_row = session.execute(funnel_query(start, end)).one()
        funnel = dict(zip(MAIN_LINE, (int(value) for value in funnel_row), strict=True))
        if session.get_bind().dialect.name == "postgresql":
            timings, trend = _postgres_percentiles(session, start, end)
        else:
            timings, trend = _sqlite_percentiles(session, start, end)
    return PeriodFigures(funnel[OrderStatus.PLACED], timings, funnel, trend)


# --- PostgreSQL: percentile_cont in the database ------------------------------------------------------------


def _pg_seconds(start: OrderStatus, end: OrderStatus) -> ColumnElement[Any]:
    return cast(func.extract("epoch", _reached_at(end) - _reached_at(start)), Float)


def _pg_percentile(seconds: ColumnElement[Any], p: float) -> ColumnElement[Any]:
    return func.percentile_cont(literal(p, Float)).within_group(seconds)


def _pg_p50_p90(seconds: ColumnElement[Any]) -> ColumnElement[Any]:
    """``[p50, p90]`` from one sort (``percentile_cont`` of an array of fractions)."""
    fractions = literal([0.5, 0.9], ARRAY(Float))
    return func.percentile_cont(fractions).within_group(seconds).op("::")(literal_column("float8[]"))


def timings_query_postgres(start: datetime, end: datetime) -> Select[Any]:
    """Per transition: count and ``[p50, p90]`` seconds, in one aggregate over the period's orders."""
    columns: list[ColumnElement[Any]] = []
    for a, b in TRANSITIONS:
        seconds = _pg_seconds(a, b)
        columns += [func.count(seconds), _pg_p50_p90(seconds)]
    return _in_period(select(*columns), start, end)


def trend_query_postgres(start: datetime, end: datetime) -> Select[Any]:
    """Per UTC day: orders placed, delivered and the end-to-end p50 seconds."""
    day = _day("postgresql").label("day")
    seconds = _pg_seconds(*_END_TO_END)
    query = select(day, func.count(), func.count(seconds), _pg_percentile(seconds, 0.5))
    return _in_period(query, start, end).group_by(day).order_by(day)


def _postgres_percentiles(session: Session, start: datetime, end: datetime) -> tuple[list[Timing], list[DayTrend]]:
    row = session.execute(timings_query_postgres(start, end)).one()
    timings = []
    for index, (a, b) in enumerate(TRANSITIONS):
        count, p50_p90 = row[2 * index : 2 * index + 2]
        p50, p90 = p50_p90 if p50_p90 is not None else (None, None)
        timings.append(Timing(a, b, int(count), _float(p50), _float(p90)))
    trend = [
        DayTrend(_as_date(day), int(placed), int(delivered), _float(p50))
        for day, placed, delivered, p50 in session.execute(trend_query_postgres(start, end))
    ]
    return timings, trend


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


# --- SQLite: durations in SQL, percentiles in numpy ---------------------------------------------------------


def _sqlite_micros(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """Microseconds since the epoch of a stored UTC text time, exactly (integer seconds + the fraction digits)."""
    whole = cast(func.strftime("%s", value), Integer) * 1_000_000
    return whole + cast(func.substr(value, 21, 6), Integer)


def durations_query_sqlite(start: datetime, end: datetime) -> Select[Any]:
    """Per order of the period: its UTC day, then the microseconds since the epoch at which it first reached
    each main-line node (NULL if not reached); the transitions' durations are their differences."""
    columns = [_day("sqlite")] + [_sqlite_micros(_reached_at(status)) for status in MAIN_LINE]
    return _in_period(select(*columns), start, end)


def _percentiles(micros: np.ndarray[Any, Any]) -> tuple[int, float | None, float | None]:
    reached = np.sort(micros[~np.isnan(micros)] / 1_000_000).tolist()
    return len(reached), sorted_percentile(reached, 0.5), sorted_percentile(reached, 0.9)


def _sqlite_percentiles(session: Session, start: datetime, end: datetime) -> tuple[list[Timing], list[DayTrend]]:
    rows = session.execute(durations_query_sqlite(start, end)).all()
    # Epoch microseconds (< 2**53) are exact in float64, so are their differences; NaN marks "not reached".
    at = np.array([row[1:] for row in rows], dtype=float).reshape(len(rows), len(MAIN_LINE))
    node = {status: index for index, status in enumerate(MAIN_LINE)}
    timings = [Timing(a, b, *_percentiles(at[:, node[b]] - at[:, node[a]])) for a, b in TRANSITIONS]
    end_to_end = at[:, node[OrderStatus.DELIVERED]] - at[:, node[OrderStatus.PLACED]]
    unique_days, which = np.unique(np.array([str(row[0]) for row in rows]), return_inverse=True)
    by_day = np.argsort(which, kind="stable")
    bounds = np.cumsum(np.bincount(which, minlength=len(unique_days)))
    trend = []
    for index, day in enumerate(unique_days.tolist()):
        members = by_day[(bounds[index - 1] if index else 0) : bounds[index]]
        count, p50, _ = _percentiles(end_to_end[members])
        trend.append(DayTrend(_as_date(day), len(members), count, p50))
    return timings, trend


def explained_queries(dialect: str, start: datetime, end: datetime) -> dict[str, Select[Any]]:
    """The reads ``period_figures`` runs on ``dialect``, by name (``dispatch bench ui --explain`` shows their plans)."""
    if dialect == "postgresql":
        return {
            "analytics_funnel": funnel_query(start, end),
            "analytics_timings": timings_query_postgres(start, end),
            "analytics_trend": trend_query_postgres(start, end),
        }
    return {"analytics_funnel": funnel_query(start, end), "analytics_timings": durations_query_sqlite(start, end)}
