"""The explanation of a match agrees with the oracle, and batch assignment widens job by job."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from shapely.geometry import Point

from geo.distance import destination_point, haversine_m
from matcher.batch import assign_widening
from matcher.bruteforce import BruteForceMatcher
from matcher.explain import REASONS
from matcher.index import CarrierIndex
from matcher.model import CarrierProfile, MatchQuery

from .test_matcher_index import NOW, _profile

CENTRE = (30.2, 120.2)
MAX_AGE_S = 600.0


def _fleet(seed: int) -> tuple[CarrierIndex, list[CarrierProfile], dict[str, tuple[float, float, float]]]:
    rng = np.random.default_rng(seed)
    index = CarrierIndex(max_position_age_s=MAX_AGE_S)
    profiles = [_profile(f"c{i}", i) for i in range(150)]
    positions: dict[str, tuple[float, float, float]] = {}
    for p in profiles[:-10]:  # the last ten never report
        lat, lng = destination_point(*CENTRE, float(rng.uniform(0, 360)), float(rng.uniform(0, 8000)))
        positions[p.carrier_id] = (lat, lng, NOW - float(rng.uniform(0, 1200)))  # about half are stale
    for p in profiles:
        index.upsert_carrier(p)
    ids = list(positions)
    cols = np.array([positions[c] for c in ids])
    index.update_positions(ids, cols[:, 0], cols[:, 1], cols[:, 2])
    return index, profiles, positions


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("vehicle", [None, "van", "bike"])
def test_explanation_counts_every_carrier_once_and_its_eligible_count_is_the_oracles(
    seed: int, vehicle: str | None
) -> None:
    index, profiles, positions = _fleet(seed)
    oracle = BruteForceMatcher(profiles, positions, max_position_age_s=MAX_AGE_S)
    never_aged = BruteForceMatcher(profiles, positions, max_position_age_s=float("inf"))
    rng = np.random.default_rng(seed + 100)
    for _ in range(10):
        pickup = destination_point(*CENTRE, float(rng.uniform(0, 360)), float(rng.uniform(0, 3000)))
        dropoff = destination_point(*pickup, float(rng.uniform(0, 360)), float(rng.uniform(0, 5000)))
        query = MatchQuery(*pickup, *dropoff, weight_kg=float(rng.choice([10, 200])), volume_m3=1.0,
                           vehicle_type=vehicle, radius_m=float(rng.choice([1000, 3000])), limit=1000)  # fmt: skip
        eligible = oracle.match(query, now_s=NOW)
        answer = index.match(query, now_s=NOW)
        nearest = min((c.distance_m for c in answer), default=None)
        explanation = index.explain(query, now_s=NOW, nearest_answer_m=nearest)
        assert explanation.carriers == len(profiles)
        assert explanation.eligible == len(eligible)
        assert list(explanation.excluded) == list(REASONS)
        assert sum(explanation.excluded.values()) + explanation.eligible == len(profiles)
        assert explanation.excluded["no_position"] == 10 - sum(1 for p in profiles[-10:] if not p.active)
        # stale_position: exactly those a fresh fix would make eligible.
        fresh = {c.carrier_id for c in never_aged.match(query, now_s=NOW)}
        assert explanation.excluded["stale_position"] == len(fresh - {c.carrier_id for c in eligible})
        for stale in explanation.stale_nearer:
            assert stale.carrier_id in fresh and stale.position_age_s > MAX_AGE_S
            assert nearest is None or stale.distance_m < nearest
        inactive = sum(1 for p in profiles if not p.active)
        assert explanation.excluded["inactive"] == inactive
        out = 0
        for p in profiles:
            if p.active and p.carrier_id in positions:
                lat, lng, _ = positions[p.carrier_id]
                out += haversine_m(lat, lng, query.pickup_lat, query.pickup_lng) > query.radius_m
        assert explanation.excluded["out_of_radius"] == out
        covered = [
            p for p in profiles if p.coverage is not None and not p.coverage.covers(Point(dropoff[1], dropoff[0]))
        ]
        assert explanation.excluded["coverage"] <= len(covered)


def test_nearest_distance_any_age_sees_a_stale_carrier_the_answer_skips() -> None:
    index = CarrierIndex(max_position_age_s=MAX_AGE_S)
    for cid in ("stale", "fresh"):
        index.upsert_carrier(CarrierProfile(cid, "van", 100.0, 1.0, None))
    near = destination_point(*CENTRE, 0.0, 200.0)
    far = destination_point(*CENTRE, 0.0, 900.0)
    index.update_positions(["stale", "fresh"], [near[0], far[0]], [near[1], far[1]], [NOW - 3600, NOW - 10])
    query = MatchQuery(*CENTRE, *CENTRE, weight_kg=1.0, volume_m3=0.1)
    assert [c.carrier_id for c in index.match(query, now_s=NOW)] == ["fresh"]
    assert index.nearest_distance_any_age(query) == pytest.approx(200.0, abs=0.5)
    explanation = index.explain(query, now_s=NOW, nearest_answer_m=900.0)
    assert [s.carrier_id for s in explanation.stale_nearer] == ["stale"]


def test_assign_widening_serves_each_job_at_its_smallest_radius_and_respects_capacity() -> None:
    index = CarrierIndex(max_position_age_s=float("inf"))
    spots = {"a": 500.0, "b": 2500.0, "c": 6000.0}
    for cid, metres in spots.items():
        index.upsert_carrier(CarrierProfile(cid, "van", 100.0, 1.0, None))
        lat, lng = destination_point(*CENTRE, 90.0, metres)
        index.update_positions([cid], [lat], [lng], [NOW])
    job = MatchQuery(*CENTRE, *CENTRE, weight_kg=1.0, volume_m3=0.1, radius_m=1000.0)
    wide = [1000.0, 3000.0, 8000.0]
    result = assign_widening(index, [job, job, job, replace(job)], [wide, wide, [1000.0], wide], now_s=NOW)
    # Round 1 (1000 m): one job gets "a"; round 2 (3000 m): another gets "b"; round 3: another gets "c".
    assert sorted(result.assignments.values()) == ["a", "b", "c"]
    assert sorted(result.radius_m.values()) == [1000.0, 3000.0, 8000.0]
    assert len(result.unserved) == 1
    # The job without fallback is served only at 1000 m or not at all.
    assert result.assignments.get(2) in (None, "a")
    twice = assign_widening(index, [job, job], [[1000.0], [1000.0]], per_carrier_capacity=2, now_s=NOW)
    assert twice.assignments == {0: "a", 1: "a"} and twice.unserved == []
