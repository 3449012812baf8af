"""The like-for-like baselines of ``dispatch bench match`` answer what the independent reference answers.

Real servers from the conftest fixtures (a PostGIS database, a flushed Redis), a small seeded fleet, the
best three carriers by score per query; the reference is an exhaustive scan sharing no code with them.
"""

from __future__ import annotations

from dataclasses import replace

import redis

from benchmarks import match_postgis
from benchmarks.match_redis import RedisBest
from benchmarks.match_reference import Pick, ReferenceMatcher, compare
from benchmarks.match_workload import MAX_AGE_S, NOW_S, build_workload
from matcher.bruteforce import BruteForceMatcher
from matcher.model import MatchQuery, ScoreWeights
from matcher.simulation import Fleet

CUTOFF = NOW_S - MAX_AGE_S


def _instance() -> tuple[Fleet, list[MatchQuery], list[list[Pick]]]:
    fleet, qs = build_workload(2_000, 120, seed=23, id_prefix="t")
    qs = [replace(q, rank_by="score", limit=3) for q in qs]
    reference = ReferenceMatcher(fleet, NOW_S, MAX_AGE_S)
    truth = [reference.best(q) for q in qs]
    # The instance exercises what can go wrong: empty answers, full answers, coverage-bound carriers chosen.
    covered = {p.carrier_id for p in fleet.profiles if p.coverage is not None}
    assert any(not t for t in truth)
    assert sum(len(t) == 3 for t in truth) >= 30
    assert any(p.carrier_id in covered for t in truth for p in t)
    return fleet, qs, truth


def test_reference_agrees_with_the_bruteforce_oracle_built_on_another_distance_formula() -> None:
    fleet, qs, truth = _instance()
    positions = {
        cid: (lat, lng, ts)
        for cid, lat, lng, ts in zip(
            fleet.ids, fleet.lats.tolist(), fleet.lngs.tolist(), fleet.ts_s.tolist(), strict=True
        )
    }
    oracle = BruteForceMatcher(fleet.profiles, positions, max_position_age_s=MAX_AGE_S)
    theirs = [[Pick(c.carrier_id, c.distance_m, c.score) for c in oracle.match(q, now_s=NOW_S)] for q in qs]
    agreement = compare("bruteforce", "reference", theirs, truth)
    assert (agreement.same, agreement.score_ok) == (len(qs), len(qs))


def test_batched_and_single_postgis_statements_return_the_reference_carriers(postgis_database_url: str) -> None:
    fleet, qs, truth = _instance()
    weights = ScoreWeights()
    conn = match_postgis.connect(postgis_database_url)
    try:
        match_postgis.load(conn, fleet, weights)
        batched = [
            a for b in range(0, len(qs), 50) for a in match_postgis.ask_batch(conn, qs[b : b + 50], CUTOFF, weights)
        ]
        single = [match_postgis.ask_one(conn, q, CUTOFF, weights) for q in qs]
        plan = "\n".join(
            str(r[0]) for r in conn.execute("EXPLAIN " + match_postgis.BATCH_SQL, _plan_params()).fetchall()
        )
    finally:
        conn.close()
    for name, picks in (("batched", batched), ("single", single)):
        agreement = compare(name, "reference", picks, truth)
        assert (agreement.same, agreement.score_ok) == (len(qs), len(qs)), agreement
    assert "lfl_carriers_geog" in plan  # the batched statement walks the GiST index per query


def _plan_params() -> dict[str, object]:
    return {
        "plng": [120.15], "plat": [30.27], "dlng": [120.16], "dlat": [30.28], "kg": [1.0], "m3": [0.01],
        "vehicle": [None], "w_dist": 0.001, "w_price": 0.1, "cutoff": CUTOFF, "radius": 3000.0, "top": 1,
    }  # fmt: skip


def test_redis_lua_script_filters_on_the_server_and_returns_the_reference_carriers(fresh_redis_url: str) -> None:
    fleet, qs, truth = _instance()
    client = redis.Redis.from_url(fresh_redis_url)
    try:
        best = RedisBest(client, fleet)
        single = [best.ask_one(q, CUTOFF) for q in qs]
        pipelined = best.ask_batch(qs, CUTOFF)
    finally:
        client.close()
    for name, picks in (("lua", single), ("lua pipelined", pipelined)):
        agreement = compare(name, "reference", picks, truth)
        assert (agreement.same, agreement.score_ok) == (len(qs), len(qs)), agreement
