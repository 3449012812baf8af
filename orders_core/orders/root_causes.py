"""Root causes: the one coarse taxonomy the desk fixes things by (issue 10, item 4; docs/ROOT_CAUSES.md).

A delay code (``delays.DelayCode``) says what the customer is told; a root cause says whose process to fix.
Every delay code belongs to exactly one root cause (``ROOT_CAUSE_OF_DELAY``), so every exception kind
(through ``delays.CAUSE_CODES``) and every delay on the timeline has one, derived here and nowhere else.
The two refined root causes below have delay codes of their own (``delays.REFINED_CODES``), so an
exception's stored root cause is always the root cause of the delay it explains.

An exception stores its root cause when it is opened (``order_exceptions.root_cause``, migration 0019), so
the Pareto chart counts with an index instead of re-deriving per row. Two kinds are refined from their data,
because the kind alone cannot tell (``root_cause_at_opening``, ``root_cause_after_resolution``):

* ``stock_shortage`` counts as **supplier lead time** when the order waits for replenishment: units are
  missing across the whole network at opening (only an inbound can cover them), the dispatcher approved it
  to wait for stock or for a transfer, or it was closed automatically when stock arrived. A shortage
  shipped short (``ship_available``) or rejected stays a **stock shortage**.
* ``no_carrier_in_range`` counts as **carrier capacity** when the load exceeds every active carrier's
  capacity (``details.fits_no_active_carrier``): no carrier in any range could take it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from orders_core.orders.delays import DelayCode, Language, delay_code_of_exception


class RootCause(StrEnum):
    """Why orders wait, at the level the desk fixes it."""

    SUPPLIER_LEAD_TIME = "supplier_lead_time"
    ADDRESS = "address"
    PRICE_RULE = "price_rule"
    CREDIT = "credit"
    PAYMENT_PENDING = "payment_pending"
    STOCK_SHORTAGE = "stock_shortage"
    SHORT_PICK = "short_pick"
    CHECKS_LATE = "checks_late"
    PICKING_LATE = "picking_late"
    MANUAL_HOLD = "manual_hold"
    NO_CARRIER_IN_RANGE = "no_carrier_in_range"
    CARRIER_CAPACITY = "carrier_capacity"
    CARRIER_LATE = "carrier_late"
    FAILED_DELIVERY = "failed_delivery"
    DATA_SYNC = "data_sync"


@dataclass(frozen=True)
class RootCauseLabel:
    """A root cause's name in each language."""

    code: RootCause
    en: str
    zh: str

    def text(self, language: Language) -> str:
        """The name in ``language``."""
        return self.zh if language == "zh" else self.en


_LABELS: tuple[tuple[RootCause, str, str], ...] = (
    (RootCause.SUPPLIER_LEAD_TIME, "Supplier lead time", "供应商补货周期"),
    (RootCause.ADDRESS, "Ambiguous or far address", "地址不明确或过远"),
    (RootCause.PRICE_RULE, "Promotion or price rule", "促销或价格规则"),
    (RootCause.CREDIT, "Credit", "信用额度"),
    (RootCause.PAYMENT_PENDING, "Payment pending", "等待付款"),
    (RootCause.STOCK_SHORTAGE, "Stock shortage", "库存不足"),
    (RootCause.SHORT_PICK, "Short pick", "拣货缺货"),
    (RootCause.CHECKS_LATE, "Order checks late", "订单审核延误"),
    (RootCause.PICKING_LATE, "Picking late", "仓库备货延误"),
    (RootCause.MANUAL_HOLD, "Manual hold", "人工暂停"),
    (RootCause.NO_CARRIER_IN_RANGE, "No carrier in range", "附近无可用承运商"),
    (RootCause.CARRIER_CAPACITY, "Carrier capacity", "承运商运力不足"),
    (RootCause.CARRIER_LATE, "Carrier late", "承运商延误"),
    (RootCause.FAILED_DELIVERY, "Failed delivery", "派送失败"),
    (RootCause.DATA_SYNC, "Data sync", "数据不同步"),
)

#: Every root cause with its names (a test checks that none is missing).
LABELS: dict[RootCause, RootCauseLabel] = {code: RootCauseLabel(code, en, zh) for code, en, zh in _LABELS}

#: The one mapping: each delay code belongs to exactly one root cause.
ROOT_CAUSE_OF_DELAY: dict[DelayCode, RootCause] = {
    DelayCode.CHECKS_LATE: RootCause.CHECKS_LATE,
    DelayCode.PRICE_CONFLICT: RootCause.PRICE_RULE,
    DelayCode.CREDIT_HOLD: RootCause.CREDIT,
    DelayCode.PAYMENT_PENDING: RootCause.PAYMENT_PENDING,
    DelayCode.STOCK_SHORTAGE: RootCause.STOCK_SHORTAGE,
    DelayCode.SUPPLIER_LEAD_TIME: RootCause.SUPPLIER_LEAD_TIME,
    DelayCode.ADDRESS_FAR_FROM_CUSTOMER: RootCause.ADDRESS,
    DelayCode.ADDRESS_OUTSIDE_COVERAGE: RootCause.ADDRESS,
    DelayCode.PICKING_LATE: RootCause.PICKING_LATE,
    DelayCode.SHORT_PICK: RootCause.SHORT_PICK,
    DelayCode.NO_CARRIER_IN_RANGE: RootCause.NO_CARRIER_IN_RANGE,
    DelayCode.CARRIER_CAPACITY: RootCause.CARRIER_CAPACITY,
    DelayCode.CARRIER_LATE: RootCause.CARRIER_LATE,
    DelayCode.FAILED_DELIVERY_ATTEMPT: RootCause.FAILED_DELIVERY,
    DelayCode.RETURNED_TO_WAREHOUSE: RootCause.FAILED_DELIVERY,
    # The carrier's reported delivery point and the order's drop-off disagree: the records need reconciling.
    DelayCode.DELIVERY_LOCATION_MISMATCH: RootCause.DATA_SYNC,
    # A record from an ERP/e-commerce/WMS import held for review: the source system's data disagrees with ours.
    DelayCode.IMPORT_REVIEW: RootCause.DATA_SYNC,
    DelayCode.ON_HOLD: RootCause.MANUAL_HOLD,
}

#: Approval strategies of a stock shortage under which the order waits for replenishment.
_WAITING_STRATEGIES = frozenset({"wait_for_stock", "transfer"})


def root_cause_of_delay(code: DelayCode | str) -> RootCause:
    """The root cause a delay code belongs to (the tracking page's and timeline's delays)."""
    return ROOT_CAUSE_OF_DELAY[DelayCode(code)]


def root_cause_of_kind(kind: str) -> RootCause:
    """The root cause of an exception kind before its data is looked at (unknown kinds: a manual hold)."""
    return ROOT_CAUSE_OF_DELAY[delay_code_of_exception(kind)]


def root_cause_at_opening(kind: str, details: Mapping[str, Any]) -> RootCause:
    """The root cause stored on a new exception: the kind's, refined by its details (see the module doc)."""
    if kind == "stock_shortage" and details.get("missing"):
        return RootCause.SUPPLIER_LEAD_TIME
    if kind == "no_carrier_in_range" and details.get("fits_no_active_carrier"):
        return RootCause.CARRIER_CAPACITY
    return root_cause_of_kind(kind)


def root_cause_after_resolution(kind: str, current: str, strategy: str | None) -> str:
    """The root cause once an exception is approved with ``strategy`` (``"reject"``: rejected): a shortage
    that waits for stock or a transfer becomes supplier lead time; shipping short or cancelling makes it a
    plain stock shortage (the order did not wait for supply); other kinds keep theirs."""
    if kind != "stock_shortage" or strategy is None:
        return current
    if strategy in _WAITING_STRATEGIES:
        return RootCause.SUPPLIER_LEAD_TIME.value
    return RootCause.STOCK_SHORTAGE.value


def describe_root_cause(code: RootCause | str, language: Language = "en") -> str:
    """The root cause's name in ``language`` (English unless asked otherwise: the desk's default)."""
    return LABELS[RootCause(code)].text(language)
