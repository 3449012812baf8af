"""``dispatch bench forecast --json`` on a small history: the table, then one JSON object as the last line
with the fields the issue names, whose figures agree with each other."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from api.cli import app


def test_a_small_bench_run_ends_with_the_json_line() -> None:
    answer = CliRunner().invoke(
        app,
        [
            "bench",
            "forecast",
            "--skus",
            "5",
            "--regions",
            "3",
            "--weeks",
            "80",
            "--seed",
            "28",
            "--n-jobs",
            "1",
            "--reconciled",
            "--json",
        ],
    )
    assert answer.exit_code == 0, answer.output
    lines = answer.output.strip().splitlines()
    assert any("SeasonalNaive" in line for line in lines[:-1])
    result = json.loads(lines[-1])
    for key in ("series", "wape_ours", "wape_seasonal_naive", "improvement_pct", "seconds"):
        assert key in result
    assert result["series"] == 15
    assert (
        result["improvement_pct"] == round((1 - result["wape_ours"] / result["wape_seasonal_naive"]) * 100, 2)
        or abs(result["improvement_pct"] - (1 - result["wape_ours"] / result["wape_seasonal_naive"]) * 100) < 0.05
    )
    assert 0 < result["seconds"] < 600
    assert 0.0 <= result["coverage_ours"] <= 1.0
    assert result["moving_average"].startswith("MA")
    assert set(result["chosen"]) == {"smooth", "erratic", "intermittent", "lumpy"}
    assert result["selection_windows"] >= 6 and result["horizon_weeks"] == 3
    assert "wape_reconciled" in result
