"""The automatic part of the lifecycle: price check, credit check, stock lock and allocation.

``continue_pipeline`` picks up wherever the order stands (fresh intake, or released from hold after an
approval) and runs until the order is allocated or a check opens an exception that holds it.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import Any, Protocol

from foundation.money import MONEY_QUANTUM
from orders_core.master_data.model import Customer
from orders_core.master_data.repository import MasterDataRepository
from orders_core.orders.allocation import AllocationPlan, describe_shortage, plan_allocation
from orders_core.orders.exceptions_flow import open_exception
from orders_core.orders.lifecycle import advance_order, load_order
from orders_core.orders.model import OrderStatus
from orders_core.orders.recovery.strategies import stock_shortage_strategies
from orders_core.orders.repository import OrderRepository, PricedLine
from orders_core.stock.model import InsufficientStock, ReservationLine
from orders_core.unit_of_work import UnitOfWork

#: Re-plans after losing a reservation race before the order is held for a person.
MAX_REPLANS = 3


class StockPort(Protocol):
    """What the pipeline needs from the stock service (orders_core.stock.service.StockService)."""

    def available_by_warehouse(self, uow: UnitOfWork, skus: Collection[str]) -> dict[str, dict[str, int]]: ...

    def reserve(self, uow: UnitOfWork, order_id: str, lines: Sequence[ReservationLine]) -> None: ...

    def release(self, uow: UnitOfWork, order_id: str) -> list[ReservationLine]: ...


def relative_deviation(quoted: Decimal, catalogue: Decimal) -> Decimal:
    """|quoted - catalogue| / catalogue (infinite when the catalogue price is 0 and the quote is not)."""
    if catalogue == 0:
        return Decimal("0") if quoted == 0 else Decimal("Infinity")
    return abs(quoted - catalogue) / catalogue


def price_conflicts(lines: Sequence[PricedLine], tolerance: Decimal) -> list[dict[str, Any]]:
    """Lines whose quoted price deviates from the catalogue by more than ``tolerance`` (relative)."""
    conflicts = []
    for line in lines:
        quoted, catalogue = Decimal(line.unit_price), Decimal(line.catalogue_price)
        deviation = relative_deviation(quoted, catalogue)
        if deviation > tolerance:
            conflicts.append(
                {
                    "line": line.line_no,
                    "sku": line.sku,
                    "quoted_unit_price": str(quoted),
                    "catalogue_unit_price": str(catalogue),
                    "deviation": "inf" if not deviation.is_finite() else str(deviation.quantize(MONEY_QUANTUM)),
                    "tolerance": str(tolerance),
                }
            )
    return conflicts


def credit_problem(
    customer: Customer, exposure: Decimal, order_total: Decimal
) -> tuple[str, str, dict[str, Any]] | None:
    """(kind, message, details) when the order may not go ahead on credit, else None."""
    limit = customer.effective_credit_limit
    details: dict[str, Any] = {
        "customer_id": customer.id,
        "open_exposure": str(exposure),
        "order_total": str(order_total),
        "credit_limit": str(customer.credit_limit),
        "temporary_credit_limit": None
        if customer.temporary_credit_limit is None
        else str(customer.temporary_credit_limit),
        "effective_limit": str(limit),
        "overdue_amount": str(customer.overdue_amount),
    }
    if customer.overdue_amount > 0:
        return (
            "credit_overdue",
            f"customer {customer.id} has {customer.overdue_amount} overdue; new orders wait for approval",
            details,
        )
    if exposure + order_total > limit:
        return (
            "credit_limit_exceeded",
            f"open exposure {exposure} + order {order_total} exceeds the credit limit {limit}"
            f" of customer {customer.id}",
            details,
        )
    return None


def continue_pipeline(
    uow: UnitOfWork,
    stock: StockPort,
    order_id: str,
    *,
    price_tolerance: Decimal,
    actor: str = "system",
    lines: Sequence[PricedLine] | None = None,
    customer: Customer | None = None,
    exposure: Decimal | None = None,
) -> None:
    """Run the automatic checks from the order's current state until allocated or held.

    Intake passes the ``lines``, the (already locked) ``customer`` and its open ``exposure`` (read
    under that lock, without this order), saving the re-reads.
    """
    order = load_order(uow, order_id)
    if order.status == OrderStatus.PLACED.value:
        advance_order(
            uow,
            order_id,
            OrderStatus.CREDIT_REVIEW,
            actor="system",
            reason_code="checks_started",
            reason="checking prices, credit and stock",
        )
    if order.status != OrderStatus.CREDIT_REVIEW.value:
        return
    repository = OrderRepository(uow.session)
    if lines is None:
        lines = repository.priced_lines(order_id)
    if not order.price_ok:
        conflicts = price_conflicts(lines, price_tolerance)
        if conflicts:
            skus = ", ".join(c["sku"] for c in conflicts)
            open_exception(
                uow,
                order_id,
                "price_conflict",
                f"quoted unit price differs from the catalogue by more than {price_tolerance:%} for {skus}",
                {"lines": conflicts},
            )
            return
        order.price_ok = True
    if not order.credit_ok:
        if customer is None:
            customer = MasterDataRepository(uow.session).lock_customer(order.customer_id)
        assert customer is not None  # checked at intake; customers are never deleted
        if exposure is None:
            exposure = repository.open_exposure(order.customer_id, excluding_order_id=order_id)
        problem = credit_problem(customer, exposure, Decimal(order.total))
        if problem is not None:
            kind, message, details = problem
            open_exception(uow, order_id, kind, message, details)
            return
        order.credit_ok = True
    allocate_order(uow, stock, order_id, lines=lines)


def _demand(lines: Sequence[PricedLine]) -> dict[str, int]:
    demand: dict[str, int] = {}
    for line in lines:
        demand[line.sku] = demand.get(line.sku, 0) + line.qty
    return demand


def allocate_order(
    uow: UnitOfWork, stock: StockPort, order_id: str, *, lines: Sequence[PricedLine] | None = None
) -> AllocationPlan | None:
    """Plan shipments, reserve them atomically (re-planning after lost races), record them.

    On success the order is ``allocated``; when stock cannot cover it the order is held with a
    ``stock_shortage`` exception that says what is missing and which transfers would help.
    """
    order = load_order(uow, order_id)
    repository = OrderRepository(uow.session)
    master = MasterDataRepository(uow.session)
    demand = _demand(lines if lines is not None else repository.priced_lines(order_id))
    sites = master.warehouse_sites()
    delivery = (order.delivery_lat, order.delivery_lng)
    lost_races: list[dict[str, Any]] = []
    plan: AllocationPlan | None = None
    available: dict[str, dict[str, int]] = {}
    for _attempt in range(MAX_REPLANS + 1):
        available = stock.available_by_warehouse(uow, demand.keys())
        plan = plan_allocation(demand, available, sites, delivery)
        if plan is None:
            break
        holds = [
            ReservationLine(warehouse_id=s.warehouse_id, sku=sku, qty=qty)
            for s in plan.shipments
            for sku, qty in s.lines
        ]
        try:
            stock.reserve(uow, order_id, holds)
        except InsufficientStock as exc:
            lost_races.append({"shortages": [s.as_dict() for s in exc.shortages]})
            plan = None
            continue
        break
    if plan is None:
        report = describe_shortage(demand, available, sites, delivery)
        details = report.as_dict()
        details["strategy"] = stock_shortage_strategies(report)
        if lost_races:
            details["lost_reservation_races"] = lost_races
        missing = report.missing or {sku: qty for sku, qty in demand.items()}
        summary = ", ".join(f"{sku} x{qty}" for sku, qty in sorted(missing.items()))
        message = (
            f"not enough stock to serve the order (missing {summary})"
            if report.missing
            else f"stock changed under concurrent orders {len(lost_races)} times; needs a person"
        )
        open_exception(uow, order_id, "stock_shortage", message, details)
        return None
    split = len(plan.shipments) > 1
    advance_order(
        uow,
        order_id,
        OrderStatus.STOCK_LOCKED,
        actor="system",
        reason_code="stock_reserved",
        reason=f"stock reserved at {', '.join(s.warehouse_id for s in plan.shipments)}",
    )
    for shipment in plan.shipments:
        repository.add_shipment("shp_" + secrets.token_hex(8), order_id, shipment.warehouse_id, shipment.lines)
    advance_order(
        uow,
        order_id,
        OrderStatus.ALLOCATED,
        actor="system",
        reason_code="split_allocation" if split else "allocated",
        reason=(
            f"split into {len(plan.shipments)} shipments, {plan.total_distance_m / 1000:.1f} km in total"
            if split
            else f"ships from {plan.shipments[0].warehouse_id}, {plan.total_distance_m / 1000:.1f} km away"
        ),
    )
    return plan
