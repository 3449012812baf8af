"""``dispatch bench pick --quick --json`` runs and ends with the agreed JSON keys; unverified cases stay
out of the gap figures."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from benchmarks.pick import CaseResult, Plan, command, summarise
from benchmarks.pick_proofs import Proof


def test_quick_bench_prints_the_summary_json_last() -> None:
    app = typer.Typer()
    app.command()(command)
    result = CliRunner().invoke(app, ["--quick", "--json", "--seeds", "1", "--orders", "6"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    for key in (
        "cases",
        "mean_gap_pct",
        "max_gap_pct",
        "p95_ms",
        "s_shape_mean_excess_pct",
        "proven_optimal_cases",
        "batching_saving_pct",
        "unverified_cases",
        "max_gap_to_dual_bound_pct",
        "proofs",
    ):
        assert key in summary
    assert summary["cases"] == 6
    assert summary["max_gap_pct"] <= 1e-6
    assert summary["proven_optimal_cases"] == summary["cases"]
    assert summary["proved_by_producer_cases"] == 0
    assert len(summary["proofs"]) == summary["cases"]
    for proof in summary["proofs"]:
        assert proof["proved_by"] not in ("", proof["produced_by"])
        assert proof["optimum_m"] == proof["dual_bound_m"] == proof["route_m"]
        assert proof["tried"][-1] == proof["proved_by"]
        assert proof["bounds_m"][proof["proved_by"]] == proof["dual_bound_m"]


def case(seed: int, proof: Proof) -> CaseResult:
    return CaseResult(
        blocks=1,
        picks=10,
        seed=seed,
        stops=10,
        distance_m=proof.route_mm / 1000,
        proof=proof,
        rounding_error_m=0.0,
        route_ms=1.0,
        s_shape_m=proof.route_mm / 1000,
        ortools_m=proof.route_mm / 1000,
    )


def test_unverified_cases_are_listed_and_left_out_of_the_gaps() -> None:
    proved = Proof("exact_dp", "cp_sat_circuit", "optimal", 100_000, 100_000, 100_000, 5.0)
    worse = Proof("exact_dp", "cp_sat_circuit", "suboptimal", 102_000, 100_000, 100_000, 5.0)
    open_case = Proof("exact_dp", "cp_sat_circuit", "unverified", 150_000, None, 100_000, 30_000.0)
    plan = Plan.of(True, 1, 6, 30.0, 0.1)
    summary = summarise([case(0, proved), case(1, worse), case(2, open_case)], [(1.0, 2.0)], plan)
    assert (summary["verified_cases"], summary["unverified_cases"]) == (2, 1)
    assert summary["unverified"] == ["b1-p10-s2"]
    assert summary["max_gap_pct"] == 2.0  # the unverified 50 % over its bound is not a gap
    assert summary["mean_gap_pct"] == 1.0
    assert summary["max_gap_to_dual_bound_pct"] == 50.0
    assert summary["proven_optimal_cases"] == 1
    assert summary["suboptimal_cases"] == 1
