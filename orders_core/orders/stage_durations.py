"""The stage-timing pre-aggregate: per placement day and node transition, how many orders took how long.

When a transaction sets an order's ``first_<node>_at`` (``milestones``), every transition of
``orders_core.analytics.stats.TRANSITIONS`` that thereby has both ends reached gets its duration counted in
``stage_duration_counts`` under the order's UTC creation day and the duration's log bucket (``BUCKETS``: every
duration within 2 % of its bucket's value). The analytics then answer p50/p90 for any run of whole days by
adding these counts, whatever the number of orders (issue 10 item 7).

The order's transaction only *inserts* its counts, once, just before it commits, into
``stage_duration_deltas``: upserting the shared counters there made concurrent orders of the same day queue on
the same few rows until each committed. ``fold_stage_durations`` (a periodic job, every
``DISPATCH_ANALYTICS_FOLD_INTERVAL_S``) moves the deltas into the counts with upserts that add
(``orders = orders + n``), keys sorted, and deletes them; readers add the deltas not yet folded.

The fold also keeps the same counts summed per calendar month (``stage_duration_month_counts``), so that a
long period reads a row set per month rather than per day.

``rebuild_stage_durations`` recomputes both tables from the orders' columns (migration 0025, the bench
data generator, and a repair after a bulk load that wrote order rows directly).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Table, delete, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from foundation.quantile_sketch import LogBuckets
from orders_core.analytics.stats import TRANSITIONS
from orders_core.orders.model import MAIN_LINE, OrderStatus
from orders_core.orders.tables import (
    OrderRow,
    StageDurationCountRow,
    StageDurationDeltaRow,
    StageDurationMonthCountRow,
)

#: Durations are kept within 2 % (relative) of their value; |d| <= 1 ms counts as 0.
BUCKETS = LogBuckets(alpha=0.02, min_value=0.001)
COUNTS: Table = StageDurationCountRow.__table__  # type: ignore[assignment]
MONTH_COUNTS: Table = StageDurationMonthCountRow.__table__  # type: ignore[assignment]
DELTAS: Table = StageDurationDeltaRow.__table__  # type: ignore[assignment]
_ORDERS: Table = OrderRow.__table__  # type: ignore[assignment]
#: Main-line status -> the order column holding the first time it was reached (as in ``milestones``).
FIRST_COLUMNS: dict[OrderStatus, str] = {status: f"first_{status.value}_at" for status in MAIN_LINE}
_PENDING = "orders_core.stage_duration_counts"

CountKey = tuple[date, str, str, int]
"""(creation day, from node, to node, bucket)."""


def reached_at(created_at: datetime, firsts: Mapping[OrderStatus, datetime | None], status: OrderStatus) -> Any:
    """When the order first reached ``status`` (placement falls back to creation, as ``stats`` defines)."""
    at = firsts.get(status)
    if at is None and status is OrderStatus.PLACED:
        return created_at
    return at


Duration = tuple[date, str, str, float]
"""(creation day, from node, to node, seconds): a count key before bucketing."""


def transition_durations(
    created_at: datetime,
    before: Mapping[OrderStatus, datetime | None],
    after: Mapping[OrderStatus, datetime | None],
) -> list[Duration]:
    """The durations of the transitions whose ends are both reached ``after`` but were not ``before``."""
    durations: list[Duration] = []
    day = created_at.date()
    for start, end in TRANSITIONS:
        if reached_at(created_at, before, start) is not None and reached_at(created_at, before, end) is not None:
            continue
        began, ended = reached_at(created_at, after, start), reached_at(created_at, after, end)
        if began is not None and ended is not None:
            durations.append((day, start.value, end.value, (ended - began).total_seconds()))
    return durations


def bucketed(durations: Sequence[Duration]) -> list[CountKey]:
    """The count keys of ``durations``, bucketed in one vectorised call (``BUCKETS.keys``, as the rebuild)."""
    if not durations:
        return []
    keys = BUCKETS.keys(np.array([seconds for *_, seconds in durations], dtype=float)).tolist()
    return [(day, a, b, key) for (day, a, b, _), key in zip(durations, keys, strict=True)]


def completed_transitions(
    created_at: datetime,
    before: Mapping[OrderStatus, datetime | None],
    after: Mapping[OrderStatus, datetime | None],
) -> list[CountKey]:
    """The count keys of the transitions whose ends are both reached ``after`` but were not ``before``."""
    return bucketed(transition_durations(created_at, before, after))


def add_stage_durations(session: Session, keys: Iterable[CountKey]) -> None:
    """Count ``keys`` in this transaction (written just before it commits: ``write_stage_durations``)."""
    pending: Counter[CountKey] = session.info.setdefault(_PENDING, Counter())
    pending.update(keys)


def drop_pending_stage_durations(session: Session) -> None:
    """Forget the counts of a transaction that rolled back."""
    session.info.pop(_PENDING, None)


def write_stage_durations(session: Session) -> None:
    """Insert the transaction's pending counts as deltas (no shared row is locked: see the module docstring)."""
    counts: Counter[CountKey] | None = session.info.pop(_PENDING, None)
    if counts:
        session.execute(insert(DELTAS), _rows(counts, "day"))


def fold_stage_durations(connection: Session | Connection, *, limit: int = 50_000) -> int:
    """Move up to ``limit`` deltas (oldest first) into the day and month counts in this transaction; returns
    how many were folded. Concurrent folds skip each other's rows (PostgreSQL ``SKIP LOCKED``)."""
    picked = (
        select(DELTAS.c.id, DELTAS.c.day, DELTAS.c.from_node, DELTAS.c.to_node, DELTAS.c.bucket, DELTAS.c.orders)
        .order_by(DELTAS.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = connection.execute(picked).all()
    if not rows:
        return 0
    counts: Counter[CountKey] = Counter()
    for _, day, a, b, bucket, orders in rows:
        counts[(day, a, b, bucket)] += orders
    ids = [row[0] for row in rows]
    for start in range(0, len(ids), 1000):
        connection.execute(delete(DELTAS).where(DELTAS.c.id.in_(ids[start : start + 1000])))
    dialect = connection.get_bind().dialect.name if isinstance(connection, Session) else connection.dialect.name
    connection.execute(_upsert(dialect, COUNTS, "day"), _rows(counts, "day"))
    connection.execute(_upsert(dialect, MONTH_COUNTS, "month"), _rows(by_month(counts), "month"))
    return len(rows)


def by_month(counts: Mapping[CountKey, int]) -> Counter[CountKey]:
    """The counts summed per calendar month (keyed by the month's first day)."""
    months: Counter[CountKey] = Counter()
    for (day, a, b, bucket), orders in counts.items():
        months[(day.replace(day=1), a, b, bucket)] += orders
    return months


def _rows(counts: Mapping[CountKey, int], period: str) -> list[dict[str, Any]]:
    return [
        {period: day, "from_node": a, "to_node": b, "bucket": bucket, "orders": counts[(day, a, b, bucket)]}
        for day, a, b, bucket in sorted(counts)
    ]


def _upsert(dialect: str, table: Table, period: str) -> Any:
    statement = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    return statement.on_conflict_do_update(
        index_elements=[table.c[period], table.c.from_node, table.c.to_node, table.c.bucket],
        set_={"orders": table.c.orders + statement.excluded.orders},
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def counts_of_orders(rows: Iterable[Sequence[Any]]) -> Counter[CountKey]:
    """The counts of whole orders given as ``(created_at, first_<node>_at for each MAIN_LINE node...)``."""
    days: list[date] = []
    times: list[list[int | None]] = []
    for created_at, *firsts in rows:
        days.append(created_at.date())
        firsts[0] = firsts[0] or created_at  # placement falls back to creation
        times.append([None if at is None else (at - _EPOCH) // _MICROSECOND for at in firsts])
    return counts_of_epoch_micros(days, times)


def counts_of_epoch_micros(days: Sequence[date], times: Sequence[Sequence[int | None]]) -> Counter[CountKey]:
    """The counts of whole orders given as their creation days and, per MAIN_LINE node, the epoch
    microseconds of its first reaching it (placement filled in) or None; vectorised per transition, with the
    keys ``completed_transitions`` gives one order at a time (both divide exact microseconds by 10**6)."""
    counts: Counter[CountKey] = Counter()
    if not days:
        return counts
    table = np.array(times, dtype=object)
    reached = table != None  # noqa: E711 - element-wise
    micros = np.where(reached, table, 0).astype(np.int64)
    day_array = np.array(days, dtype=object)
    column = {status: index for index, status in enumerate(MAIN_LINE)}
    for start, end in TRANSITIONS:
        a, b = column[start], column[end]
        both = reached[:, a] & reached[:, b]
        keys = BUCKETS.keys((micros[both, b] - micros[both, a]) / 1_000_000).tolist()
        counts.update(
            zip(day_array[both].tolist(), [start.value] * len(keys), [end.value] * len(keys), keys, strict=True)
        )
    return counts


def rebuild_stage_durations(connection: Connection, *, chunk: int = 5000, months: bool = True) -> int:
    """Recompute ``stage_duration_counts`` and (unless ``months`` is false: migration 0025 predates them) its
    month sums from every order's first-reached columns, dropping the deltas; returns the orders read."""
    connection.execute(delete(COUNTS))
    if months:
        connection.execute(delete(MONTH_COUNTS))
        connection.execute(delete(DELTAS))
    columns = [_ORDERS.c.created_at, *(_ORDERS.c[name] for name in FIRST_COLUMNS.values())]
    result = connection.execute(select(*columns).execution_options(yield_per=chunk))
    counts: Counter[CountKey] = Counter()
    orders = 0
    for rows in result.partitions():
        counts.update(counts_of_orders(rows))
        orders += len(rows)
    tables = [(COUNTS, "day", counts)] + ([(MONTH_COUNTS, "month", by_month(counts))] if months else [])
    for table, period, table_counts in tables:
        rows_out = _rows(table_counts, period)
        for start in range(0, len(rows_out), chunk):
            connection.execute(insert(table), rows_out[start : start + chunk])
    return orders
