"""The health score's data: aggregate SQL over orders, payments, exceptions and shipments (a handful of
grouped statements for any number of customers, never a loop over orders), and the stored computations.

Day differences are computed by the database: ``julianday`` on SQLite, ``EXTRACT(EPOCH ...)`` on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, case, cast, distinct, extract, func, literal, or_, select
from sqlalchemy.orm import Session

from foundation.columns import UtcDateTime
from infra.pagination import PageRequest, keyset_page
from orders_core.customers.health import (
    NOT_CUSTOMER_EXCEPTION_KINDS,
    SPECS,
    CustomerFacts,
    HealthPolicy,
    HealthScore,
    Indicator,
)
from orders_core.customers.health_tables import CustomerHealthRow, HealthIndicatorRow, HealthRunRow
from orders_core.master_data.tables import CustomerRow
from orders_core.orders.model import CLOSED, OrderStatus, PaymentStatus
from orders_core.orders.tables import ExceptionRow, OrderRow, PaymentRow, ShipmentRow
from orders_core.transport.model import ShipmentStatus
from orders_core.transport.tracking_tables import ShipmentTrackingRow

CANCELLED = OrderStatus.CANCELLED.value


def _at(moment: datetime) -> ColumnElement[Any]:
    """A bound timestamp typed like the columns (SQLite stores them as naive UTC text)."""
    return literal(moment, UtcDateTime())


def _days(session: Session, later: Any, earlier: Any) -> ColumnElement[Any]:
    """``later - earlier`` in days, computed by the database."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(extract("epoch", later - earlier), Float) / 86400.0
    return func.julianday(later) - func.julianday(earlier)


def _num(value: Any) -> float:
    return float(value) if value is not None else 0.0


class HealthRepository:
    """Facts for the score and the stored computations, in the caller's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def customer_ids(self) -> list[str]:
        """Every customer (the scheduled recomputation scores them all)."""
        return list(self.session.scalars(select(CustomerRow.id).order_by(CustomerRow.id)))

    def customer_exists(self, customer_id: str) -> bool:
        """Whether the customer is known."""
        return self.session.get(CustomerRow, customer_id) is not None

    def facts(self, customer_ids: Collection[str], policy: HealthPolicy, now: datetime) -> dict[str, CustomerFacts]:
        """Aggregated facts of each customer (six grouped statements whatever the number of customers)."""
        ids = sorted(set(customer_ids))
        if not ids:
            return {}
        facts = {cid: CustomerFacts(customer_id=cid) for cid in ids}
        self._customers(facts, now)
        self._orders(facts, policy, now)
        self._payments(facts, policy, now)
        self._exceptions(facts, policy, now)
        self._shipments(facts, policy, now)
        return facts

    def _customers(self, facts: dict[str, CustomerFacts], now: datetime) -> None:
        rows = self.session.execute(
            select(
                CustomerRow.id,
                CustomerRow.credit_limit,
                CustomerRow.temporary_credit_limit,
                CustomerRow.temporary_credit_limit_expires_at,
                CustomerRow.overdue_amount,
            ).where(CustomerRow.id.in_(list(facts)))
        )
        for cid, limit, temporary, expires_at, overdue in rows:
            effective = _num(limit)
            if temporary is not None and (expires_at is None or expires_at > now):
                effective = max(effective, _num(temporary))
            facts[cid] = replace(facts[cid], effective_credit_limit=effective, overdue_amount=_num(overdue))

    def _orders(self, facts: dict[str, CustomerFacts], policy: HealthPolicy, now: datetime) -> None:
        recent_from = now - timedelta(days=policy.recent_days)
        baseline_from = recent_from - timedelta(days=policy.recent_days * policy.baseline_periods)
        window_from = now - timedelta(days=policy.window_days)
        created = OrderRow.created_at
        recent = and_(created >= _at(recent_from), created < _at(now))
        baseline = and_(created >= _at(baseline_from), created < _at(recent_from))
        live = OrderRow.status != CANCELLED
        statement = (
            select(
                OrderRow.customer_id,
                func.sum(case((and_(live, recent), 1), else_=0)),
                func.sum(case((and_(live, baseline), 1), else_=0)),
                func.sum(case((and_(live, recent), OrderRow.total), else_=0)),
                func.sum(case((and_(live, baseline), OrderRow.total), else_=0)),
                func.max(case((live, created), else_=None)),
                func.sum(case((OrderRow.status.not_in([s.value for s in CLOSED]), OrderRow.total), else_=0)),
                func.sum(case((and_(live, created >= _at(window_from), created < _at(now)), 1), else_=0)),
            )
            .where(OrderRow.customer_id.in_(list(facts)))
            .group_by(OrderRow.customer_id)
        )
        for cid, n_recent, n_base, v_recent, v_base, last_at, exposure, n_window in self.session.execute(statement):
            if isinstance(last_at, str):  # SQLite's MAX over a CASE may hand back the stored text
                last_at = datetime.fromisoformat(last_at).replace(tzinfo=UTC)
            facts[cid] = replace(
                facts[cid],
                orders_recent=int(n_recent or 0),
                orders_baseline=int(n_base or 0),
                value_recent=_num(v_recent),
                value_baseline=_num(v_base),
                last_order_at=last_at,
                open_exposure=_num(exposure),
                orders_in_window=int(n_window or 0),
            )

    def _payments(self, facts: dict[str, CustomerFacts], policy: HealthPolicy, now: datetime) -> None:
        paid = (
            select(
                OrderRow.customer_id,
                func.sum(PaymentRow.amount),
                func.sum(PaymentRow.amount * _days(self.session, PaymentRow.received_at, OrderRow.created_at)),
            )
            .join(OrderRow, OrderRow.id == PaymentRow.order_id)
            .where(
                OrderRow.customer_id.in_(list(facts)),
                PaymentRow.status == PaymentStatus.PAID.value,
                PaymentRow.received_at >= _at(now - timedelta(days=policy.payment_lookback_days)),
            )
            .group_by(OrderRow.customer_id)
        )
        for cid, amount, amount_days in self.session.execute(paid):
            facts[cid] = replace(facts[cid], paid_amount=_num(amount), paid_amount_days=_num(amount_days))
        due_before = now - timedelta(days=policy.payment_terms_days)
        unpaid = (
            select(
                OrderRow.customer_id,
                func.sum(OrderRow.total),
                func.sum(OrderRow.total * _days(self.session, _at(now), OrderRow.created_at)),
            )
            .where(
                OrderRow.customer_id.in_(list(facts)),
                OrderRow.payment_status.in_([PaymentStatus.PENDING.value, PaymentStatus.FAILED.value]),
                OrderRow.status != CANCELLED,
                OrderRow.created_at < _at(due_before),
            )
            .group_by(OrderRow.customer_id)
        )
        for cid, amount, amount_days in self.session.execute(unpaid):
            facts[cid] = replace(
                facts[cid], unpaid_overdue_amount=_num(amount), unpaid_overdue_amount_days=_num(amount_days)
            )

    def _exceptions(self, facts: dict[str, CustomerFacts], policy: HealthPolicy, now: datetime) -> None:
        window_from = now - timedelta(days=policy.window_days)
        statement = (
            select(OrderRow.customer_id, func.count(distinct(OrderRow.id)))
            .join(ExceptionRow, ExceptionRow.order_id == OrderRow.id)
            .where(
                OrderRow.customer_id.in_(list(facts)),
                OrderRow.status != CANCELLED,
                OrderRow.created_at >= _at(window_from),
                OrderRow.created_at < _at(now),
                ExceptionRow.kind.not_in(sorted(NOT_CUSTOMER_EXCEPTION_KINDS)),
            )
            .group_by(OrderRow.customer_id)
        )
        for cid, count in self.session.execute(statement):
            facts[cid] = replace(facts[cid], orders_with_exception=int(count))

    def _shipments(self, facts: dict[str, CustomerFacts], policy: HealthPolicy, now: datetime) -> None:
        window_from = now - timedelta(days=policy.window_days)
        failed = or_(
            ShipmentRow.status == ShipmentStatus.FAILED.value,
            func.coalesce(ShipmentTrackingRow.failed_attempts, 0) > 0,
            ShipmentTrackingRow.returned.is_(True),
        )
        outcome = or_(failed, ShipmentRow.status == ShipmentStatus.DELIVERED.value)
        statement = (
            select(
                OrderRow.customer_id,
                func.sum(case((outcome, 1), else_=0)),
                func.sum(case((failed, 1), else_=0)),
            )
            .join(OrderRow, OrderRow.id == ShipmentRow.order_id)
            .outerjoin(ShipmentTrackingRow, ShipmentTrackingRow.shipment_id == ShipmentRow.id)
            .where(
                OrderRow.customer_id.in_(list(facts)),
                OrderRow.created_at >= _at(window_from),
                OrderRow.created_at < _at(now),
            )
            .group_by(OrderRow.customer_id)
        )
        for cid, with_outcome, failed_n in self.session.execute(statement):
            facts[cid] = replace(
                facts[cid],
                shipments_with_outcome=int(with_outcome or 0),
                shipments_failed_or_returned=int(failed_n or 0),
            )

    # --- stored computations -------------------------------------------------------------------
    def previous(self, customer_ids: Collection[str]) -> dict[str, tuple[float | None, dict[Indicator, int | None]]]:
        """Each customer's latest stored score and tier score per indicator (the trend's reference)."""
        ids = list(customer_ids)
        if not ids:
            return {}
        latest = dict(
            self.session.execute(
                select(CustomerHealthRow.customer_id, CustomerHealthRow.run_id).where(
                    CustomerHealthRow.customer_id.in_(ids)
                )
            ).all()
        )
        answer: dict[str, tuple[float | None, dict[Indicator, int | None]]] = {}
        runs = {r.id: r for r in self.session.scalars(select(HealthRunRow).where(HealthRunRow.id.in_(latest.values())))}
        for row in self.session.scalars(
            select(HealthIndicatorRow).where(HealthIndicatorRow.run_id.in_(list(latest.values())))
        ):
            cid = runs[row.run_id].customer_id
            answer.setdefault(cid, (runs[row.run_id].score, {}))[1][Indicator(row.indicator)] = row.tier_score
        for cid, run_id in latest.items():
            answer.setdefault(cid, (runs[run_id].score, {}))
        return answer

    def save(self, customer_id: str, result: HealthScore, computed_at: datetime, trigger: str) -> int:
        """Store one computation and make it the customer's latest; answers its run id."""
        run = HealthRunRow(
            customer_id=customer_id,
            computed_at=computed_at,
            score=result.score,
            previous_score=result.previous_score,
            trend=result.trend.value,
            trigger=trigger,
        )
        self.session.add(run)
        self.session.flush()
        self.session.add_all(
            HealthIndicatorRow(
                run_id=run.id,
                indicator=line.indicator.value,
                raw_value=line.raw_value,
                tier_score=line.tier_score,
                weight=line.weight,
                effective_weight=line.effective_weight,
                contribution=line.contribution,
                previous_tier_score=line.previous_tier_score,
                trend=line.trend.value,
                details=dict(line.details),
            )
            for line in result.indicators
        )
        latest = self.session.get(CustomerHealthRow, customer_id)
        sort_score = result.score if result.score is not None else -1.0
        if latest is None:
            self.session.add(
                CustomerHealthRow(
                    customer_id=customer_id,
                    run_id=run.id,
                    score=result.score,
                    sort_score=sort_score,
                    computed_at=computed_at,
                )
            )
        else:
            latest.run_id, latest.score, latest.sort_score, latest.computed_at = (
                run.id,
                result.score,
                sort_score,
                computed_at,
            )
        self.session.flush()
        return run.id

    def latest_run(self, customer_id: str) -> tuple[HealthRunRow, list[HealthIndicatorRow]] | None:
        """The customer's latest computation with its indicator lines (None: never computed)."""
        latest = self.session.get(CustomerHealthRow, customer_id)
        if latest is None:
            return None
        run = self.session.get(HealthRunRow, latest.run_id)
        assert run is not None
        lines = list(
            self.session.scalars(
                select(HealthIndicatorRow).where(HealthIndicatorRow.run_id == run.id).order_by(HealthIndicatorRow.id)
            )
        )
        return run, lines

    def history(self, customer_id: str, limit: int) -> list[HealthRunRow]:
        """The customer's last ``limit`` computations, newest first."""
        return list(
            self.session.scalars(
                select(HealthRunRow)
                .where(HealthRunRow.customer_id == customer_id)
                .order_by(HealthRunRow.computed_at.desc(), HealthRunRow.id.desc())
                .limit(limit)
            )
        )

    def scores_page(
        self, request: PageRequest, *, min_score: float | None = None
    ) -> tuple[list[CustomerHealthRow], str | None]:
        """Latest scores ordered by score then customer id (``descending``: best first)."""
        query = select(CustomerHealthRow)
        if min_score is not None:
            query = query.where(CustomerHealthRow.sort_score >= min_score)
        return keyset_page(self.session, query, [CustomerHealthRow.sort_score, CustomerHealthRow.customer_id], request)

    def scores_at_least(self, min_score: float) -> dict[str, float]:
        """customer -> latest score, for the customers scoring at least ``min_score`` (pre-booking)."""
        rows = self.session.execute(
            select(CustomerHealthRow.customer_id, CustomerHealthRow.score).where(
                CustomerHealthRow.sort_score >= min_score
            )
        )
        return {cid: float(score) for cid, score in rows if score is not None}


def run_lines(rows: Sequence[HealthIndicatorRow]) -> list[dict[str, Any]]:
    """Stored indicator lines as the API shows them, in the order of ``INDICATORS``."""
    by_name = {row.indicator: row for row in rows}
    lines = []
    for indicator, spec in SPECS.items():
        row = by_name.get(indicator.value)
        if row is None:
            continue
        lines.append(
            {
                "indicator": row.indicator,
                "label": spec.label,
                "unit": spec.unit,
                "raw_value": row.raw_value,
                "tier_score": row.tier_score,
                "weight": row.weight,
                "effective_weight": row.effective_weight,
                "contribution": row.contribution,
                "previous_tier_score": row.previous_tier_score,
                "trend": row.trend,
                "details": row.details,
            }
        )
    return lines
