"""Pre-booked stock sized by the demand forecast: the ``WeeklyDemand`` port of pre-booking answered from
the latest forecast run (each customer's share of its SKU × region forecast, ``customer_forecast_demand``).

A customer the forecast says nothing about for that week (no run yet, a week the run does not cover, a
customer with no orders in the look-back) is sized by the fallback, the history mean by default, so
switching the source never silently stops pre-booking.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from types import TracebackType

from orders_core.customers.demand import WeeklyDemand
from orders_core.planning.customer_demand import customers_forecast_demand
from orders_core.unit_of_work import UnitOfWork


def whole_units(qty_by_sku: dict[str, float]) -> dict[str, int]:
    """Expected units rounded half up; SKUs that round to nothing are left out."""
    rounded = {sku: math.floor(qty + 0.5) for sku, qty in sorted(qty_by_sku.items())}
    return {sku: units for sku, units in rounded.items() if units > 0}


class _InCallersTransaction(UnitOfWork):
    """The caller's open unit of work, lent to a reader that opens its own: entering it neither begins nor
    ends a transaction. (A second transaction would wait for the caller's on SQLite, which takes the write
    lock when a transaction begins.)"""

    def __init__(self, uow: UnitOfWork) -> None:  # no super().__init__: nothing of its own to set up
        self._lent = uow
        self.session = uow.session

    def __enter__(self) -> UnitOfWork:
        return self._lent

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        return None


class ForecastDemand:
    """Weekly demand per customer and SKU from the latest forecast run, ``fallback`` for the rest."""

    def __init__(self, fallback: WeeklyDemand) -> None:
        self.fallback = fallback
        self.name = f"forecast_else_{fallback.name}"

    def weekly_demand(
        self, uow: UnitOfWork, customer_ids: Sequence[str], week_start: datetime
    ) -> dict[str, dict[str, int]]:
        """customer -> sku -> units: the forecast's share where it has one, else the fallback's answer."""
        answer: dict[str, dict[str, int]] = {}
        unforecast: list[str] = []
        lent = _InCallersTransaction(uow)
        forecast = customers_forecast_demand(lambda: lent, customer_ids, week_start.date())
        for customer_id in customer_ids:
            expected: dict[str, float] = defaultdict(float)
            for item in forecast.get(customer_id, []):
                expected[item.sku] += item.qty
            units = whole_units(expected)
            if units:
                answer[customer_id] = units
            else:
                unforecast.append(customer_id)
        if unforecast:
            answer.update(self.fallback.weekly_demand(uow, unforecast, week_start))
        return answer
