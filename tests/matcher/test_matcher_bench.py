"""`dispatch bench match` runs end to end on a tiny fleet and agrees with brute force on every query; its
like-for-like part agrees with the independent reference on every query, on a durable PostgreSQL."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from benchmarks.match import command

KEYS = {
    "carriers",
    "queries",
    "ours_qps",
    "ours_match_many_qps",
    "batch_equals_loop",
    "postgis_qps",
    "redis_qps",
    "vs_postgis",
    "vs_redis",
    "agree_with_bruteforce",
    "p50_us",
    "p99_us",
    "new_points_p50_us",
    "ingest_per_s",
    "cost_ratio_10k_to_1m",
    "batch_assignment_cost_m",
    "batch_greedy_cost_m",
    # issue 9: like for like, server-side Redis, mixed workload
    "vs_postgis_like_for_like",
    "vs_postgis_batched",
    "vs_redis_server_side",
    "mixed_p99_us",
    "agreement",
    "postgres_settings",
}


def test_bench_match_quick_run_prints_json_with_full_agreement() -> None:
    app = typer.Typer()
    app.command()(command)
    result = CliRunner().invoke(app, ["--carriers", "1500", "--queries", "60", "--quick", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload.keys() >= KEYS
    assert payload["agree_with_bruteforce"] == 1.0
    assert payload["batch_equals_loop"] == 1.0
    assert "match_many_arrays" in payload["ours_mode"]
    assert payload["postgis_same_answers"] == 1.0
    assert payload["postgis_qps"] > 0
    assert payload["redis_qps"] > 0
    assert payload["batch_assignment_unserved"] <= payload["batch_greedy_unserved"]
    for key in ("vs_postgis_like_for_like", "vs_postgis_batched", "vs_redis_server_side", "mixed_p99_us"):
        assert payload[key] > 0
    assert payload["postgres_settings"] == {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
    methods = {(a["method"], a["against"]) for a in payload["agreement"]}
    assert {("ours_single", "reference"), ("postgis_batched", "reference"), ("redis_lua", "reference")} <= methods
    assert all(a["same"] == a["queries"] == 60 for a in payload["agreement"])
    assert payload["mixed_updates_per_s"] > 0
