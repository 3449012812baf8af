"""match_many_arrays: the columnar batch answers equal match() exactly, on one thread and on several."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from foundation.errors import InvalidInput
from matcher.index import PARALLEL_MIN_QUERIES, SLOT_LIMIT, CarrierIndex
from matcher.model import CarrierProfile, MatchQuery
from matcher.simulation import coverage_polygons

NOW = 2_000_000.0
CENTRE = (30.25, 120.15)
COVERS = coverage_polygons(0.05, 0.06)
VEHICLES = ("bike", "van", "truck")


def _index(parallel: bool | None, n: int = 1500, seed: int = 3) -> CarrierIndex:
    rng = np.random.default_rng(seed)
    index = CarrierIndex(max_position_age_s=600.0, parallel=parallel)
    ids = []
    for i in range(n):
        p = CarrierProfile(
            carrier_id=f"c{i}",
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
        index.upsert_carrier(p)
        ids.append(p.carrier_id)
    lats = CENTRE[0] + rng.uniform(-0.05, 0.05, n)
    lngs = CENTRE[1] + rng.uniform(-0.06, 0.06, n)
    index.update_positions(ids, lats, lngs, NOW - rng.uniform(0, 900, n))
    return index


def _queries(n: int, seed: int = 4) -> list[MatchQuery]:
    rng = np.random.default_rng(seed)
    return [
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
        for _ in range(n)
    ]


def _triples(index: CarrierIndex, q: MatchQuery) -> list[tuple[str, float, float]]:
    return [(c.carrier_id, c.distance_m, c.score) for c in index.match(q, now_s=NOW)]


@pytest.mark.parametrize("parallel", [None, False])
def test_arrays_equal_match_on_one_or_more_threads(parallel: bool | None) -> None:
    index = _index(parallel)
    queries = _queries(3 * PARALLEL_MIN_QUERIES)
    batch = index.match_many_arrays(queries, now_s=NOW)
    assert len(batch) == len(queries)
    assert batch.offsets[-1] == len(batch.rows) == len(batch.carrier_ids) == len(batch.distance_m)
    for i, q in enumerate(queries):
        b, e = int(batch.offsets[i]), int(batch.offsets[i + 1])
        got = list(zip(batch.carrier_ids[b:e], batch.distance_m[b:e].tolist(), batch.score[b:e].tolist(), strict=True))
        assert got == _triples(index, q)
        assert batch.ids(i) == [c for c, _, _ in got]
    assert [[(c.carrier_id, c.distance_m, c.score) for c in cands] for cands in batch.to_candidates()] == [
        _triples(index, q) for q in queries
    ]


def test_overflowing_slots_explain_and_scan_all_fall_back_exactly() -> None:
    index = _index(None)
    queries = _queries(PARALLEL_MIN_QUERIES + 10)
    big = [replace(q, limit=SLOT_LIMIT + 50, radius_m=5000.0, weight_kg=0.0, volume_m3=0.0) for q in queries[:5]]
    explained = [replace(q, explain=True) for q in queries[5:8]]
    mixed = big + explained + queries[8:]
    many = index.match_many(mixed, now_s=NOW)
    assert max(len(a) for a in many) > SLOT_LIMIT + 8  # the overflow path ran
    assert many == [index.match(q, now_s=NOW) for q in mixed]
    assert all(c.terms is not None for a in many[5:8] for c in a)
    wide = [replace(q, radius_m=200_000.0) for q in queries[:3]]  # past MAX_DISK_K: scan every carrier
    batch = index.match_many_arrays(wide, now_s=NOW)
    assert [batch.ids(i) for i in range(3)] == [[c.carrier_id for c in index.match(q, now_s=NOW)] for q in wide]


def test_empty_batch_and_invalid_query() -> None:
    index = _index(False, n=50)
    assert len(index.match_many_arrays([], now_s=NOW)) == 0
    assert index.match_many([], now_s=NOW) == []
    queries = _queries(5)
    with pytest.raises(InvalidInput, match="radius_m"):
        index.match_many_arrays([*queries, replace(queries[0], radius_m=float("nan"))], now_s=NOW)
    with pytest.raises(InvalidInput, match="rank_by"):
        index.match_many_arrays([replace(queries[0], rank_by="speed")], now_s=NOW)  # type: ignore[arg-type]


def test_carrier_ids_resolve_correctly_after_a_removal_reuses_the_row() -> None:
    index = _index(False, n=300)
    queries = _queries(20)
    batch = index.match_many_arrays(queries, now_s=NOW)
    expected = [[c.carrier_id for c in index.match(q, now_s=NOW)] for q in queries]
    victim = next(ids[0] for ids in expected if ids)
    profile = index.profile_of(victim)
    assert profile is not None
    assert index.remove_carrier(victim)
    index.upsert_carrier(replace(profile, carrier_id="newcomer"))  # takes the freed row
    assert [batch.ids(i) for i in range(len(queries))] == expected
