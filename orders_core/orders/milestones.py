"""Each order's first time at each main-line node, kept on the order row as its timeline is written.

The analytics (stage timings, funnel, trend) read a period's orders with these columns, one row per order,
instead of grouping every order's timeline rows at each request (issue 10, item 7). A timeline entry of a
main-line node sets its ``first_<node>_at`` unless it is set already (``COALESCE``: entries are appended in
time order, so the first one written is the first reached), in the same transaction as the entry: by the
buffered Core insert of the repository (``record_milestones``) or by an ORM insert of a ``TimelineRow``
(the mapper event below). The transitions a new milestone completes are counted in the stage-timing
pre-aggregate (``stage_durations``) by the same transaction; so are those of an order row inserted through
the ORM with its milestones already set (imports of history, tests).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, Connection, Integer, Table, bindparam, case, event, func, select, update
from sqlalchemy.orm import Mapper, Session, object_session

from foundation.columns import UtcDateTime
from orders_core.orders.model import MAIN_LINE, OrderStatus
from orders_core.orders.stage_durations import CountKey, add_stage_durations, completed_transitions
from orders_core.orders.tables import OrderRow, TimelineRow

#: Main-line status -> the order column holding the first time it was reached.
MILESTONE_COLUMNS: dict[str, str] = {status.value: f"first_{status.value}_at" for status in MAIN_LINE}

_ORDERS: Table = OrderRow.__table__  # type: ignore[assignment]
#: Main-line status -> its index in MAIN_LINE (the ``furthest_node`` the funnel counts by).
NODE_INDEX: dict[str, int] = {status.value: index for index, status in enumerate(MAIN_LINE)}
_FURTHEST: BindParameter[int] = bindparam("p_furthest", type_=Integer())
_SET_FIRSTS = (
    update(_ORDERS)
    .where(_ORDERS.c.id == bindparam("order_key"))
    .values(
        {
            **{
                column: func.coalesce(_ORDERS.c[column], bindparam(f"p_{column}", type_=UtcDateTime()))
                for column in MILESTONE_COLUMNS.values()
            },
            "furthest_node": case((_ORDERS.c.furthest_node >= _FURTHEST, _ORDERS.c.furthest_node), else_=_FURTHEST),
        }
    )
)


def first_times(entries: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, datetime]]:
    """Per order, the earliest ``at`` of each main-line status among timeline entries (dicts with
    ``order_id``, ``status``, ``at``)."""
    firsts: dict[str, dict[str, datetime]] = {}
    for entry in entries:
        column = MILESTONE_COLUMNS.get(entry["status"])
        if column is None:
            continue
        times = firsts.setdefault(entry["order_id"], {})
        if column not in times or entry["at"] < times[column]:
            times[column] = entry["at"]
    return firsts


#: Locked (PostgreSQL; SQLite has one writer) so that the counts follow the very row state the UPDATE changes,
#: even for a caller that did not lock the order first.
_CURRENT_FIRSTS = (
    select(_ORDERS.c.id, _ORDERS.c.created_at, *(_ORDERS.c[column] for column in MILESTONE_COLUMNS.values()))
    .where(_ORDERS.c.id.in_(bindparam("order_keys", expanding=True)))
    .order_by(_ORDERS.c.id)
    .with_for_update()
)


def stored_firsts(row: OrderRow) -> tuple[Any, ...]:
    """An order row's ``(created_at, first_<node>_at...)`` in MAIN_LINE order, as ``record_milestones`` reads them."""
    return (row.created_at, *(getattr(row, column) for column in MILESTONE_COLUMNS.values()))


def furthest_node(firsts: Mapping[str, Any]) -> int:
    """The index in MAIN_LINE of the furthest node set among first-reached columns (by column name)."""
    return max((NODE_INDEX[status] for status, column in MILESTONE_COLUMNS.items() if firsts.get(column)), default=0)


def record_milestones(
    connection: Session | Connection,
    entries: Iterable[Mapping[str, Any]],
    inserted: Mapping[str, tuple[Any, ...]] | None = None,
) -> list[CountKey]:
    """Set the first-reached columns the timeline ``entries`` just written fill (one statement for all);
    returns the stage-duration counts the newly reached milestones complete (``add_stage_durations``).

    ``inserted``: orders this transaction inserted, as ``(created_at, first_<node>_at...)`` exactly as written
    (``stored_firsts``); their columns are not read back (intake's transaction needs no extra SELECT)."""
    firsts = first_times(entries)
    if not firsts:
        return []
    known = {order_id: inserted[order_id] for order_id in firsts if inserted and order_id in inserted}
    unknown = [order_id for order_id in firsts if order_id not in known]
    current = dict(known)
    if unknown:
        current |= {row[0]: row[1:] for row in connection.execute(_CURRENT_FIRSTS, {"order_keys": unknown})}
    parameters = [
        {
            "order_key": order_id,
            "p_furthest": furthest_node(times),
            **{f"p_{column}": times.get(column) for column in MILESTONE_COLUMNS.values()},
        }
        for order_id, times in firsts.items()
    ]
    connection.execute(_SET_FIRSTS, parameters)
    completed: list[CountKey] = []
    for order_id, times in firsts.items():
        if order_id not in current:
            continue
        created_at, *stored = current[order_id]
        before = dict(zip(MAIN_LINE, stored, strict=True))
        after = {status: before[status] or times.get(MILESTONE_COLUMNS[status.value]) for status in MAIN_LINE}
        completed += completed_transitions(created_at, before, after)
    return completed


@event.listens_for(TimelineRow, "after_insert")
def _milestone_of_orm_insert(mapper: Mapper[Any], connection: Connection, target: TimelineRow) -> None:
    """An entry inserted through the ORM (the repository buffers Core inserts instead) keeps the columns too."""
    entry = {"order_id": target.order_id, "status": target.status, "at": target.at}
    completed = record_milestones(connection, [entry])
    session = object_session(target)
    if completed and session is not None:
        add_stage_durations(session, completed)


@event.listens_for(OrderRow, "before_insert")
def _furthest_of_orm_order(mapper: Mapper[Any], connection: Connection, target: OrderRow) -> None:
    """An order row inserted through the ORM with milestones already set keeps its furthest node too."""
    target.furthest_node = max(target.furthest_node or 0, furthest_node(vars(target)))


@event.listens_for(OrderRow, "after_insert")
def _durations_of_orm_order(mapper: Mapper[Any], connection: Connection, target: OrderRow) -> None:
    """An order row inserted through the ORM with milestones already set (history) counts its durations."""
    firsts = {status: getattr(target, MILESTONE_COLUMNS[status.value]) for status in MAIN_LINE}
    session = object_session(target)
    if session is not None and any(at is not None for status, at in firsts.items() if status is not OrderStatus.PLACED):
        add_stage_durations(session, completed_transitions(target.created_at, {}, firsts))
