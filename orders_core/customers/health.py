"""Customer health score, 0-100, from seven indicators each scored by an explicit tier table (pure).

Every rule is data: ``INDICATORS`` lists each indicator's weight, direction and tier table, and
docs/HEALTH_SCORE.md prints the same tables. The score is the weighted mean of the tier scores of the
indicators that have data: an indicator without data (a new customer has no order trend, an invoiced one no
gateway payments) drops out and the weights of the others are scaled up to 100 (renormalised). Each
indicator's contribution is ``tier_score * effective_weight / 100``, so the contributions sum to the score.
Trends compare each indicator with the previous computation of the same customer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from itertools import pairwise
from typing import Any

from foundation.errors import InvalidInput


class Direction(StrEnum):
    """Whether a larger raw value is healthier (``higher``) or worse (``lower``)."""

    HIGHER_IS_BETTER = "higher_is_better"
    LOWER_IS_BETTER = "lower_is_better"


@dataclass(frozen=True)
class Tier:
    """One row of a tier table: raw values on the healthy side of ``bound`` (inclusive) score ``score``."""

    bound: float
    score: int


@dataclass(frozen=True)
class TierTable:
    """Rows from the healthiest down; a value matching no row scores ``floor``.

    ``higher_is_better``: the first row with ``value >= bound``; ``lower_is_better``: the first with
    ``value <= bound``.
    """

    direction: Direction
    tiers: tuple[Tier, ...]
    floor: int = 0

    def __post_init__(self) -> None:
        bounds = [tier.bound for tier in self.tiers]
        ordered = sorted(bounds, reverse=self.direction is Direction.HIGHER_IS_BETTER)
        if bounds != ordered or len(set(bounds)) != len(bounds):
            raise ValueError("tier bounds must run from the healthiest row down, without repeats")
        if not all(0 <= tier.score <= 100 for tier in self.tiers) or not 0 <= self.floor <= 100:
            raise ValueError("tier scores are 0..100")

    def score(self, value: float) -> int:
        """The tier score of a raw value."""
        for tier in self.tiers:
            if (self.direction is Direction.HIGHER_IS_BETTER and value >= tier.bound) or (
                self.direction is Direction.LOWER_IS_BETTER and value <= tier.bound
            ):
                return tier.score
        return self.floor


class Indicator(StrEnum):
    """The seven indicators, in the order they are shown."""

    ORDER_FREQUENCY_TREND = "order_frequency_trend"
    ORDER_VALUE_TREND = "order_value_trend"
    PAYMENT_PUNCTUALITY = "payment_punctuality"
    CREDIT_UTILISATION = "credit_utilisation"
    EXCEPTION_RATE = "exception_rate"
    FAILED_DELIVERY_RATE = "failed_delivery_rate"
    RECENCY = "recency"


@dataclass(frozen=True)
class IndicatorSpec:
    """How one indicator is scored: its weight out of 100, the unit of its raw value and its tier table."""

    indicator: Indicator
    label: str
    weight: int
    unit: str
    table: TierTable


def _higher(*rows: tuple[float, int]) -> TierTable:
    return TierTable(Direction.HIGHER_IS_BETTER, tuple(Tier(b, s) for b, s in rows))


def _lower(*rows: tuple[float, int]) -> TierTable:
    return TierTable(Direction.LOWER_IS_BETTER, tuple(Tier(b, s) for b, s in rows))


#: The scoring rules (docs/HEALTH_SCORE.md prints the same tables; a test holds the two together).
INDICATORS: tuple[IndicatorSpec, ...] = (
    IndicatorSpec(
        Indicator.ORDER_FREQUENCY_TREND,
        "Order frequency trend (orders in the last 28 days / mean per 28 days of the 84 before)",
        15,
        "ratio",
        _higher((1.10, 100), (0.90, 80), (0.70, 60), (0.50, 35), (0.25, 15)),
    ),
    IndicatorSpec(
        Indicator.ORDER_VALUE_TREND,
        "Order value trend (order value in the last 28 days / mean per 28 days of the 84 before)",
        15,
        "ratio",
        _higher((1.10, 100), (0.90, 80), (0.70, 60), (0.50, 35), (0.25, 15)),
    ),
    IndicatorSpec(
        Indicator.PAYMENT_PUNCTUALITY,
        "Payment punctuality and overdue (PAYDEX-like, 1-100, amount-weighted days beyond terms)",
        20,
        "paydex",
        _higher((80, 100), (70, 80), (60, 60), (50, 40), (30, 20)),
    ),
    IndicatorSpec(
        Indicator.CREDIT_UTILISATION,
        "Credit utilisation ((open orders + overdue) / effective credit limit)",
        15,
        "ratio",
        _lower((0.50, 100), (0.70, 80), (0.85, 60), (1.00, 30)),
    ),
    IndicatorSpec(
        Indicator.EXCEPTION_RATE,
        "Exception and dispute rate (orders of the last 90 days with a customer-side exception / orders)",
        10,
        "ratio",
        _lower((0.02, 100), (0.05, 80), (0.10, 60), (0.20, 30)),
    ),
    IndicatorSpec(
        Indicator.FAILED_DELIVERY_RATE,
        "Failed-delivery and return rate (shipments of the last 90 days failed or returned / with an outcome)",
        10,
        "ratio",
        _lower((0.02, 100), (0.05, 80), (0.10, 60), (0.20, 30)),
    ),
    IndicatorSpec(
        Indicator.RECENCY,
        "Recency (days since the last order)",
        15,
        "days",
        _lower((7, 100), (14, 80), (30, 60), (60, 30), (90, 10)),
    ),
)
SPECS: dict[Indicator, IndicatorSpec] = {spec.indicator: spec for spec in INDICATORS}
assert sum(spec.weight for spec in INDICATORS) == 100, "weights must sum to 100"

#: PAYDEX-like scale: (amount-weighted days beyond terms, index), linear between the points, 1..100 outside.
#: As Dun & Bradstreet's: 80 = pays on terms, 70 = 15 days late, 50 = 30 days late, 20 = 120 days late.
PAYDEX_POINTS: tuple[tuple[float, float], ...] = (
    (-20.0, 100.0),
    (-10.0, 90.0),
    (0.0, 80.0),
    (15.0, 70.0),
    (22.0, 60.0),
    (30.0, 50.0),
    (60.0, 40.0),
    (90.0, 30.0),
    (120.0, 20.0),
    (180.0, 1.0),
)


def paydex(days_beyond_terms: float) -> float:
    """The PAYDEX-like index (1-100) of an amount-weighted mean of days beyond terms (negative: early)."""
    points = PAYDEX_POINTS
    if days_beyond_terms <= points[0][0]:
        return points[0][1]
    for (d0, p0), (d1, p1) in pairwise(points):
        if days_beyond_terms <= d1:
            return round(p0 + (p1 - p0) * (days_beyond_terms - d0) / (d1 - d0), 1)
    return points[-1][1]


class Trend(StrEnum):
    """How an indicator's tier score moved since the previous computation."""

    UP = "up"
    DOWN = "down"
    FLAT = "flat"
    NEW = "new"  # no previous computation (or it had no data for this indicator)
    NO_DATA = "no_data"


@dataclass(frozen=True)
class Measurement:
    """An indicator's raw value (None: no data) and the figures it was computed from (shown as is)."""

    value: float | None
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IndicatorScore:
    """One line of the breakdown."""

    indicator: Indicator
    raw_value: float | None
    tier_score: int | None
    weight: int
    effective_weight: float
    contribution: float
    previous_tier_score: int | None
    trend: Trend
    details: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form."""
        spec = SPECS[self.indicator]
        return {
            "indicator": self.indicator.value,
            "label": spec.label,
            "unit": spec.unit,
            "raw_value": self.raw_value,
            "tier_score": self.tier_score,
            "weight": self.weight,
            "effective_weight": self.effective_weight,
            "contribution": self.contribution,
            "previous_tier_score": self.previous_tier_score,
            "trend": self.trend.value,
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class HealthScore:
    """A customer's score (None when no indicator has data) with every indicator's line."""

    score: float | None
    indicators: tuple[IndicatorScore, ...]
    previous_score: float | None
    trend: Trend


def _trend(current: float | None, previous: float | None) -> Trend:
    if current is None:
        return Trend.NO_DATA
    if previous is None:
        return Trend.NEW
    if current > previous:
        return Trend.UP
    return Trend.DOWN if current < previous else Trend.FLAT


def score_health(
    measurements: Mapping[Indicator, Measurement],
    previous: Mapping[Indicator, int | None] | None = None,
    previous_score: float | None = None,
) -> HealthScore:
    """Score every indicator by its tier table, renormalise the weights over those with data, compare with the
    previous computation (``previous``: tier score per indicator, None where it had no data)."""
    unknown = set(measurements) - set(SPECS)
    if unknown:
        raise InvalidInput(f"unknown indicators {sorted(unknown)}")
    previous = previous or {}
    tiers: dict[Indicator, int | None] = {}
    for spec in INDICATORS:
        measured = measurements.get(spec.indicator)
        tiers[spec.indicator] = None if measured is None or measured.value is None else spec.table.score(measured.value)
    weight_with_data = sum(spec.weight for spec in INDICATORS if tiers[spec.indicator] is not None)
    lines: list[IndicatorScore] = []
    total = 0.0
    for spec in INDICATORS:
        tier = tiers[spec.indicator]
        measured = measurements.get(spec.indicator) or Measurement(None)
        effective = spec.weight * 100 / weight_with_data if tier is not None and weight_with_data else 0.0
        contribution = tier * effective / 100 if tier is not None else 0.0
        total += contribution
        before = previous.get(spec.indicator)
        lines.append(
            IndicatorScore(
                indicator=spec.indicator,
                raw_value=None if measured.value is None else round(float(measured.value), 6),
                tier_score=tier,
                weight=spec.weight,
                effective_weight=round(effective, 4),
                contribution=round(contribution, 4),
                previous_tier_score=before,
                trend=_trend(tier, before),
                details=dict(measured.details),
            )
        )
    score = round(total, 1) if weight_with_data else None
    return HealthScore(score, tuple(lines), previous_score, _trend(score, previous_score))


def ratio(numerator: float, denominator: float) -> float | None:
    """``numerator / denominator``, None (no data) when the denominator is not positive."""
    return numerator / denominator if denominator > 0 else None


def trend_ratio(recent: float, baseline_total: float, baseline_periods: int) -> float | None:
    """Recent period against the mean period of the baseline; None when the baseline is empty (no history)."""
    return ratio(recent, baseline_total / baseline_periods) if baseline_total > 0 else None


@dataclass(frozen=True)
class HealthPolicy:
    """The windows and payment terms the indicators are measured over (``DISPATCH_HEALTH__<FIELD>``)."""

    recent_days: int = 28
    #: The trend compares the recent period with the mean of this many periods just before it.
    baseline_periods: int = 3
    #: Exceptions and failed deliveries count over the orders placed in this many days.
    window_days: int = 90
    #: Invoices are due this many days after the order; paying later is "beyond terms".
    payment_terms_days: float = 30.0
    #: Payments received within this many days are scored.
    payment_lookback_days: int = 365
    #: The customer's ``overdue_amount`` (set by the ERP, age unknown) counts as this many days beyond terms.
    overdue_assumed_days: float = 60.0

    def __post_init__(self) -> None:
        if min(self.recent_days, self.baseline_periods, self.window_days, self.payment_lookback_days) <= 0:
            raise ValueError("health windows must be positive")


@dataclass(frozen=True)
class CustomerFacts:
    """What the repository aggregated for one customer (sums and counts, never per-order rows)."""

    customer_id: str
    orders_recent: int = 0
    orders_baseline: int = 0
    value_recent: float = 0.0
    value_baseline: float = 0.0
    last_order_at: datetime | None = None
    #: Gateway payments marked paid: their amount and the sum of amount x days from order to payment.
    paid_amount: float = 0.0
    paid_amount_days: float = 0.0
    #: Unpaid (pending or failed) orders older than the terms: their total and total x age in days.
    unpaid_overdue_amount: float = 0.0
    unpaid_overdue_amount_days: float = 0.0
    overdue_amount: float = 0.0
    open_exposure: float = 0.0
    effective_credit_limit: float = 0.0
    orders_in_window: int = 0
    orders_with_exception: int = 0
    shipments_with_outcome: int = 0
    shipments_failed_or_returned: int = 0


def measure(facts: CustomerFacts, policy: HealthPolicy, now: datetime) -> dict[Indicator, Measurement]:
    """The seven raw values (None where there is no data) from a customer's aggregated facts."""
    periods = policy.baseline_periods
    terms = policy.payment_terms_days
    owed = facts.paid_amount + facts.unpaid_overdue_amount + facts.overdue_amount
    days_beyond: float | None = None
    if owed > 0:
        days_beyond = (
            facts.paid_amount_days
            - terms * facts.paid_amount
            + facts.unpaid_overdue_amount_days
            - terms * facts.unpaid_overdue_amount
            + policy.overdue_assumed_days * facts.overdue_amount
        ) / owed
    recency = None if facts.last_order_at is None else max((now - facts.last_order_at).total_seconds(), 0) / 86400
    return {
        Indicator.ORDER_FREQUENCY_TREND: Measurement(
            trend_ratio(facts.orders_recent, facts.orders_baseline, periods),
            {"orders_recent": facts.orders_recent, "orders_baseline": facts.orders_baseline, "periods": periods},
        ),
        Indicator.ORDER_VALUE_TREND: Measurement(
            trend_ratio(facts.value_recent, facts.value_baseline, periods),
            {"value_recent": round(facts.value_recent, 2), "value_baseline": round(facts.value_baseline, 2)},
        ),
        Indicator.PAYMENT_PUNCTUALITY: Measurement(
            None if days_beyond is None else paydex(days_beyond),
            {
                "days_beyond_terms": None if days_beyond is None else round(days_beyond, 2),
                "paid_amount": round(facts.paid_amount, 2),
                "unpaid_overdue_amount": round(facts.unpaid_overdue_amount, 2),
                "overdue_amount": round(facts.overdue_amount, 2),
                "terms_days": terms,
            },
        ),
        Indicator.CREDIT_UTILISATION: Measurement(
            ratio(facts.open_exposure + facts.overdue_amount, facts.effective_credit_limit),
            {
                "open_exposure": round(facts.open_exposure, 2),
                "overdue_amount": round(facts.overdue_amount, 2),
                "effective_credit_limit": round(facts.effective_credit_limit, 2),
            },
        ),
        Indicator.EXCEPTION_RATE: Measurement(
            ratio(facts.orders_with_exception, facts.orders_in_window),
            {"orders_with_exception": facts.orders_with_exception, "orders": facts.orders_in_window},
        ),
        Indicator.FAILED_DELIVERY_RATE: Measurement(
            ratio(facts.shipments_failed_or_returned, facts.shipments_with_outcome),
            {
                "failed_or_returned": facts.shipments_failed_or_returned,
                "with_outcome": facts.shipments_with_outcome,
            },
        ),
        Indicator.RECENCY: Measurement(
            recency,
            {"last_order_at": None if facts.last_order_at is None else facts.last_order_at.isoformat()},
        ),
    }


#: Exception kinds that do not count against the customer in the exception rate: the distributor's own
#: shortfalls (stock, carriers, picking) and failed deliveries (scored by their own indicator). Every other
#: kind counts (price conflicts, credit holds, address problems, disputes, ...).
NOT_CUSTOMER_EXCEPTION_KINDS: frozenset[str] = frozenset(
    {"stock_shortage", "no_carrier_in_range", "short_pick", "delivery_failed", "shipment_returned"}
)
