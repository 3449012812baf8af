"""``dispatch bench vrp --json`` on one Solomon instance at a tiny limit: the agreed JSON, all feasible."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer
from typer.testing import CliRunner

from benchmarks.vrp import best_known, choose_instances, command, load_problem, solomon_dir

#: A small instance in Solomon's format (written by the tests, so they need no data beside the repository):
#: the depot at (40, 50) open until 400, twelve customers of demand 30 on a ring, wide windows, capacity 100.
CAPACITY, DEMAND, DUE = 100.0, 30.0, 400.0


def _ring(count: int = 12) -> list[tuple[float, float]]:
    return [
        (40 + 20 * math.cos(2 * math.pi * k / count), 50 + 20 * math.sin(2 * math.pi * k / count)) for k in range(count)
    ]


def write_solomon_dir(directory: Path, names: list[str]) -> Path:
    """Instances in Solomon's whitespace format and a bkv.csv whose records are lower bounds (so gaps are >= 0)."""
    ring = _ring()
    rows = [f"1 40.00 50.00 0.00 0.00 {DUE:.2f} 0.00"]
    rows += [f"{k + 2} {x:.2f} {y:.2f} {DEMAND:.2f} 0.00 300.00 10.00" for k, (x, y) in enumerate(ring)]
    text = f"# VEHICLE_CAPACITY {CAPACITY:.0f}\nCUST_NO XCOORD YCOORD DEMAND READY_TIME DUE_DATE SERVICE_TIME\n"
    records = ["problem,base_instance,customers,vehicles,distance,authors,source_kind,source_file"]
    vehicles = math.ceil(len(ring) * DEMAND / CAPACITY)  # fewer cannot carry the demand
    for name in names:
        (directory / f"{name}.txt").write_text(text + "\n".join(rows) + "\n")
        records.append(f"{name.upper()}.25,{name},12,1,1.0,test,optimal,none")  # exact-convention rows are ignored
        records.append(f"{name.upper()},{name},12,{vehicles},{2 * 20.0:.2f},test,heuristic,none")
    (directory / "bkv.csv").write_text("\n".join(records) + "\n")
    return directory


def test_tiny_bench_prints_the_results_json_last(tmp_path: Path) -> None:
    write_solomon_dir(tmp_path, ["c101"])
    app = typer.Typer()
    app.command()(command)
    result = CliRunner().invoke(app, ["--json", "--instances", "c101", "--time-limit", "0.2", "--data", str(tmp_path)])
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
        assert row["vehicles"] >= 4  # 12 x 30 units in vans of 100: nobody can do with fewer
        assert row["mean_gap_pct"] >= 0  # the record is a lower bound (the farthest customer and back)


def test_instances_and_records_are_read_where_they_are(tmp_path: Path) -> None:
    directory = write_solomon_dir(tmp_path, ["c101", "c102", "rc201", "rc202", "r201"])
    assert solomon_dir(str(directory)) == directory
    assert choose_instances("rc2", directory) == ["rc201", "rc202"]
    assert choose_instances("c1,r201", directory) == ["c101", "c102", "r201"]
    assert len(choose_instances("all", directory)) == 5
    assert best_known(directory)["rc201"] == (4, 40.0)  # the hierarchical row, not the exact-convention one
    problem = load_problem(directory / "c101.txt")
    assert len(problem.stops) == 12
    assert problem.vehicles[0].capacity_kg == CAPACITY
    assert problem.vehicles[0].shift_end_s == DUE
    assert problem.stops[0].window == (0.0, 300.0) and problem.stops[0].service_s == 10.0
    x, y = _ring()[0]
    assert abs(problem.matrix.distances_m[0, 1] - math.hypot(x - 40, y - 50)) < 0.01


def test_dispatch_bench_vrp_is_registered_with_its_options() -> None:
    from api.cli import app

    listing = CliRunner().invoke(app, ["bench", "--help"])
    assert listing.exit_code == 0 and "vrp" in listing.output
    help_text = CliRunner().invoke(app, ["bench", "vrp", "--help"])
    assert help_text.exit_code == 0, help_text.output
    for option in ("--instances", "--time-limit", "--solvers", "--data", "--json"):
        assert option in help_text.output
