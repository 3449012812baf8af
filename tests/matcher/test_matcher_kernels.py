"""The compiled kernels and the CSR + delta layout stay exact through every kind of update."""

from __future__ import annotations

import numpy as np
import pytest

from matcher import kernels
from matcher.bruteforce import BruteForceMatcher
from matcher.index import DELTA_MAX, CarrierIndex
from matcher.model import CarrierProfile, MatchQuery
from matcher.params import DEFAULT_MATCHER_PARAMS, MatcherParams
from matcher.simulation import coverage_polygons

NOW = 2_000_000.0
CENTRE = (30.25, 120.15)
COVERS = coverage_polygons(0.05, 0.06)
VEHICLES = ("bike", "van", "truck")


def _profile(rng: np.random.Generator, cid: str) -> CarrierProfile:
    return CarrierProfile(
        carrier_id=cid,
        vehicle_type=VEHICLES[int(rng.integers(0, 3))],
        capacity_kg=float(rng.choice([20.0, 100.0, 800.0])),
        capacity_m3=float(rng.choice([0.5, 2.0, 10.0])),
        coverage=COVERS[int(rng.integers(0, len(COVERS)))] if rng.random() < 0.3 else None,
        active=bool(rng.random() < 0.9),
        rate_per_km=float(rng.uniform(0.8, 1.5)),
        base_fare=float(rng.integers(0, 4)),
        on_time_rate=float(rng.uniform(0.8, 1.0)),
        rating=float(rng.uniform(3.5, 5.0)),
        current_load=int(rng.integers(0, 3)),
    )


def _queries(rng: np.random.Generator, n: int) -> list[MatchQuery]:
    out = []
    for _ in range(n):
        out.append(
            MatchQuery(
                pickup_lat=CENTRE[0] + float(rng.uniform(-0.04, 0.04)),
                pickup_lng=CENTRE[1] + float(rng.uniform(-0.05, 0.05)),
                dropoff_lat=CENTRE[0] + float(rng.uniform(-0.05, 0.05)),
                dropoff_lng=CENTRE[1] + float(rng.uniform(-0.06, 0.06)),
                weight_kg=float(rng.choice([0.0, 10.0, 50.0])),
                volume_m3=float(rng.choice([0.0, 0.3, 1.0])),
                vehicle_type=None if rng.random() < 0.4 else VEHICLES[int(rng.integers(0, 3))],
                radius_m=float(rng.choice([500.0, 1500.0, 3000.0])),
                limit=int(rng.integers(1, 8)),
                rank_by="distance" if rng.random() < 0.5 else "score",
            )
        )
    return out


def _check(index: CarrierIndex, profiles: dict[str, CarrierProfile], queries: list[MatchQuery]) -> None:
    positions = {}
    for cid in profiles:
        pos = index.position_of(cid)
        if pos is not None:
            positions[cid] = pos
    oracle = BruteForceMatcher(list(profiles.values()), positions, max_position_age_s=index.max_position_age_s)
    many = index.match_many(queries, now_s=NOW)
    for q, batch in zip(queries, many, strict=True):
        truth = oracle.match(q, now_s=NOW)
        mine = index.match(q, now_s=NOW)
        expected = [(c.carrier_id, c.distance_m, c.score) for c in truth]
        assert [(c.carrier_id, c.distance_m, c.score) for c in mine] == expected
        assert [(c.carrier_id, c.distance_m, c.score) for c in batch] == expected


def _placed_fleet(
    rng: np.random.Generator, n: int, params: MatcherParams = DEFAULT_MATCHER_PARAMS
) -> tuple[CarrierIndex, dict[str, CarrierProfile]]:
    """An index of ``n`` random carriers around CENTRE, each with a fix of the last 15 minutes."""
    index = CarrierIndex(max_position_age_s=600.0, params=params)
    profiles = {f"c{i}": _profile(rng, f"c{i}") for i in range(n)}
    for p in profiles.values():
        index.upsert_carrier(p)
    lats = CENTRE[0] + rng.uniform(-0.05, 0.05, n)
    lngs = CENTRE[1] + rng.uniform(-0.06, 0.06, n)
    index.update_positions(list(profiles), lats, lngs, NOW - rng.uniform(0, 900, n))
    return index, profiles


def test_compiled_haversine_term_matches_numpy_here() -> None:
    assert kernels.exact_a()


@pytest.mark.parametrize("finish_in_kernel", [True, False])
def test_both_ways_of_finishing_a_single_query_agree_with_the_oracle(finish_in_kernel: bool) -> None:
    """Distances and scores come out of the kernel where its asin equals NumPy's arcsin (exact_asin), from
    NumPy in Python otherwise; both must give the oracle's bits."""
    rng = np.random.default_rng(11)
    index, profiles = _placed_fleet(rng, 800)
    index.warm_up()  # kernels and their exactness checks load on the first query; this test overrides one
    assert index._finish == (kernels.exact_a() and kernels.exact_asin())
    index._finish = finish_in_kernel and index._finish
    _check(index, profiles, _queries(rng, 60))


@pytest.mark.parametrize("pool_max", [60, 800])
def test_span_pool_starting_over_mid_batch_stays_exact(pool_max: int) -> None:
    """The pooled bucket runs start over when full; a batch that fills it (60 rows: less than one batch
    needs, so it is answered query by query; 800: the second batch starts it over midway and is redone)
    and the single queries' remembered pickups must never read runs of an earlier fill."""
    rng = np.random.default_rng(21)
    index, profiles = _placed_fleet(rng, 500, MatcherParams(span_pool_max=pool_max))
    _check(index, profiles, _queries(rng, 40))
    generation = index._span_gen
    _check(index, profiles, _queries(rng, 40))
    assert index._span_gen > generation  # the pool did start over


@pytest.mark.parametrize("seed", [1, 2])
def test_exact_through_moves_removals_reuse_and_profile_changes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    index = CarrierIndex(max_position_age_s=600.0, initial_capacity=16)
    profiles: dict[str, CarrierProfile] = {}
    n = 600
    for i in range(n):
        p = _profile(rng, f"c{i}")
        profiles[p.carrier_id] = p
        index.upsert_carrier(p)
    ids = list(profiles)
    lats = CENTRE[0] + rng.uniform(-0.05, 0.05, n)
    lngs = CENTRE[1] + rng.uniform(-0.06, 0.06, n)
    index.update_positions(ids, lats, lngs, NOW - rng.uniform(0, 900, n))
    queries = _queries(rng, 40)
    _check(index, profiles, queries)  # builds the CSR
    ts = NOW
    for step in range(6):
        ts += 1.0
        # Small moves (most stay in their cell: write-through), some jumps (delta list).
        pick = rng.choice(n, 80, replace=False)
        jump = rng.random(80) < 0.3
        lats[pick] += np.where(jump, rng.uniform(-0.02, 0.02, 80), rng.normal(0, 0.0002, 80))
        lngs[pick] += np.where(jump, rng.uniform(-0.02, 0.02, 80), rng.normal(0, 0.0002, 80))
        index.update_positions([ids[i] for i in pick], lats[pick], lngs[pick], np.full(80, ts))
        # Profile changes: vehicle, capacity, activity, coverage.
        for i in rng.choice(n, 10, replace=False).tolist():
            p = _profile(rng, ids[i])
            profiles[p.carrier_id] = p
            index.upsert_carrier(p)
        # Removal, then a new carrier reusing the freed row (its position arrives later).
        gone = ids[int(rng.integers(0, n))]
        if gone in profiles:
            index.remove_carrier(gone)
            del profiles[gone]
            fresh = _profile(rng, f"new-{step}")
            profiles[fresh.carrier_id] = fresh
            index.upsert_carrier(fresh)
            _check(index, profiles, queries)
            index.update_positions([fresh.carrier_id], [CENTRE[0]], [CENTRE[1]], [ts])
        _check(index, profiles, queries)
    assert 0 < index._n_delta <= DELTA_MAX or index._csr is None


def test_delta_overflow_rebuilds_and_stays_exact() -> None:
    rng = np.random.default_rng(5)
    index = CarrierIndex(max_position_age_s=600.0)
    n = DELTA_MAX + 500
    profiles = {f"c{i}": _profile(rng, f"c{i}") for i in range(n)}
    for p in profiles.values():
        index.upsert_carrier(p)
    ids = list(profiles)
    index.update_positions(
        ids, CENTRE[0] + rng.uniform(-0.05, 0.05, n), CENTRE[1] + rng.uniform(-0.06, 0.06, n), np.full(n, NOW - 5)
    )
    queries = _queries(rng, 30)
    _check(index, profiles, queries)
    index.update_positions(
        ids, CENTRE[0] + rng.uniform(-0.05, 0.05, n), CENTRE[1] + rng.uniform(-0.06, 0.06, n), np.full(n, NOW - 1)
    )
    assert index._csr is None  # too many moved: rebuilt lazily by the next query
    _check(index, profiles, queries)


def test_ties_at_equal_distance_break_by_carrier_id() -> None:
    index = CarrierIndex(max_position_age_s=600.0)
    profiles = {}
    for cid in ("z", "b", "m", "a", "q", "c"):
        p = CarrierProfile(cid, "van", 100.0, 1.0, None)
        profiles[cid] = p
        index.upsert_carrier(p)
    ids = list(profiles)
    index.update_positions(ids, [30.25] * 6, [120.151] * 6, [NOW] * 6)
    q = MatchQuery(30.25, 120.15, 30.26, 120.16, 1.0, 0.1, limit=4, rank_by="distance")
    assert [c.carrier_id for c in index.match(q, now_s=NOW)] == ["a", "b", "c", "m"]
    _check(index, profiles, [q, MatchQuery(30.25, 120.15, 30.26, 120.16, 1.0, 0.1, limit=3)])
