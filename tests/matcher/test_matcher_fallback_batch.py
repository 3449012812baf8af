"""Radius fallback, min-cost batch assignment against greedy, and the seeded simulation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.distance import destination_point
from matcher.batch import greedy_assignment, solve_assignment
from matcher.fallback import NoCarrierInRange, match_with_fallback
from matcher.index import CarrierIndex
from matcher.model import CarrierProfile, MatchQuery
from matcher.simulation import simulate_batch_vs_greedy

CENTRE = (30.27, 120.15)


def _index_with(distances_m: dict[str, float]) -> CarrierIndex:
    index = CarrierIndex(max_position_age_s=1e9)
    for i, (cid, dist) in enumerate(distances_m.items()):
        index.upsert_carrier(CarrierProfile(cid, "van", 500.0, 5.0, None))
        lat, lng = destination_point(*CENTRE, 30.0 * i, dist)
        index.update_positions([cid], [lat], [lng], [1.0])
    return index


def _query(**kw: object) -> MatchQuery:
    args: dict[str, object] = {
        "pickup_lat": CENTRE[0],
        "pickup_lng": CENTRE[1],
        "dropoff_lat": 30.3,
        "dropoff_lng": 120.2,
        "weight_kg": 10.0,
        "volume_m3": 0.1,
    }
    args.update(kw)
    return MatchQuery(**args)  # type: ignore[arg-type]


def test_fallback_widens_until_someone_is_found() -> None:
    index = _index_with({"far": 7000.0, "farther": 11000.0})
    candidates, radius = match_with_fallback(index, _query(radius_m=3000.0), [3000, 5000, 8000, 12000], now_s=2.0)
    assert radius == 8000
    assert [c.carrier_id for c in candidates] == ["far"]


def test_fallback_uses_the_requested_radius_first() -> None:
    index = _index_with({"near": 100.0})
    candidates, radius = match_with_fallback(index, _query(radius_m=3000.0), [5000, 8000], now_s=2.0)
    assert radius == 3000.0
    assert [c.carrier_id for c in candidates] == ["near"]


def test_no_carrier_in_range_is_a_404_with_a_stable_code() -> None:
    index = _index_with({"very-far": 50_000.0})
    with pytest.raises(NoCarrierInRange) as info:
        match_with_fallback(index, _query(radius_m=3000.0), [5000, 8000, 12000], now_s=2.0)
    assert info.value.code == "no_carrier_in_range"
    assert info.value.http_status == 404
    assert "12000" in info.value.message


def test_assignment_beats_greedy_on_a_crossing() -> None:
    # Greedy gives job 0 its nearest carrier A, leaving job 1 with the far carrier B.
    costs = [{"A": 1.0, "B": 2.0}, {"A": 1.5, "B": 100.0}]
    best = solve_assignment(costs)
    greedy = greedy_assignment(costs)
    assert best.assignments == {0: "B", 1: "A"}
    assert best.total_cost == 3.5
    assert greedy.total_cost == 101.0


def test_assignment_serves_as_many_jobs_as_possible_and_respects_capacity() -> None:
    costs = [{"A": 1.0}, {"A": 1.0, "B": 5.0}, {}]
    best = solve_assignment(costs, per_carrier_capacity=1)
    assert best.assignments == {0: "A", 1: "B"}
    assert best.unserved == [2]
    two_each = solve_assignment([{"A": 1.0}, {"A": 1.0}, {"A": 1.0}], per_carrier_capacity=2)
    assert len(two_each.assignments) == 2
    assert two_each.unserved == [0] or len(two_each.unserved) == 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.dictionaries(st.sampled_from("ABCDEFG"), st.floats(min_value=0.0, max_value=1000.0), max_size=5),
        max_size=12,
    ),
    st.integers(min_value=1, max_value=3),
)
def test_assignment_is_never_worse_than_greedy(costs: list[dict[str, float]], capacity: int) -> None:
    best = solve_assignment(costs, capacity)
    greedy = greedy_assignment(costs, capacity)
    assert len(best.unserved) <= len(greedy.unserved)
    if len(best.unserved) == len(greedy.unserved):
        assert best.total_cost <= greedy.total_cost + 1e-6
    counts: dict[str, int] = {}
    for i, cid in best.assignments.items():
        assert cid in costs[i]
        counts[cid] = counts.get(cid, 0) + 1
    assert all(n <= capacity for n in counts.values())


def test_index_match_batch_assigns_eligible_carriers() -> None:
    index = _index_with({"a": 100.0, "b": 900.0, "c": 20_000.0})
    result = index.match_batch([_query(rank_by="distance"), _query(rank_by="distance")], now_s=2.0)
    assert sorted(result.assignments.values()) == ["a", "b"]
    assert result.unserved == []


def test_simulation_solver_not_worse_than_greedy() -> None:
    outcome = simulate_batch_vs_greedy(seed=11, n_carriers=150, n_jobs=120)
    assert outcome.assignment_unserved <= outcome.greedy_unserved
    if outcome.assignment_unserved == outcome.greedy_unserved:
        assert outcome.assignment_cost <= outcome.greedy_cost
