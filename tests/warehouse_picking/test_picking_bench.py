"""``dispatch bench pick --quick --json`` runs and ends with the agreed JSON keys."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from benchmarks.pick import command


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
    ):
        assert key in summary
    assert summary["cases"] == 6
    assert summary["max_gap_pct"] <= 1e-6
    assert summary["proven_optimal_cases"] == summary["cases"]
