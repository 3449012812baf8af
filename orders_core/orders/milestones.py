"""Each order's first time at each main-line node, kept on the order row as its timeline is written.

The analytics (stage timings, funnel, trend) read a period's orders with these columns, one row per order,
instead of grouping every order's timeline rows at each request (issue 10, item 7). A timeline entry of a
main-line node sets its ``first_<node>_at`` unless it is set already (``COALESCE``: entries are appended in
time order, so the first one written is the first reached), in the same transaction as the entry: by the
buffered Core insert of the repository (``record_milestones``) or by an ORM insert of a ``TimelineRow``
(the mapper event below).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, event, func, update
from sqlalchemy.orm import Mapper, Session

from foundation.columns import UtcDateTime
from orders_core.orders.model import MAIN_LINE
from orders_core.orders.tables import OrderRow, TimelineRow

#: Main-line status -> the order column holding the first time it was reached.
MILESTONE_COLUMNS: dict[str, str] = {status.value: f"first_{status.value}_at" for status in MAIN_LINE}

_ORDERS: Table = OrderRow.__table__  # type: ignore[assignment]
_SET_FIRSTS = (
    update(_ORDERS)
    .where(_ORDERS.c.id == bindparam("order_key"))
    .values(
        {
            column: func.coalesce(_ORDERS.c[column], bindparam(f"p_{column}", type_=UtcDateTime()))
            for column in MILESTONE_COLUMNS.values()
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


def record_milestones(connection: Session | Connection, entries: Iterable[Mapping[str, Any]]) -> None:
    """Set the first-reached columns the timeline ``entries`` just written fill (one statement for all)."""
    firsts = first_times(entries)
    if not firsts:
        return
    parameters = [
        {"order_key": order_id, **{f"p_{column}": times.get(column) for column in MILESTONE_COLUMNS.values()}}
        for order_id, times in firsts.items()
    ]
    connection.execute(_SET_FIRSTS, parameters)


@event.listens_for(TimelineRow, "after_insert")
def _milestone_of_orm_insert(mapper: Mapper[Any], connection: Connection, target: TimelineRow) -> None:
    """An entry inserted through the ORM (the repository buffers Core inserts instead) keeps the columns too."""
    record_milestones(connection, [{"order_id": target.order_id, "status": target.status, "at": target.at}])
