"""CarrierIndex answers exactly what a full scan answers: every eligible carrier, none outside the radius."""

from __future__ import annotations

import threading

import h3
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Polygon

from foundation.errors import InvalidInput
from geo.distance import destination_point, haversine_m
from matcher.bruteforce import BruteForceMatcher
from matcher.index import CarrierIndex
from matcher.model import CarrierProfile, MatchQuery

NOW = 1_000_000.0
DROPOFF = (30.2, 120.2)
CONCAVE = Polygon([(120.1, 30.1), (120.3, 30.1), (120.3, 30.3), (120.2, 30.15), (120.1, 30.3)])
OUTER = Polygon([(120.15, 30.15), (120.25, 30.15), (120.25, 30.25), (120.15, 30.25)])
WITH_HOLE = Polygon(OUTER.exterior.coords, [[(120.19, 30.19), (120.21, 30.19), (120.21, 30.21), (120.19, 30.21)]])
MULTI = MultiPolygon([Polygon([(120.0, 30.0), (120.05, 30.0), (120.05, 30.05), (120.0, 30.05)]), WITH_HOLE])
COVERAGES = [None, None, CONCAVE, WITH_HOLE, MULTI]


def _profile(cid: str, i: int, **overrides: object) -> CarrierProfile:
    fields: dict[str, object] = {
        "carrier_id": cid,
        "vehicle_type": "van" if i % 3 else "bike",
        "capacity_kg": float(50 + (i * 37) % 400),
        "capacity_m3": float(1 + i % 4),
        "coverage": COVERAGES[i % len(COVERAGES)],
        "active": i % 11 != 5,
        "rate_per_km": 1.0 + (i % 7) / 10,
        "base_fare": float(i % 5),
        "on_time_rate": 0.8 + (i % 5) / 25,
        "rating": 3.5 + (i % 3) / 2,
        "current_load": i % 4,
    }
    fields.update(overrides)
    return CarrierProfile(**fields)  # type: ignore[arg-type]


def _setup(centre: tuple[float, float], radius_m: float, seed: int, n_random: int = 60):
    """Carriers 1 m inside and 1 m outside the radius in every direction, plus random ones."""
    rng = np.random.default_rng(seed)
    index = CarrierIndex(max_position_age_s=600.0)
    profiles = []
    positions: dict[str, tuple[float, float, float]] = {}
    i = 0
    for bearing in np.arange(0.0, 360.0, 11.25):
        for offset in (-1.0, 1.0, -0.01):
            lat, lng = destination_point(centre[0], centre[1], float(bearing), max(0.0, radius_m + offset))
            cid = f"ring-{i}"
            profiles.append(_profile(cid, i))
            positions[cid] = (lat, lng, NOW - float(rng.uniform(0, 900)))
            i += 1
    for _ in range(n_random):
        lat, lng = destination_point(
            centre[0], centre[1], float(rng.uniform(0, 360)), float(rng.uniform(0, 2 * radius_m + 10))
        )
        cid = f"rand-{i}"
        profiles.append(_profile(cid, i))
        positions[cid] = (lat, lng, NOW - float(rng.uniform(0, 900)))
        i += 1
    for p in profiles:
        index.upsert_carrier(p)
    ids = list(positions)
    pos = np.array([positions[c] for c in ids])
    assert index.update_positions(ids, pos[:, 0], pos[:, 1], pos[:, 2]) == len(ids)
    return index, BruteForceMatcher(profiles, positions, max_position_age_s=600.0)


def _query(centre: tuple[float, float], radius_m: float = 3000.0, **kw: object) -> MatchQuery:
    args: dict[str, object] = {
        "pickup_lat": centre[0],
        "pickup_lng": centre[1],
        "dropoff_lat": DROPOFF[0],
        "dropoff_lng": DROPOFF[1],
        "weight_kg": 10.0,
        "volume_m3": 1.0,
        "radius_m": radius_m,
        "limit": 10_000,
    }
    args.update(kw)
    return MatchQuery(**args)  # type: ignore[arg-type]


def _assert_same(index: CarrierIndex, oracle: BruteForceMatcher, query: MatchQuery) -> None:
    ours = index.match(query, now_s=NOW)
    truth = oracle.match(query, now_s=NOW)
    assert [c.carrier_id for c in ours] == [c.carrier_id for c in truth]
    assert [c.distance_m for c in ours] == [c.distance_m for c in truth]
    assert all(c.distance_m <= query.radius_m for c in ours)


def _pentagon_centre(i: int) -> tuple[float, float]:
    return h3.cell_to_latlng(sorted(h3.get_pentagons(8))[i % 12])


centres = st.one_of(
    st.tuples(st.floats(min_value=-85.0, max_value=85.0), st.floats(min_value=-180.0, max_value=180.0)),
    st.sampled_from([(30.27, 120.15), (85.0, 10.0), (-85.0, -170.0), (0.0, 179.99995), (60.0, -179.9999)]),
    st.integers(min_value=0, max_value=11).map(_pentagon_centre),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    centres,
    st.floats(min_value=50.0, max_value=15_000.0),
    st.integers(min_value=0, max_value=2**16),
    st.sampled_from([None, "van", "bike", "truck"]),
    st.sampled_from(["score", "distance"]),
    st.sampled_from([DROPOFF, (30.2, 120.02), (30.27, 120.2), (30.0, 121.0)]),
)
def test_index_agrees_with_brute_force(
    centre: tuple[float, float], radius_m: float, seed: int, vehicle: str | None, rank_by: str, dropoff: tuple
) -> None:
    index, oracle = _setup(centre, radius_m, seed)
    query = _query(
        centre, radius_m, vehicle_type=vehicle, rank_by=rank_by, dropoff_lat=dropoff[0], dropoff_lng=dropoff[1]
    )
    other = _query(centre, radius_m, weight_kg=0.0, volume_m3=0.0, limit=3, rank_by=rank_by)
    _assert_same(index, oracle, query)
    _assert_same(index, oracle, other)
    # The vectorised many-query path answers exactly what the single-query path answers.
    far = _query((centre[0] * 0.5, centre[1] * 0.5), radius_m)
    assert index.match_many([query, other, far], now_s=NOW) == [index.match(q, now_s=NOW) for q in (query, other, far)]


def test_carrier_just_inside_radius_is_matched_and_just_outside_is_not() -> None:
    centre = (30.27, 120.15)
    index = CarrierIndex()
    for cid, dist in (("inside", 2999.0), ("outside", 3001.0), ("edge", 3000.0)):
        index.upsert_carrier(_profile(cid, 1, coverage=None, active=True, capacity_kg=500.0))
        lat, lng = destination_point(*centre, 45.0, dist)
        index.update_positions([cid], [lat], [lng], [NOW])
    found = {c.carrier_id for c in index.match(_query(centre, 3000.0), now_s=NOW)}
    assert "inside" in found
    edge = index.position_of("edge")
    assert edge is not None
    assert ("edge" in found) == (haversine_m(*centre, edge[0], edge[1]) <= 3000.0)
    assert "outside" not in found


def test_moving_carriers_are_rebucketed_small_and_large_batches() -> None:
    rng = np.random.default_rng(3)
    centre = (30.27, 120.15)
    index = CarrierIndex(max_position_age_s=1e9)
    profiles = [_profile(f"m{i}", i, coverage=None, active=True) for i in range(3000)]
    for p in profiles:
        index.upsert_carrier(p)
    ids = [p.carrier_id for p in profiles]
    positions: dict[str, tuple[float, float, float]] = {}
    for step, batch in enumerate([3000, 10, 200, 3000, 1]):
        chosen = rng.choice(len(ids), size=batch, replace=False)
        lat = centre[0] + rng.uniform(-0.1, 0.1, batch)
        lng = centre[1] + rng.uniform(-0.1, 0.1, batch)
        sel = [ids[j] for j in chosen]
        index.update_positions(sel, lat, lng, np.full(batch, float(step + 1)))
        positions.update({c: (float(a), float(b), float(step + 1)) for c, a, b in zip(sel, lat, lng, strict=True)})
        oracle = BruteForceMatcher(profiles, positions, max_position_age_s=1e9)
        for _ in range(5):
            q = _query((centre[0] + rng.uniform(-0.05, 0.05), centre[1] + rng.uniform(-0.05, 0.05)), 4000.0)
            assert [c.carrier_id for c in index.match(q, now_s=10)] == [c.carrier_id for c in oracle.match(q, 10)]


def test_stale_position_is_not_eligible() -> None:
    index = CarrierIndex(max_position_age_s=60.0)
    index.upsert_carrier(_profile("old", 1, coverage=None, active=True))
    index.update_positions(["old"], [30.27], [120.15], [NOW - 61.0])
    assert index.match(_query((30.27, 120.15), 1000.0), now_s=NOW) == []
    index.update_positions(["old"], [30.27], [120.15], [NOW - 59.0])
    assert [c.carrier_id for c in index.match(_query((30.27, 120.15), 1000.0), now_s=NOW)] == ["old"]


def test_out_of_order_fix_is_ignored_and_newest_in_batch_wins() -> None:
    index = CarrierIndex()
    index.upsert_carrier(_profile("c", 1, coverage=None))
    assert index.update_positions(["c"], [30.0], [120.0], [100.0]) == 1
    assert index.update_positions(["c"], [31.0], [121.0], [50.0]) == 0
    assert index.update_positions(["c"], [31.0], [121.0], [100.0]) == 0
    assert index.position_of("c") == (30.0, 120.0, 100.0)
    assert index.update_positions(["c", "c", "c"], [32.0, 33.0, 34.0], [122.0, 123.0, 124.0], [300, 400, 200]) == 1
    assert index.position_of("c") == (33.0, 123.0, 400.0)


def test_unknown_carriers_and_invalid_coordinates_are_not_accepted() -> None:
    index = CarrierIndex()
    index.upsert_carrier(_profile("c", 1, coverage=None))
    assert index.update_positions(["nobody", "c", "c"], [30.0, 91.0, np.nan], [120.0, 120.0, 120.0], [1, 2, 3]) == 0
    assert index.position_of("c") is None
    with pytest.raises(InvalidInput):
        index.update_positions(["c"], [30.0, 31.0], [120.0], [1.0])


def test_inactive_and_removed_carriers_are_not_matched() -> None:
    index = CarrierIndex()
    index.upsert_carrier(_profile("a", 1, coverage=None, active=False))
    index.update_positions(["a"], [30.27], [120.15], [NOW])
    q = _query((30.27, 120.15), 500.0)
    assert index.match(q, now_s=NOW) == []
    index.upsert_carrier(_profile("a", 1, coverage=None, active=True))
    assert [c.carrier_id for c in index.match(q, now_s=NOW)] == ["a"]
    assert index.remove_carrier("a")
    assert index.match(q, now_s=NOW) == []
    assert len(index) == 0
    assert not index.remove_carrier("a")


def test_capacity_vehicle_and_coverage_filters() -> None:
    index = CarrierIndex()
    index.upsert_carrier(_profile("small", 1, capacity_kg=10.0, coverage=None, active=True))
    index.upsert_carrier(_profile("bike", 0, capacity_kg=500.0, coverage=None, active=True))
    index.upsert_carrier(_profile("far-fence", 2, capacity_kg=500.0, coverage=MULTI.geoms[0], active=True))
    index.upsert_carrier(_profile("ok", 2, capacity_kg=500.0, coverage=CONCAVE, active=True))
    ids = ["small", "bike", "far-fence", "ok"]
    index.update_positions(ids, [30.27] * 4, [120.15] * 4, [NOW] * 4)
    inside = _query((30.27, 120.15), 500.0, vehicle_type="van", weight_kg=50.0, dropoff_lat=30.12, dropoff_lng=120.2)
    assert [c.carrier_id for c in index.match(inside, now_s=NOW)] == ["ok"]
    # The concave notch of the fence is outside it.
    notch = _query((30.27, 120.15), 500.0, vehicle_type="van", weight_kg=50.0, dropoff_lat=30.25, dropoff_lng=120.2)
    assert index.match(notch, now_s=NOW) == []
    # A dropoff exactly on the fence boundary counts as inside.
    on_edge = _query((30.27, 120.15), 500.0, vehicle_type="van", weight_kg=50.0, dropoff_lat=30.1, dropoff_lng=120.2)
    assert [c.carrier_id for c in index.match(on_edge, now_s=NOW)] == ["ok"]


def test_explain_terms_add_up_to_the_score_and_ranking_orders() -> None:
    index, _ = _setup((30.27, 120.15), 3000.0, seed=1)
    q = _query((30.27, 120.15), 3000.0, weight_kg=0.0, volume_m3=0.0, explain=True, limit=50)
    cands = index.match(q, now_s=NOW)
    assert cands
    for c in cands:
        assert c.terms is not None
        assert sum(c.terms.values()) == pytest.approx(c.score)
    assert [c.score for c in cands] == sorted(c.score for c in cands)
    by_distance = index.match(_query((30.27, 120.15), 3000.0, rank_by="distance", limit=50), now_s=NOW)
    assert [c.distance_m for c in by_distance] == sorted(c.distance_m for c in by_distance)


@pytest.mark.parametrize(
    "bad",
    [
        {"pickup_lat": 91.0},
        {"dropoff_lng": 181.0},
        {"radius_m": -1.0},
        {"weight_kg": float("nan")},
        {"limit": 0},
        {"pickup_lat": float("nan")},
        {"dropoff_lng": float("-inf")},
        {"volume_m3": float("inf")},
        {"radius_m": 1_000_001.0},
        {"rank_by": "eta"},
    ],
)
def test_invalid_queries_are_refused(bad: dict) -> None:
    with pytest.raises(InvalidInput):
        CarrierIndex().match(_query((30.27, 120.15), **{"radius_m": 3000.0, **bad}), now_s=NOW)


def test_one_writer_many_readers() -> None:
    index = CarrierIndex(max_position_age_s=1e9)
    ids = [f"t{i}" for i in range(500)]
    for i, cid in enumerate(ids):
        index.upsert_carrier(_profile(cid, i, coverage=None, active=True))
    rng = np.random.default_rng(0)
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        step = 1.0
        while not stop.is_set():
            index.update_positions(
                ids, 30.27 + rng.uniform(-0.02, 0.02, 500), 120.15 + rng.uniform(-0.02, 0.02, 500), [step] * 500
            )
            step += 1.0

    def reader() -> None:
        try:
            for _ in range(200):
                for c in index.match(_query((30.27, 120.15), 1500.0, limit=20), now_s=10.0):
                    assert c.distance_m <= 1500.0
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    w = threading.Thread(target=writer)
    readers = [threading.Thread(target=reader) for _ in range(3)]
    w.start()
    for r in readers:
        r.start()
    for r in readers:
        r.join()
    stop.set()
    w.join()
    assert not errors


def test_huge_radius_scans_everyone_and_agrees_with_brute_force() -> None:
    index, oracle = _setup((30.27, 120.15), 400_000.0, seed=5, n_random=40)
    for rank_by in ("distance", "score"):
        q = _query((30.27, 120.15), 400_000.0, rank_by=rank_by)
        _assert_same(index, oracle, q)
        assert index.match_many([q], now_s=NOW) == [index.match(q, now_s=NOW)]


def test_no_age_limit_still_excludes_inactive_carriers() -> None:
    index = CarrierIndex(max_position_age_s=float("inf"))
    index.upsert_carrier(_profile("off", 1, coverage=None, active=False))
    index.upsert_carrier(_profile("on", 2, coverage=None, active=True))
    index.update_positions(["off", "on"], [30.27, 30.27], [120.15, 120.15], [1.0, 1.0])
    q = _query((30.27, 120.15), 500.0)
    assert [c.carrier_id for c in index.match(q, now_s=NOW)] == ["on"]
    assert [c.carrier_id for c in index.match_many([q], now_s=NOW)[0]] == ["on"]


def test_cached_coverage_verdicts_follow_new_fences_and_boundary_cells() -> None:
    """The per-cell cache of coverage verdicts: a fence added after a query is seen by the next one, and a
    dropoff in a boundary cell is still tested against the polygon each time (same cell, other answer)."""
    index = CarrierIndex()
    index.upsert_carrier(_profile("ok", 2, capacity_kg=500.0, coverage=CONCAVE, active=True))
    index.update_positions(["ok"], [30.27], [120.15], [NOW])
    q = _query((30.27, 120.15), 500.0, vehicle_type="van", weight_kg=50.0, dropoff_lat=30.25, dropoff_lng=120.2)
    assert index.match(q, now_s=NOW) == []
    assert index.match(q, now_s=NOW) == []  # cached
    index.upsert_carrier(_profile("square", 2, capacity_kg=500.0, coverage=OUTER, active=True))
    index.update_positions(["square"], [30.27], [120.15], [NOW])
    assert [c.carrier_id for c in index.match(q, now_s=NOW)] == ["square"]
    # Points on both sides of the notch's edge, repeatedly: the verdict comes from the polygon every time.
    for _ in range(2):
        for lng, want in ((120.2, []), (120.1 + 0.001, ["ok"])):
            edge = _query(
                (30.27, 120.15), 500.0, vehicle_type="van", weight_kg=50.0, dropoff_lat=30.28, dropoff_lng=lng
            )
            got = [c.carrier_id for c in index.match(edge, now_s=NOW) if c.carrier_id == "ok"]
            assert got == want
