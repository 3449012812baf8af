"""MatcherParams: the defaults are the tuned constants, every value keeps the oracle's answers, nonsense is
refused, and settings reach the index."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sqlalchemy.orm import sessionmaker

from api.settings import Settings
from matcher.index import CarrierIndex
from matcher.params import DEFAULT_MATCHER_PARAMS, MatcherParams
from orders_core.dispatching import build_carrier_matching
from tests.matcher.test_matcher_kernels import CENTRE, NOW, _check, _placed_fleet, _profile, _queries

# The module constants these knobs replaced, as they were tuned.
TUNED = {
    "resolution": 7,
    "max_disk_k": 40,
    "vector_cover_groups": 64,
    "parallel_min_queries": 64,
    "max_threads": 2,
    "retry_every": 32,
    "chunks_per_thread": 4,
    "slot_limit": 64,
    "near_tie_slots": 8,
    "span_pool_max": 1 << 22,
    "dropoffs_max": 1 << 16,
    "pickups_max": 1 << 16,
    "ok_cache_max": 1 << 16,
    "delta_max": 4096,
    "scratch_slots": 4096,
}

TINY = MatcherParams(
    max_disk_k=1,
    vector_cover_groups=0,
    parallel_min_queries=1,
    chunks_per_thread=1,
    slot_limit=1,
    near_tie_slots=0,
    span_pool_max=30,
    dropoffs_max=1,
    pickups_max=1,
    ok_cache_max=1,
    delta_max=3,
    scratch_slots=1,
)


def test_defaults_are_the_tuned_constants() -> None:
    assert dataclasses.asdict(MatcherParams()) == TUNED
    index = CarrierIndex()
    assert index.params == DEFAULT_MATCHER_PARAMS
    assert index.resolution == 7


def test_resolution_argument_overrides_the_params() -> None:
    index = CarrierIndex(resolution=8, params=MatcherParams(delta_max=5))
    assert index.resolution == index.params.resolution == 8
    assert index.params.delta_max == 5


@pytest.mark.parametrize(
    "field, value",
    [
        ("resolution", 16),
        ("resolution", -1),
        ("max_threads", 0),
        ("slot_limit", 0),
        ("delta_max", -1),
        ("span_pool_max", 0),
        ("retry_every", 1.5),
        ("pickups_max", True),
    ],
)
def test_nonsense_is_refused_with_the_field_named(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        MatcherParams(**{field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [3, 4])
def test_tiny_params_still_answer_like_the_oracle(seed: int) -> None:
    """Tiny slots, delta, pools and caches take every fallback path (answer alone, rebuild, start over,
    scan all past one ring): slower, never different."""
    rng = np.random.default_rng(seed)
    index, profiles = _placed_fleet(rng, 400, TINY)
    queries = _queries(rng, 30)
    _check(index, profiles, queries)
    ids = list(profiles)
    moved = ids[:20]
    index.update_positions(
        moved,
        CENTRE[0] + rng.uniform(-0.05, 0.05, 20),
        CENTRE[1] + rng.uniform(-0.06, 0.06, 20),
        np.full(20, NOW),
    )
    assert index._csr is None  # more than delta_max = 3 moved: the buckets are rebuilt by the next query
    _check(index, profiles, queries)
    fresh = _profile(rng, "late")
    profiles[fresh.carrier_id] = fresh
    index.upsert_carrier(fresh)
    index.update_positions([fresh.carrier_id], [CENTRE[0]], [CENTRE[1]], [NOW])
    _check(index, profiles, queries)


def test_delta_max_decides_when_the_buckets_are_rebuilt() -> None:
    rng = np.random.default_rng(8)
    for params, rebuilt in ((MatcherParams(delta_max=2), True), (DEFAULT_MATCHER_PARAMS, False)):
        index, profiles = _placed_fleet(np.random.default_rng(8), 200, params)
        _check(index, profiles, _queries(rng, 5))  # builds the buckets
        ids = list(profiles)[:10]
        index.update_positions(ids, np.full(10, CENTRE[0] + 0.2), np.full(10, CENTRE[1] + 0.2), np.full(10, NOW))
        assert (index._csr is None) == rebuilt


def test_settings_reach_the_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPATCH_MATCHER__MAX_DISK_K", "12")
    monkeypatch.setenv("DISPATCH_MATCHER__DELTA_MAX", "100")
    settings = Settings()
    assert settings.matcher == MatcherParams(max_disk_k=12, delta_max=100)
    matching = build_carrier_matching(sessionmaker(), None, params=settings.matcher)
    assert matching.index.params is settings.matcher


def test_settings_accept_json_and_refuse_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPATCH_MATCHER", '{"slot_limit": 8, "max_threads": 1}')
    assert Settings().matcher == MatcherParams(slot_limit=8, max_threads=1)
    monkeypatch.setenv("DISPATCH_MATCHER", '{"max_threads": 0}')
    with pytest.raises(ValueError, match="max_threads"):
        Settings()
