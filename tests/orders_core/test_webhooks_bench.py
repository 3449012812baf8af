"""`dispatch bench webhooks` runs end to end on a few events: every event arrives, signed, and the JSON
last line has exactly the contract's keys (plus the store and its durability)."""

from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from benchmarks.webhooks import command

KEYS = {"events", "delivered", "lost", "duplicates", "deliveries_per_s", "p50_ms", "p99_ms"}


def test_bench_webhooks_quick_run_delivers_every_event() -> None:
    app = typer.Typer()
    app.command()(command)
    result = CliRunner().invoke(app, ["--events", "300", "--rate", "600", "--carriers", "3", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(payload) == KEYS | {"backend", "durability"}
    assert (payload["events"], payload["delivered"], payload["lost"]) == (300, 300, 0)
    assert payload["backend"] == "sqlite" and "synchronous=NORMAL" in payload["durability"]
    assert payload["p50_ms"] <= payload["p99_ms"] and payload["deliveries_per_s"] > 0
