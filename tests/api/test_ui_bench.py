"""``dispatch bench ui`` with a few hundred orders: the JSON last line has the documented shape, every page
answered 200 on both backends, and the generated history is what the benchmark claims."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from api.cli import app
from benchmarks.ui_pages import PAGES


def test_bench_ui_runs_every_page_on_both_backends() -> None:
    result = CliRunner().invoke(
        app,
        ["bench", "ui", "--orders", "300", "--requests", "3", "--warmup", "1", "--explain", "--json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "written in bulk straight into the database" in result.output
    last = json.loads(result.output.strip().splitlines()[-1])
    assert last["orders"] == 300
    names = {page.name for page in PAGES}
    assert set(last["pages"]) == names
    assert {"map_page", "tracking_page", "analytics_stage_timings_json", "analytics_funnel_json"} <= names
    for figures in last["pages"].values():
        assert set(figures) == {"p50_ms", "p95_ms"} and 0 < figures["p50_ms"] <= figures["p95_ms"]
    assert last["p95_ms"] == max(f["p95_ms"] for f in last["pages"].values())
    assert set(last["backends"]) == {"sqlite", "postgis"}
    for backend in last["backends"].values():
        assert backend["rows"]["orders"] == 300 and backend["rows"]["order_timeline"] > 300
        assert {name: f["statuses"] for name, f in backend["pages"].items()} == {name: {"200": 3} for name in names}
    # The map's and the analytics' reads go through indexes on SQLite (SEARCH ... USING INDEX, not SCAN orders);
    # the percentiles read the stage-timing pre-aggregate by day.
    sqlite_plans = last["backends"]["sqlite"]["plans"]
    for name in ("map_heat_demand", "map_heat_late", "analytics_funnel", "analytics_day_counts"):
        assert any(line.startswith("SEARCH orders USING") for line in sqlite_plans[name]), sqlite_plans[name]
        assert not any(line.startswith("SCAN orders") for line in sqlite_plans[name]), sqlite_plans[name]
    for name in ("analytics_timings", "analytics_trend"):
        assert any(line.startswith("SEARCH stage_duration_counts") for line in sqlite_plans[name]), sqlite_plans[name]
    assert last["backends"]["postgis"]["plans"]["map_heat_demand"]
    assert last["backends"]["postgis"]["plans"]["analytics_trend"]
