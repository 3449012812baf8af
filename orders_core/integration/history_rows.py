"""The rows of a history-mode order (the order with its milestone and H3 columns, its lines, its timeline)
as plain tuples in fixed column order, and batches of fresh order ids and tracking tokens.

Built in the mapping worker, one batch ahead of the writer, for the records that will land as accepted
orders (the writing process then only writes them), and in the writing process for any other record that
lands (held orders, or without a worker). One builder for both, so a record lands the same either way.
"""

from __future__ import annotations

import base64
import os
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from foundation.money import MONEY_QUANTUM
from geo.h3_cells import HEAT_RESOLUTIONS, point_cell_ints
from orders_core.integration.mapping import MappedRecord, MasterIndex, Outcome, Verdict
from orders_core.integration.repository import LngLat
from orders_core.orders.milestones import MILESTONE_COLUMNS
from orders_core.orders.model import MAIN_LINE, OrderStatus
from orders_core.orders.stage_durations import Duration, transition_durations

_CELLS = tuple(f"delivery_h3_r{res}" for res in HEAT_RESOLUTIONS)
_FIRSTS = tuple(MILESTONE_COLUMNS.values())
_FIRST_INDEX = {status: index for index, status in enumerate(MILESTONE_COLUMNS)}

ORDER_COLUMNS: tuple[str, ...] = (
    "id",
    "customer_id",
    "status",
    "held_from",
    "price_ok",
    "credit_ok",
    "total",
    "payment_status",
    "delivery_lat",
    "delivery_lng",
    "delivery_address",
    "delivery_location",
    *_CELLS,
    "delivery_contact_name",
    "delivery_contact_phone",
    "cash_on_delivery",
    "promised_by",
    "created_at",
    "updated_at",
    "priority",
    "backorder_of",
    *_FIRSTS,
    "furthest_node",
    "tracking_token",
)
LINE_COLUMNS: tuple[str, ...] = ("order_id", "line_no", "sku", "qty", "unit_price", "catalogue_price")
TIMELINE_COLUMNS: tuple[str, ...] = ("order_id", "status", "at", "actor", "reason_code", "reason", "expected_next_at")

#: An imported order's id: ``ord_``, the time of its batch (milliseconds since the epoch, 11 hex digits)
#: and 68 random bits (17 hex digits; intake's ids have 64): 32 characters, the id columns' width. Ids
#: that grow with time land at the right edge of the order id indexes (orders, lines, timeline) instead
#: of all over them: a year of orders with random ids dirtied thousands of index pages per batch, and
#: writing those out was most of SQLite's commit time. The random part keeps ids unique and unguessable
#: (the batch's time is no secret: an order's created_at says more).
_RANDOM_HEX = 17
#: A tracking token: 32 URL-safe characters, intake's ``secrets.token_urlsafe(24)``.
_TOKEN_BYTES = 24


@dataclass
class HistoryRows:
    """One order's rows, in ``ORDER_COLUMNS``, ``LINE_COLUMNS`` and ``TIMELINE_COLUMNS`` order."""

    order_id: str
    order: tuple[Any, ...]
    lines: list[tuple[Any, ...]]
    timeline: list[tuple[Any, ...]]
    #: The stage-timing durations its milestones complete (``orders_core.orders.stage_durations``).
    durations: list[Duration]


def fresh_ids(count: int) -> list[tuple[str, str]]:
    """``count`` (order id, tracking token) pairs from one read of the OS's randomness (not two calls of
    ``secrets`` per order); ids in the order given, all with the time of this call (see ``_RANDOM_HEX``)."""
    if count <= 0:
        return []
    prefix = f"ord_{time.time_ns() // 1_000_000:011x}"
    randoms = os.urandom((_RANDOM_HEX + 1) // 2 * count).hex()
    step = _RANDOM_HEX + 1
    tokens = base64.urlsafe_b64encode(os.urandom(_TOKEN_BYTES * count)).decode("ascii")
    width = _TOKEN_BYTES * 4 // 3  # 24 bytes are exactly 32 characters, no padding
    return [
        (prefix + randoms[i * step : i * step + _RANDOM_HEX], tokens[i * width : (i + 1) * width]) for i in range(count)
    ]


def delivery_point(values: dict[str, Any], master: MasterIndex) -> tuple[Any, Any] | None:
    """The record's delivery point, or the customer's registered location when it gives none."""
    lat, lng = values.get("delivery_lat"), values.get("delivery_lng")
    if lat is not None:
        return lat, lng
    registered = master.customers.get(str(values.get("customer_id")))
    if registered is None or registered[0] is None:
        return None
    return registered[0], registered[1]


def lands_as_accepted_order(verdict: Verdict, master: MasterIndex) -> bool:
    """Whether the writer will store the record as an accepted order unless its source key turns out to be
    a duplicate (the checks of ``_Importer._check_history_order`` that need no database)."""
    mapped = verdict.mapped
    if verdict.outcome is not Outcome.ACCEPTED or mapped is None:
        return False
    values = mapped.values
    return values.get("placed_at") is not None and delivery_point(values, master) is not None


def history_order(
    verdict: Verdict,
    mapped: MappedRecord,
    master: MasterIndex,
    *,
    ids: tuple[str, str],
    actor: str,
    system: str,
    now: datetime,
) -> HistoryRows:
    """An order recorded as given (status, times, lines; no credit or stock checks), held with its desk
    exception when the verdict is held: the order row (with the first time at each main-line node its
    timeline reaches and the delivery point's H3 cells, as intake and the timeline writer keep them), its
    lines and its timeline."""
    values = mapped.values
    order_id, token = ids
    placed_at = values["placed_at"]
    status = values.get("status") or OrderStatus.PLACED.value
    held = verdict.outcome is Outcome.HELD
    final_at = values.get("delivered_at") or placed_at
    prices = master.sku_prices
    total = Decimal("0")
    lines: list[tuple[Any, ...]] = []
    for number, line in enumerate(mapped.lines, start=1):
        catalogue = prices[line.sku]
        price = line.unit_price if line.unit_price is not None else catalogue
        total += price * line.qty
        lines.append((order_id, number, line.sku, line.qty, price, catalogue))
    point = delivery_point(values, master)
    assert point is not None  # the writer rejects a record without one before it lands
    lat, lng = point
    reason = f"imported from {system} record {verdict.source_key}"
    timeline: list[tuple[Any, ...]] = [(order_id, OrderStatus.PLACED.value, placed_at, actor, "imported", reason, None)]
    if status != OrderStatus.PLACED.value:
        timeline.append((order_id, status, final_at, actor, "imported", "as given by the source", None))
    if held:
        kind = str(verdict.exception_kind)
        timeline.append((order_id, OrderStatus.ON_HOLD.value, now, actor, kind, verdict.reason, None))
    firsts: list[datetime | None] = [None] * len(_FIRSTS)
    for entry in timeline:  # what ``orders_core.orders.milestones`` keeps for entries written one by one
        index = _FIRST_INDEX.get(entry[1])
        if index is not None and (firsts[index] is None or entry[2] < firsts[index]):
            firsts[index] = entry[2]
    order = (
        order_id,
        values["customer_id"],
        OrderStatus.ON_HOLD.value if held else status,
        status if held else None,
        True,
        True,
        total.quantize(MONEY_QUANTUM),
        "not_required",
        lat,
        lng,
        values.get("delivery_address"),
        LngLat(lng, lat),
        *point_cell_ints(lat, lng),
        values.get("contact_name"),
        values.get("contact_phone"),
        bool(values.get("cash_on_delivery") or False),
        values.get("promised_by"),
        placed_at,
        final_at,
        values.get("priority") or "normal",
        None,
        *firsts,
        max((index for index, at in enumerate(firsts) if at is not None), default=0),
        token,
    )
    reached = {status: at for status, at in zip(MAIN_LINE, firsts, strict=True) if at is not None}
    return HistoryRows(order_id, order, lines, timeline, transition_durations(placed_at, {}, reached))
