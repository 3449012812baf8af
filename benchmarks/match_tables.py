"""The tables and lines ``dispatch bench match`` prints, from its result dictionary (the JSON line's content).

Like-for-like first (the headline), then the agreement counts, the mixed workload, and the issue-3
comparison labelled as not like for like.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from benchmarks.report import figures_table

BASELINE_ROWS = (
    ("postgis", "PostGIS ST_DWithin + GiST, one statement per query"),
    ("redis", "Redis GEOSEARCH + client-side filtering (~140 hashes per query into Python)"),
)


def settings_line(result: dict[str, Any]) -> str:
    """The conditions of the run: PostgreSQL's durability as read back with SHOW, and the machine's load."""
    pg = result.get("postgres_settings")
    shown = ", ".join(f"{k}={v}" for k, v in pg.items()) if pg else "no PostgreSQL (--no-baselines)"
    return (
        f"PostgreSQL (SHOW): {shown}; load average at start {result['loadavg_start']}, at end {result['loadavg_end']}"
    )


def like_for_like_table(result: dict[str, Any]) -> Table:
    """The headline: one call per query on every side, then one batch per call on every side."""
    title = (
        f"Like for like: best {result['lfl_top']} by score, {result['carriers']:,} carriers, "
        f"{result['queries']:,} queries (radius 3 km)"
    )
    table = figures_table(title, ("method", "queries/s", "p50 µs", "p99 µs", "ours is"), left=1)
    r = result

    def row(name: str, key: str, vs: str = "") -> None:
        if r.get(f"{key}_qps") is None:
            return
        faster = f"{r[vs]}x faster" if r.get(vs) is not None else ""
        table.add_row(
            name, f"{r[f'{key}_qps']:,}", str(r.get(f"{key}_p50_us", "")), str(r.get(f"{key}_p99_us", "")), faster
        )

    row("ours: one match() per query, in process", "ours_single")
    row("PostGIS: one prepared statement per query (round trip)", "postgis_single", "vs_postgis_like_for_like")
    row("Redis: one Lua EVALSHA per query, filtering on the server", "redis_lua", "vs_redis_server_side")
    row(f"ours: match_many_arrays, batches of {r['lfl_batch']}", "ours_batch")
    row(
        f"PostGIS: one unnest + LATERAL statement per batch of {r['lfl_batch']}",
        "postgis_batched",
        "vs_postgis_batched",
    )
    row(f"Redis: pipeline of {r['lfl_batch']} EVALSHA", "redis_lua_pipelined", "vs_redis_server_side_pipelined")
    return table


def agreement_table(result: dict[str, Any]) -> Table:
    """Every method's answers against the independent reference, and the baselines' against ours."""
    table = figures_table(
        "Answers compared query by query (ties resolved by carrier id)", ("method", "against", "agreement"), left=2
    )
    for a in result["agreement"]:
        table.add_row(a["method"], a["against"], a["line"])
    return table


def mixed_line(result: dict[str, Any]) -> str:
    """Single-query latency alone and while positions stream in."""
    r = result
    return (
        f"Mixed workload: one match() per query with {r['mixed_updates_per_s']:,} fixes/s written "
        f"(target {r['mixed_update_rate_target']:,}; feed applied {r['mixed_feed_fixes_per_s']:,}/s): "
        f"p50 / p99 {r['mixed_p50_us']} / {r['mixed_p99_us']} µs, {r['mixed_qps']:,} q/s; "
        f"alone: {r['mixed_idle_p50_us']} / {r['mixed_idle_p99_us']} µs, {r['mixed_idle_qps']:,} q/s"
    )


def comparison_table(result: dict[str, Any]) -> Table:
    """Queries/s of each system and how many times faster ours (batched) is (the issue-3 comparison)."""
    title = (
        f"Issue-3 comparison, top 5 by distance (NOT like for like: ours batched vs their one query per "
        f"call): {result['carriers']:,} carriers, {result['queries']:,} queries"
    )
    table = figures_table(title, ("system", "queries/s", "p50 µs", "ours is"), left=1)
    table.add_row("H3 CarrierIndex (match_many_arrays batches, columnar)", f"{result['ours_qps']:,}", "", "")
    table.add_row("H3 CarrierIndex (match_many batches, Candidate lists)", f"{result['ours_match_many_qps']:,}", "", "")
    table.add_row(
        "H3 CarrierIndex (loop, one query per call)", f"{result['ours_loop_qps']:,}", f"{result['p50_us']}", ""
    )
    for key, name in BASELINE_ROWS:
        if result[f"{key}_qps"]:
            qps, p50_us, faster = result[f"{key}_qps"], result[f"{key}_p50_us"], result[f"vs_{key}"]
            table.add_row(name, f"{qps:,}", f"{p50_us}", f"{faster}x faster")
    return table


def details_table(result: dict[str, Any]) -> Table:
    """Latency, ingest, exactness, scaling and batch assignment of the index."""
    small, large = result["scaling_fleets"]
    table = figures_table("Index details", ("measure", "value"), left=1)
    table.add_row("single query p50 / p99 (points seen before)", f"{result['p50_us']} / {result['p99_us']} µs")
    table.add_row(
        "single query p50 / p99 (new points, known cells)",
        f"{result['new_points_p50_us']} / {result['new_points_p99_us']} µs",
    )
    table.add_row("single query p50 / p99 (cold disk cache)", f"{result['cold_p50_us']} / {result['cold_p99_us']} µs")
    table.add_row("position ingest (batches of 100k, moving)", f"{result['ingest_per_s']:,}/s")
    table.add_row(
        "agreement with matcher.bruteforce (distance rank; shares geo.distance with the index)",
        f"{result['agree_with_bruteforce']:.4f}",
    )
    table.add_row(
        "agreement with matcher.bruteforce (score rank, first 300)",
        f"{result['agree_with_bruteforce_score_ranking']:.4f}",
    )
    table.add_row(
        f"cost per query {small:,} -> {large:,} carriers",
        f"{result['cost_us_small']} -> {result['cost_us_large']} µs ({result['cost_ratio_10k_to_1m']}x)",
    )
    table.add_row(
        f"batch {result['batch_jobs']} jobs: assignment vs greedy (pickup m)",
        f"{result['batch_assignment_cost_m']:,} vs {result['batch_greedy_cost_m']:,}; unserved "
        f"{result['batch_assignment_unserved']} vs {result['batch_greedy_unserved']}",
    )
    return table
