"""Health-score use cases: recompute (one customer on demand, every customer on a schedule) and read back.

A computation reads the aggregated facts, scores them (``health.score_health``, pure) against the customer's
previous computation for the trends, and stores the run with its seven indicator lines in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog

from foundation.clock import utc_now
from foundation.errors import NotFound
from infra.pagination import Page, PageRequest
from orders_core.customers.health import HealthPolicy, HealthScore, measure, score_health
from orders_core.customers.health_repository import HealthRepository, run_lines
from orders_core.unit_of_work import UnitOfWorkFactory

log = structlog.get_logger("orders_core.customers.health")

#: Customers scored per transaction by the scheduled recomputation.
BATCH = 200


class UnknownCustomer(NotFound):
    """No customer with that id."""

    code = "customer_not_found"


class HealthNotComputed(NotFound):
    """The customer's health score was never computed (POST .../health/recompute computes it)."""

    code = "health_not_computed"


@dataclass(frozen=True)
class HealthSummary:
    """One line of the scores list."""

    customer_id: str
    score: float | None
    computed_at: datetime


def recompute_health(
    new_uow: UnitOfWorkFactory,
    customer_ids: Sequence[str] | None,
    policy: HealthPolicy,
    *,
    now: datetime | None = None,
    trigger: str = "schedule",
) -> dict[str, HealthScore]:
    """Score the given customers (None: all of them) as of ``now`` and store each computation."""
    now = now or utc_now()
    if customer_ids is None:
        with new_uow() as uow:
            customer_ids = HealthRepository(uow.session).customer_ids()
    results: dict[str, HealthScore] = {}
    for start in range(0, len(customer_ids), BATCH):
        chunk = customer_ids[start : start + BATCH]
        with new_uow() as uow:
            repository = HealthRepository(uow.session)
            facts = repository.facts(chunk, policy, now)
            previous = repository.previous(list(facts))
            for cid, customer_facts in facts.items():
                previous_score, previous_tiers = previous.get(cid, (None, {}))
                result = score_health(measure(customer_facts, policy, now), previous_tiers, previous_score)
                repository.save(cid, result, now, trigger)
                results[cid] = result
            uow.commit()
    log.info("health_recomputed", customers=len(results), trigger=trigger)
    return results


def recompute_customer_health(
    new_uow: UnitOfWorkFactory, customer_id: str, policy: HealthPolicy, *, now: datetime | None = None
) -> dict[str, Any]:
    """Recompute one customer's score on demand (404 for an unknown customer); answers the breakdown."""
    with new_uow() as uow:
        if not HealthRepository(uow.session).customer_exists(customer_id):
            raise UnknownCustomer(f"no customer with id {customer_id!r}")
    recompute_health(new_uow, [customer_id], policy, now=now, trigger="on_demand")
    return health_breakdown(new_uow, customer_id)


def health_breakdown(new_uow: UnitOfWorkFactory, customer_id: str, *, history: int = 10) -> dict[str, Any]:
    """The latest score with its seven indicator lines and the recent scores (404 if never computed)."""
    with new_uow() as uow:
        repository = HealthRepository(uow.session)
        if not repository.customer_exists(customer_id):
            raise UnknownCustomer(f"no customer with id {customer_id!r}")
        found = repository.latest_run(customer_id)
        if found is None:
            raise HealthNotComputed(f"the health score of {customer_id!r} was never computed")
        run, lines = found
        past = repository.history(customer_id, history)
        return {
            "customer_id": customer_id,
            "score": run.score,
            "previous_score": run.previous_score,
            "trend": run.trend,
            "computed_at": run.computed_at,
            "trigger": run.trigger,
            "indicators": run_lines(lines),
            "history": [{"score": r.score, "computed_at": r.computed_at, "trigger": r.trigger} for r in past],
        }


def health_page(
    new_uow: UnitOfWorkFactory, request: PageRequest, *, min_score: float | None = None
) -> Page[HealthSummary]:
    """Latest scores ordered by score (``descending``: best first; never computed: not listed)."""
    with new_uow() as uow:
        rows, cursor = HealthRepository(uow.session).scores_page(request, min_score=min_score)
        return Page([HealthSummary(r.customer_id, r.score, r.computed_at) for r in rows], cursor)
