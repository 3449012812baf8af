"""Why an order is late: the one taxonomy of delay reasons (codes and plain-language text).

Everything that explains lateness speaks these codes: the timeline's delay fields (``progress``), the
desk's exception inbox and its Pareto chart. An exception kind or a timeline reason code maps to a delay
code here and nowhere else (``delay_code_for``), so a new exception kind needs one line in
``CAUSE_CODES`` to be counted under the right reason. Each delay code belongs to exactly one root cause
(``orders_core.orders.root_causes``, docs/ROOT_CAUSES.md): the coarser key of the desk's Pareto chart.

Texts come in English and Simplified Chinese; Chinese is what customers see by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

Language = Literal["en", "zh"]


class DelayCode(StrEnum):
    """A reason an order reached (or will reach) a node after its expected time."""

    CHECKS_LATE = "checks_late"
    PRICE_CONFLICT = "price_conflict"
    CREDIT_HOLD = "credit_hold"
    PAYMENT_PENDING = "payment_pending"
    STOCK_SHORTAGE = "stock_shortage"
    SUPPLIER_LEAD_TIME = "supplier_lead_time"
    ADDRESS_FAR_FROM_CUSTOMER = "address_far_from_customer"
    ADDRESS_OUTSIDE_COVERAGE = "address_outside_coverage"
    PICKING_LATE = "picking_late"
    SHORT_PICK = "short_pick"
    NO_CARRIER_IN_RANGE = "no_carrier_in_range"
    CARRIER_CAPACITY = "carrier_capacity"
    CARRIER_LATE = "carrier_late"
    FAILED_DELIVERY_ATTEMPT = "failed_delivery_attempt"
    RETURNED_TO_WAREHOUSE = "returned_to_warehouse"
    DELIVERY_LOCATION_MISMATCH = "delivery_location_mismatch"
    IMPORT_REVIEW = "import_review"
    ON_HOLD = "on_hold"


@dataclass(frozen=True)
class DelayReason:
    """A delay code with its plain-language text in each language."""

    code: DelayCode
    en: str
    zh: str

    def text(self, language: Language) -> str:
        """The reason in ``language``."""
        return self.zh if language == "zh" else self.en


_TEXTS: tuple[tuple[DelayCode, str, str], ...] = (
    (DelayCode.CHECKS_LATE, "Order checks took longer than planned", "订单审核耗时超出计划"),
    (DelayCode.PRICE_CONFLICT, "A price difference had to be confirmed", "订单价格与目录价不符，等待确认"),
    (DelayCode.CREDIT_HOLD, "The order waited for a credit approval", "订单等待信用额度审批"),
    (DelayCode.PAYMENT_PENDING, "Waiting for payment", "等待付款"),
    (DelayCode.STOCK_SHORTAGE, "Some items were out of stock", "部分商品库存不足"),
    (DelayCode.SUPPLIER_LEAD_TIME, "Waiting for the items to be restocked", "部分商品缺货，正在等待补货"),
    (
        DelayCode.ADDRESS_FAR_FROM_CUSTOMER,
        "The delivery address is far from the customer's registered location and had to be checked",
        "收货地址与客户登记地址相距较远，需要核实",
    ),
    (
        DelayCode.ADDRESS_OUTSIDE_COVERAGE,
        "The delivery address lies outside every carrier's delivery area and had to be checked",
        "收货地址不在任何承运商的配送范围内，需要核实",
    ),
    (DelayCode.PICKING_LATE, "The warehouse prepared the goods later than planned", "仓库备货晚于计划"),
    (DelayCode.SHORT_PICK, "Items were missing on the shelf during picking", "拣货时发现部分商品缺货"),
    (DelayCode.NO_CARRIER_IN_RANGE, "No carrier was available near the warehouse", "仓库附近暂无可用承运商"),
    (
        DelayCode.CARRIER_CAPACITY,
        "No available vehicle could carry the load",
        "暂无可承载该货物的车辆",
    ),
    (DelayCode.CARRIER_LATE, "The carrier is running late", "承运商运输延误"),
    (
        DelayCode.FAILED_DELIVERY_ATTEMPT,
        "A delivery attempt failed; the goods will be delivered again",
        "派送失败，将再次派送",
    ),
    (DelayCode.RETURNED_TO_WAREHOUSE, "The goods are being returned to the warehouse", "货物正在退回仓库"),
    (
        DelayCode.DELIVERY_LOCATION_MISMATCH,
        "The delivery was reported away from the delivery address",
        "签收位置与收货地址不符",
    ),
    (
        DelayCode.IMPORT_REVIEW,
        "The order came from another system with data that had to be checked",
        "订单来自其他系统，数据需要人工核对",
    ),
    (DelayCode.ON_HOLD, "The order was put on hold for a review", "订单暂停处理，等待人工审核"),
)

#: Every delay code with its texts (a test checks that none is missing).
REASONS: dict[DelayCode, DelayReason] = {code: DelayReason(code, en, zh) for code, en, zh in _TEXTS}

#: Exception kinds and timeline reason codes (a hold's reason code is its exception kind) -> delay code.
CAUSE_CODES: dict[str, DelayCode] = {
    "price_conflict": DelayCode.PRICE_CONFLICT,
    "credit_limit_exceeded": DelayCode.CREDIT_HOLD,
    "credit_overdue": DelayCode.CREDIT_HOLD,
    "payment_pending": DelayCode.PAYMENT_PENDING,
    "stock_shortage": DelayCode.STOCK_SHORTAGE,
    "address_far_from_customer": DelayCode.ADDRESS_FAR_FROM_CUSTOMER,
    "address_outside_coverage": DelayCode.ADDRESS_OUTSIDE_COVERAGE,
    "short_pick": DelayCode.SHORT_PICK,
    "no_carrier_in_range": DelayCode.NO_CARRIER_IN_RANGE,
    "carrier_late": DelayCode.CARRIER_LATE,
    "delivery_failed": DelayCode.FAILED_DELIVERY_ATTEMPT,
    "shipment_returned": DelayCode.RETURNED_TO_WAREHOUSE,
    "delivered_far_from_dropoff": DelayCode.DELIVERY_LOCATION_MISMATCH,
    "import_review": DelayCode.IMPORT_REVIEW,
}


def delay_code_for(cause: str) -> DelayCode | None:
    """The delay code of an exception kind or timeline reason code (None: it explains no delay)."""
    return CAUSE_CODES.get(cause)


#: Root causes refined from an exception's data (orders_core.orders.root_causes) that have a delay code of
#: their own, so the delay a customer reads and the root cause the desk counts agree.
REFINED_CODES: dict[str, DelayCode] = {
    "supplier_lead_time": DelayCode.SUPPLIER_LEAD_TIME,
    "carrier_capacity": DelayCode.CARRIER_CAPACITY,
}


def delay_code_of_exception(kind: str, root_cause: str | None = None) -> DelayCode:
    """The delay code an exception of ``kind`` counts under (an unknown kind: a plain hold); with its stored
    ``root_cause``, a refined one (a stock shortage waiting for supply: supplier lead time)."""
    if root_cause in REFINED_CODES:
        return REFINED_CODES[root_cause]
    return CAUSE_CODES.get(kind, DelayCode.ON_HOLD)


def describe(code: DelayCode | str, language: Language = "zh") -> str:
    """The plain-language reason for ``code`` in ``language`` (Chinese unless asked otherwise)."""
    return REASONS[DelayCode(code)].text(language)
