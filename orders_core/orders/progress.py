"""Where an order stands against its promise: each main-line node's due time, forecast, lateness and why.

Pure: a function of the timeline, the exceptions, the promise, the plan's targets, the carriers' ETAs and
the clock, so it is tested with hand-made timelines and computed on every read (nothing stored can drift).

* **Due** (``due_at``): the plan. ``placed`` at placement, each later node the previous one's due time plus
  its target duration (``DeliveryTargets``), never past the promise; ``delivered`` is due at the promise.
  The plan is fixed at placement, so lateness upstream shows downstream too, with its original cause.
* **Expected** (``expected_at``): for a reached node, its due time; for one still ahead, the forecast:
  the later of its due time and the last reached node + the targets in between, or the carrier's ETA
  (pick-up for ``in_transit``, drop-off for ``delivered``) when one is known.
* **Late**: reached after its due time, or not reached and the due time has passed. ``forecast_late``:
  not late yet, but expected after its due time (a carrier ETA past the promise, say).
* **Why** (``delay_code``, see ``delays``): the step (between two nodes) that overran its target the most
  up to the late node is the culprit; the cause recorded on the order during that step that lasted
  longest inside it explains it: an exception (a credit hold, a stock shortage, no carrier in range...),
  a hold without one, or a timeline note such as a failed delivery attempt. A step that overran with
  nothing recorded gets the step's own code: checks, warehouse or carrier running late.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from orders_core.orders.delays import DelayCode, delay_code_for, delay_code_of_exception
from orders_core.orders.model import MAIN_LINE, OrderStatus, OrderView, TimelineEntry
from orders_core.orders.promise import DeliveryTargets

#: A step that overran with nothing recorded on the order is explained by what the step is.
STEP_CODES: dict[OrderStatus, DelayCode] = {
    OrderStatus.CREDIT_REVIEW: DelayCode.CHECKS_LATE,
    OrderStatus.STOCK_LOCKED: DelayCode.CHECKS_LATE,
    OrderStatus.ALLOCATED: DelayCode.CHECKS_LATE,
    OrderStatus.PICKING: DelayCode.PICKING_LATE,
    OrderStatus.LOADED: DelayCode.PICKING_LATE,
    OrderStatus.IN_TRANSIT: DelayCode.CARRIER_LATE,
    OrderStatus.DELIVERED: DelayCode.CARRIER_LATE,
}


class RecordedException(Protocol):
    """What the computation reads of an exception (``ExceptionView`` fits)."""

    @property
    def kind(self) -> str: ...

    @property
    def created_at(self) -> datetime: ...

    @property
    def resolved_at(self) -> datetime | None: ...


@dataclass(frozen=True)
class CarrierEtas:
    """Carrier forecasts: at the warehouse (earliest shipment not yet picked up) and at the drop-off
    (latest shipment not yet delivered). None where unknown."""

    pickup_at: datetime | None = None
    dropoff_at: datetime | None = None


@dataclass(frozen=True)
class Cause:
    """Something recorded on the order that holds it up, from ``start`` until ``end`` (None: still going)."""

    code: DelayCode
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class NodeProgress:
    """One node of the main line against the plan."""

    status: OrderStatus
    due_at: datetime | None
    expected_at: datetime | None
    reached_at: datetime | None
    late: bool
    late_by_s: float
    forecast_late: bool
    delay_code: DelayCode | None


@dataclass(frozen=True)
class OrderProgress:
    """The promise, every main-line node, and which timeline entry reached which node."""

    promised_by: datetime
    nodes: tuple[NodeProgress, ...]
    #: Per timeline entry (same order): the node it reached first, or None (notes, holds, repeats).
    entry_nodes: tuple[NodeProgress | None, ...]

    def node(self, status: OrderStatus) -> NodeProgress:
        """The progress of one main-line node."""
        return next(n for n in self.nodes if n.status is status)


def first_reached(timeline: Sequence[TimelineEntry]) -> dict[OrderStatus, tuple[int, datetime]]:
    """Main-line status -> (index of the entry, time) it was first reached at."""
    reached: dict[OrderStatus, tuple[int, datetime]] = {}
    main = {status.value for status in MAIN_LINE}
    for index, entry in enumerate(timeline):
        if entry.status in main:
            reached.setdefault(OrderStatus(entry.status), (index, entry.at))
    return reached


def recorded_causes(timeline: Sequence[TimelineEntry], exceptions: Sequence[RecordedException]) -> list[Cause]:
    """Everything on the order that explains waiting: exceptions (open until resolved), holds that have no
    exception of their kind, and notes with a delay meaning (until the next main-line node is reached)."""
    # The stored root cause refines the code (a shortage waiting for supply: supplier lead time).
    causes = [
        Cause(delay_code_of_exception(e.kind, getattr(e, "root_cause", None)), e.created_at, e.resolved_at)
        for e in exceptions
    ]
    kinds = {e.kind for e in exceptions}
    reached = first_reached(timeline)
    for index, entry in enumerate(timeline):
        code = None if entry.reason_code is None else delay_code_for(entry.reason_code)
        if entry.status == OrderStatus.ON_HOLD.value:
            if entry.reason_code in kinds:
                continue  # the exception itself is the cause
            following = next((e.at for e in timeline[index + 1 :] if e.status != OrderStatus.ON_HOLD.value), None)
            causes.append(Cause(code or DelayCode.ON_HOLD, entry.at, following))
        elif code is not None:
            later = [at for i, at in reached.values() if i > index]
            causes.append(Cause(code, entry.at, min(later) if later else None))
    return causes


def _planned_due(placed_at: datetime, promised_by: datetime, targets: DeliveryTargets) -> dict[OrderStatus, datetime]:
    due: dict[OrderStatus, datetime] = {}
    at = placed_at
    for status in MAIN_LINE:
        at = at + timedelta(seconds=targets.step_s(status))
        due[status] = min(at, promised_by)
    due[OrderStatus.DELIVERED] = promised_by
    return due


def _overlap_s(cause: Cause, start: datetime, end: datetime, now: datetime) -> float:
    cause_end = cause.end if cause.end is not None else max(now, end)
    return (min(cause_end, end) - max(cause.start, start)).total_seconds()


def _explain(
    upto: int,
    stage_ends: dict[int, datetime],
    reached_at: dict[OrderStatus, datetime],
    due: dict[OrderStatus, datetime],
    causes: Sequence[Cause],
    now: datetime,
) -> DelayCode:
    """The delay code of node ``MAIN_LINE[upto]``: the cause that lasted longest in the step that overran most."""
    worst: tuple[float, int] | None = None
    for k in range(1, upto + 1):
        start = reached_at.get(MAIN_LINE[k - 1])
        end = stage_ends.get(k)
        if start is None or end is None:
            break
        planned = (due[MAIN_LINE[k]] - due[MAIN_LINE[k - 1]]).total_seconds()
        overrun = (end - start).total_seconds() - planned
        if worst is None or overrun > worst[0]:
            worst = (overrun, k)
    if worst is None:
        return STEP_CODES[MAIN_LINE[upto]]
    k = worst[1]
    start, end = reached_at[MAIN_LINE[k - 1]], stage_ends[k]
    best: tuple[float, datetime, DelayCode] | None = None
    for cause in causes:
        overlap = _overlap_s(cause, start, end, now)
        if overlap > 0 and (best is None or (overlap, -cause.start.timestamp()) > (best[0], -best[1].timestamp())):
            best = (overlap, cause.start, cause.code)
    return best[2] if best is not None else STEP_CODES[MAIN_LINE[k]]


def order_progress(
    timeline: Sequence[TimelineEntry],
    exceptions: Sequence[RecordedException],
    *,
    placed_at: datetime,
    promised_by: datetime,
    targets: DeliveryTargets,
    now: datetime,
    etas: CarrierEtas | None = None,
    cancelled: bool = False,
) -> OrderProgress:
    """Every main-line node's due time, forecast, lateness and delay reason (see the module docstring)."""
    etas = etas or CarrierEtas()
    due = _planned_due(placed_at, promised_by, targets)
    reached = first_reached(timeline)
    reached_at = {status: at for status, (_i, at) in reached.items()}
    reached_at.setdefault(OrderStatus.PLACED, placed_at)
    ahead = [i for i, status in enumerate(MAIN_LINE) if status not in reached_at]
    open_step = ahead[0] if ahead else None
    eta_of = {OrderStatus.IN_TRANSIT: etas.pickup_at, OrderStatus.DELIVERED: etas.dropoff_at}

    expected: dict[OrderStatus, datetime] = {}
    cursor = reached_at[OrderStatus.PLACED]
    for status in MAIN_LINE:
        if status in reached_at:
            expected[status] = due[status]
            cursor = reached_at[status]
            continue
        eta = eta_of.get(status)
        forecast = eta if eta is not None else max(due[status], cursor + timedelta(seconds=targets.step_s(status)))
        expected[status] = forecast
        cursor = max(forecast, now)

    # Each step's end: when its node was reached; for the step in progress, now or its forecast if later.
    stage_ends: dict[int, datetime] = {}
    for k in range(1, len(MAIN_LINE)):
        status = MAIN_LINE[k]
        if status in reached_at:
            stage_ends[k] = reached_at[status]
        elif k == open_step and not cancelled:
            stage_ends[k] = max(now, expected[status])
    causes = recorded_causes(timeline, exceptions)

    nodes: list[NodeProgress] = []
    for k, status in enumerate(MAIN_LINE):
        at = reached_at.get(status)
        if at is None and cancelled:
            nodes.append(NodeProgress(status, None, None, None, False, 0.0, False, None))
            continue
        late_by = ((at if at is not None else now) - due[status]).total_seconds()
        late = late_by > 0
        forecast_late = not late and at is None and expected[status] > due[status]
        code = None
        if late or forecast_late:
            code = _explain(min(k, open_step if open_step is not None else k), stage_ends, reached_at, due, causes, now)
        nodes.append(
            NodeProgress(
                status=status,
                due_at=due[status],
                expected_at=expected[status],
                reached_at=at,
                late=late,
                late_by_s=max(0.0, late_by),
                forecast_late=forecast_late,
                delay_code=code,
            )
        )
    by_status = {n.status: n for n in nodes}
    first_index = {i: status for status, (i, _at) in reached.items()}
    entry_nodes = tuple(by_status[first_index[i]] if i in first_index else None for i in range(len(timeline)))
    return OrderProgress(promised_by=promised_by, nodes=tuple(nodes), entry_nodes=entry_nodes)


def progress_of(
    view: OrderView, *, targets: DeliveryTargets, now: datetime, etas: CarrierEtas | None = None
) -> OrderProgress:
    """``order_progress`` of an order as read (orders stored before promises: placement + the lead time)."""
    promised_by = view.promised_by or view.created_at + timedelta(seconds=targets.lead_time_s)
    return order_progress(
        view.timeline,
        view.exceptions,
        placed_at=view.created_at,
        promised_by=promised_by,
        targets=targets,
        now=now,
        etas=etas,
        cancelled=view.status == OrderStatus.CANCELLED.value,
    )
