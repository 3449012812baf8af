"""The health score's rules: every tier table at its boundaries, the PAYDEX-like scale, renormalisation when
indicators have no data, contributions summing to the score, trends against the previous computation, and
docs/HEALTH_SCORE.md printing the same tables as the code."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orders_core.customers.health import (
    INDICATORS,
    SPECS,
    CustomerFacts,
    Direction,
    HealthPolicy,
    Indicator,
    Measurement,
    Tier,
    TierTable,
    Trend,
    measure,
    paydex,
    score_health,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "HEALTH_SCORE.md"


def test_weights_sum_to_100() -> None:
    assert sum(spec.weight for spec in INDICATORS) == 100
    assert len(INDICATORS) == 7


@pytest.mark.parametrize("spec", INDICATORS, ids=lambda s: s.indicator.value)
def test_every_tier_boundary_scores_its_own_row_and_just_beyond_scores_the_next(spec: object) -> None:
    table = spec.table  # type: ignore[attr-defined]
    rows = list(table.tiers)
    for i, tier in enumerate(rows):
        assert table.score(tier.bound) == tier.score  # the bound itself is inside the row
        step = 1e-6 if table.direction is Direction.LOWER_IS_BETTER else -1e-6
        beyond = rows[i + 1].score if i + 1 < len(rows) else table.floor
        assert table.score(tier.bound + step) == beyond


def test_higher_and_lower_tables_read_in_their_direction() -> None:
    higher = TierTable(Direction.HIGHER_IS_BETTER, (Tier(10, 100), Tier(5, 50)), floor=7)
    assert [higher.score(v) for v in (11, 10, 9.99, 5, 4.99, -3)] == [100, 100, 50, 50, 7, 7]
    lower = TierTable(Direction.LOWER_IS_BETTER, (Tier(1, 100), Tier(2, 40)))
    assert [lower.score(v) for v in (0, 1, 1.5, 2, 2.01)] == [100, 100, 40, 40, 0]


def test_a_table_out_of_order_is_refused() -> None:
    with pytest.raises(ValueError):
        TierTable(Direction.HIGHER_IS_BETTER, (Tier(5, 50), Tier(10, 100)))
    with pytest.raises(ValueError):
        TierTable(Direction.LOWER_IS_BETTER, (Tier(1, 100), Tier(1, 40)))


def test_paydex_points_and_interpolation() -> None:
    assert paydex(-45) == 100
    assert paydex(0) == 80  # paid on terms
    assert paydex(15) == 70
    assert paydex(30) == 50
    assert paydex(120) == 20
    assert paydex(400) == 1
    assert paydex(7.5) == 75.0  # half-way between on terms (80) and 15 days late (70)
    values = [paydex(d) for d in range(-40, 300, 3)]
    assert values == sorted(values, reverse=True)  # later never scores better


def _all(value: float) -> dict[Indicator, Measurement]:
    return {spec.indicator: Measurement(value) for spec in INDICATORS}


def test_renormalisation_spreads_missing_weight_over_the_indicators_with_data() -> None:
    measurements = {
        Indicator.ORDER_FREQUENCY_TREND: Measurement(2.0),  # tier 100, weight 15
        Indicator.PAYMENT_PUNCTUALITY: Measurement(45.0),  # tier 20, weight 20
        Indicator.RECENCY: Measurement(None),  # no data
    }
    result = score_health(measurements)
    # Only 15 + 20 = 35 of the weight has data: 100 * 15/35 + 20 * 20/35.
    assert result.score == pytest.approx(round((100 * 15 + 20 * 20) / 35, 1))
    lines = {line.indicator: line for line in result.indicators}
    assert lines[Indicator.ORDER_FREQUENCY_TREND].effective_weight == pytest.approx(100 * 15 / 35, abs=1e-4)
    assert lines[Indicator.RECENCY].tier_score is None
    assert lines[Indicator.RECENCY].contribution == 0
    assert lines[Indicator.RECENCY].trend is Trend.NO_DATA
    assert sum(line.effective_weight for line in result.indicators) == pytest.approx(100)
    assert sum(line.contribution for line in result.indicators) == pytest.approx(result.score, abs=0.06)


def test_no_data_at_all_gives_no_score() -> None:
    result = score_health({})
    assert result.score is None
    assert all(line.effective_weight == 0 for line in result.indicators)


def test_all_best_and_all_worst() -> None:
    best = {
        Indicator.ORDER_FREQUENCY_TREND: Measurement(5),
        Indicator.ORDER_VALUE_TREND: Measurement(5),
        Indicator.PAYMENT_PUNCTUALITY: Measurement(100),
        Indicator.CREDIT_UTILISATION: Measurement(0),
        Indicator.EXCEPTION_RATE: Measurement(0),
        Indicator.FAILED_DELIVERY_RATE: Measurement(0),
        Indicator.RECENCY: Measurement(0),
    }
    assert score_health(best).score == 100
    worst = {
        Indicator.ORDER_FREQUENCY_TREND: Measurement(0),
        Indicator.ORDER_VALUE_TREND: Measurement(0),
        Indicator.PAYMENT_PUNCTUALITY: Measurement(1),
        Indicator.CREDIT_UTILISATION: Measurement(3),
        Indicator.EXCEPTION_RATE: Measurement(1),
        Indicator.FAILED_DELIVERY_RATE: Measurement(1),
        Indicator.RECENCY: Measurement(400),
    }
    assert score_health(worst).score == 0


def test_trend_compares_each_indicator_with_the_previous_computation() -> None:
    first = score_health({Indicator.RECENCY: Measurement(3), Indicator.CREDIT_UTILISATION: Measurement(0.6)})
    assert first.trend is Trend.NEW
    assert {line.trend for line in first.indicators if line.tier_score is not None} == {Trend.NEW}
    previous = {line.indicator: line.tier_score for line in first.indicators}
    second = score_health(
        {Indicator.RECENCY: Measurement(20), Indicator.CREDIT_UTILISATION: Measurement(0.3)},
        previous,
        first.score,
    )
    lines = {line.indicator: line for line in second.indicators}
    assert lines[Indicator.RECENCY].trend is Trend.DOWN  # 100 -> 60
    assert lines[Indicator.RECENCY].previous_tier_score == 100
    assert lines[Indicator.CREDIT_UTILISATION].trend is Trend.UP  # 80 -> 100
    assert second.previous_score == first.score
    assert second.trend is (Trend.UP if second.score > first.score else Trend.DOWN)  # type: ignore[operator]
    third = score_health(
        {Indicator.RECENCY: Measurement(20), Indicator.CREDIT_UTILISATION: Measurement(0.3)},
        {line.indicator: line.tier_score for line in second.indicators},
        second.score,
    )
    assert third.trend is Trend.FLAT
    assert {line.trend for line in third.indicators if line.tier_score is not None} == {Trend.FLAT}


def test_measure_turns_facts_into_raw_values() -> None:
    now = datetime(2026, 6, 1, tzinfo=UTC)
    policy = HealthPolicy()
    facts = CustomerFacts(
        customer_id="C",
        orders_recent=4,
        orders_baseline=6,
        value_recent=80,
        value_baseline=60,
        last_order_at=now - timedelta(days=2, hours=12),
        paid_amount=100,
        paid_amount_days=100 * 45,  # paid 45 days after ordering: 15 beyond 30-day terms
        open_exposure=300,
        overdue_amount=0,
        effective_credit_limit=1000,
        orders_in_window=10,
        orders_with_exception=1,
        shipments_with_outcome=0,
    )
    raw = {k: m.value for k, m in measure(facts, policy, now).items()}
    assert raw[Indicator.ORDER_FREQUENCY_TREND] == pytest.approx(4 / (6 / 3))
    assert raw[Indicator.ORDER_VALUE_TREND] == pytest.approx(80 / (60 / 3))
    assert raw[Indicator.PAYMENT_PUNCTUALITY] == 70  # 15 days beyond terms
    assert raw[Indicator.CREDIT_UTILISATION] == pytest.approx(0.3)
    assert raw[Indicator.EXCEPTION_RATE] == pytest.approx(0.1)
    assert raw[Indicator.FAILED_DELIVERY_RATE] is None  # no shipment with an outcome: no data
    assert raw[Indicator.RECENCY] == pytest.approx(2.5)
    # Overdue money with no age counts as overdue_assumed_days beyond terms, weighted by amount.
    overdue = measure(CustomerFacts(customer_id="C", overdue_amount=500), policy, now)
    assert overdue[Indicator.PAYMENT_PUNCTUALITY].value == paydex(policy.overdue_assumed_days)
    assert measure(CustomerFacts(customer_id="C"), policy, now)[Indicator.ORDER_FREQUENCY_TREND].value is None


def test_the_document_prints_the_same_weights_and_tiers_as_the_code() -> None:
    text = DOC.read_text()
    for spec in INDICATORS:
        section = text.split(f"`{spec.indicator.value}`", 1)
        assert len(section) == 2, f"{spec.indicator.value} is not documented"
        row = re.search(r"weight (\d+)", section[1])
        assert row is not None and int(row.group(1)) == spec.weight, spec.indicator.value
        own = section[1].split("\n### ", 1)[0]  # up to the next indicator's heading
        documented = re.findall(r"\|\s*([<>]=?)\s*([-\d.]+)\s*\|\s*(\d+)\s*\|", own)
        assert [(float(b), int(s)) for _, b, s in documented] == [(t.bound, t.score) for t in spec.table.tiers], (
            spec.indicator.value
        )
    assert set(SPECS) == set(Indicator)
