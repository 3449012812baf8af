"""Weekly demand of a customer per SKU: what pre-booked stock reserves softly for the coming week.

``WeeklyDemand`` is the port; ``HistoryMeanDemand`` the default: the mean weekly quantity of the customer's
own orders over the last ``weeks`` weeks. A forecast engine plugs in by implementing the same method (see
docs/STOCK_PROTOCOL.md, "Pre-booked stock") and being handed to ``plan_prebookings``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from orders_core.customers.demand_repository import ordered_qty
from orders_core.unit_of_work import UnitOfWork


class WeeklyDemand(Protocol):
    """Units of each SKU a customer is expected to order in the week starting ``week_start`` (UTC Monday)."""

    name: str

    def weekly_demand(
        self, uow: UnitOfWork, customer_ids: Sequence[str], week_start: datetime
    ) -> dict[str, dict[str, int]]:
        """customer -> sku -> whole units (SKUs with no expected demand left out)."""
        ...


def mean_weekly(total_by_sku: Mapping[str, int], weeks: int) -> dict[str, int]:
    """Mean per week rounded half up; SKUs whose mean rounds to 0 are left out."""
    answer = {}
    for sku, total in sorted(total_by_sku.items()):
        qty = math.floor(total / weeks + 0.5)
        if qty > 0:
            answer[sku] = qty
    return answer


class HistoryMeanDemand:
    """The default demand: mean weekly quantity of the customer's own (not cancelled) orders over the
    ``weeks`` full weeks before ``week_start``."""

    def __init__(self, weeks: int = 4) -> None:
        if weeks <= 0:
            raise ValueError("weeks must be positive")
        self.weeks = weeks
        self.name = f"history_mean_{weeks}w"

    def weekly_demand(
        self, uow: UnitOfWork, customer_ids: Sequence[str], week_start: datetime
    ) -> dict[str, dict[str, int]]:
        """Mean of the last ``weeks`` weeks per customer and SKU (one grouped query)."""
        totals = ordered_qty(uow.session, customer_ids, week_start - timedelta(weeks=self.weeks), week_start)
        answer = {cid: mean_weekly(by_sku, self.weeks) for cid, by_sku in totals.items()}
        return {cid: by_sku for cid, by_sku in answer.items() if by_sku}
