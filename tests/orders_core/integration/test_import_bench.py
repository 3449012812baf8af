"""`dispatch bench import` end to end on a few hundred generated orders, into SQLite and PostGIS: the
orders read back from each database are the orders generated, and the JSON last line has the contract's keys."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import typer
from typer.testing import CliRunner

from benchmarks.import_bench import command
from benchmarks.import_data import generate_year


def test_bench_import_quick_run_lands_every_generated_order_in_each_backend() -> None:
    app = typer.Typer()
    app.command()(command)
    result = CliRunner().invoke(app, ["--orders", "300", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert [row["backend"] for row in payload["results"]] == ["sqlite", "postgis"]
    for row in payload["results"]:
        assert set(row) == {"backend", "orders", "seconds", "orders_per_s"}
        assert row["orders"] == 300 and row["seconds"] > 0 and row["orders_per_s"] > 0


def test_the_generated_year_is_seeded_seasonal_and_one_row_per_line(tmp_path: Path) -> None:
    first = generate_year(tmp_path / "a", orders=2000, seed=7)
    second = generate_year(tmp_path / "b", orders=2000, seed=7)
    assert first.orders_csv.read_bytes() == second.orders_csv.read_bytes()
    with first.orders_csv.open(encoding="gb18030", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == first.lines > first.orders
    orders = {row["订单编号"] for row in rows}
    assert len(orders) == 2000
    months = [row["下单时间"][5:7] for row in rows]
    assert months.count("11") > months.count("02")  # Double 11 above the Spring Festival month
    assert {row["单位"] for row in rows} == {"件", "箱"}
