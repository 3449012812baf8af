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

from orders_core.customers.demand import WeeklyDemand
from orders_core.planning.customer_demand import customer_forecast_demand
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory


def whole_units(qty_by_sku: dict[str, float]) -> dict[str, int]:
    """Expected units rounded half up; SKUs that round to nothing are left out."""
    rounded = {sku: math.floor(qty + 0.5) for sku, qty in sorted(qty_by_sku.items())}
    return {sku: units for sku, units in rounded.items() if units > 0}


class ForecastDemand:
    """Weekly demand per customer and SKU from the latest forecast run, ``fallback`` for the rest."""

    def __init__(self, new_uow: UnitOfWorkFactory, fallback: WeeklyDemand) -> None:
        self.new_uow = new_uow
        self.fallback = fallback
        self.name = f"forecast_else_{fallback.name}"

    def weekly_demand(
        self, uow: UnitOfWork, customer_ids: Sequence[str], week_start: datetime
    ) -> dict[str, dict[str, int]]:
        """customer -> sku -> units: the forecast's share where it has one, else the fallback's answer."""
        answer: dict[str, dict[str, int]] = {}
        unforecast: list[str] = []
        for customer_id in customer_ids:
            expected: dict[str, float] = defaultdict(float)
            for item in customer_forecast_demand(self.new_uow, customer_id, week_start.date()):
                expected[item.sku] += item.qty
            units = whole_units(expected)
            if units:
                answer[customer_id] = units
            else:
                unforecast.append(customer_id)
        if unforecast:
            answer.update(self.fallback.weekly_demand(uow, unforecast, week_start))
        return answer
