"""``dispatch bench vrp --json`` on one Solomon instance at a tiny limit: the agreed JSON, all feasible."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from benchmarks.vrp import best_known, choose_instances, command, load_problem, solomon_dir


def test_tiny_bench_prints_the_results_json_last() -> None:
    app = typer.Typer()
    app.command()(command)
    result = CliRunner().invoke(app, ["--json", "--instances", "c101", "--time-limit", "0.2"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert [row["solver"] for row in summary["results"]] == ["ours", "ortools", "pyvrp", "vroom"]
    for row in summary["results"]:
        assert set(row) == {
            "solver",
            "time_limit_s",
            "instances",
            "mean_gap_pct",
            "max_gap_pct",
            "vehicles",
            "all_feasible",
        }
        assert row["time_limit_s"] == 0.2
        assert row["instances"] == 1
        assert row["all_feasible"] is True
        assert row["vehicles"] >= 10  # the record needs 10; nobody can do with fewer
        assert row["mean_gap_pct"] >= -0.01


def test_instances_and_records_are_read_where_they_are() -> None:
    directory = solomon_dir()
    assert choose_instances("rc2", directory) == [f"rc20{k}" for k in range(1, 9)]
    assert len(choose_instances("all", directory)) == 56
    assert best_known(directory)["r101"] == (19, 1645.79)
    problem = load_problem(directory / "c101.txt")
    assert len(problem.stops) == 100
    assert problem.vehicles[0].capacity_kg == 200.0
    assert problem.vehicles[0].shift_end_s == 1236.0
    assert problem.matrix.distances_m[0, 1] == ((45 - 40) ** 2 + (68 - 50) ** 2) ** 0.5


def test_dispatch_bench_vrp_is_registered_with_its_options() -> None:
    from api.cli import app

    listing = CliRunner().invoke(app, ["bench", "--help"])
    assert listing.exit_code == 0 and "vrp" in listing.output
    help_text = CliRunner().invoke(app, ["bench", "vrp", "--help"])
    assert help_text.exit_code == 0, help_text.output
    for option in ("--instances", "--time-limit", "--solvers", "--data", "--json"):
        assert option in help_text.output
