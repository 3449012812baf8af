"""The pipeline benchmark labels its figures with the settings the store reports, and measures CPU time."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from api.cli import app
from benchmarks.cpu_meter import postgres_cpu_s, redis_cpu_s
from benchmarks.live_service import durability_note, is_durable, storage_settings
from infra.db import make_engine


def test_the_embedded_store_reports_wal_with_normal_sync_and_is_labelled_process_crash_safe(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'bench.sqlite3'}")
    try:
        settings = storage_settings(engine)
    finally:
        engine.dispose()
    assert settings == {"journal_mode": "wal", "synchronous": "NORMAL"}
    assert is_durable(settings)
    assert "power loss may lose the last commits" in durability_note(settings)


def test_sqlite_without_wal_at_normal_sync_is_not_called_durable() -> None:
    assert not is_durable({"journal_mode": "delete", "synchronous": "NORMAL"})
    assert not is_durable({"journal_mode": "wal", "synchronous": "OFF"})
    assert is_durable({"journal_mode": "delete", "synchronous": "FULL"})


def test_the_tests_postgres_is_reported_non_durable(postgis_database_url: str) -> None:
    engine = make_engine(postgis_database_url)
    try:
        settings = storage_settings(engine)
    finally:
        engine.dispose()
    assert settings["fsync"] == "off"
    assert not is_durable(settings)
    assert durability_note(settings).startswith("NON-DURABLE")


def test_server_cpu_time_grows_with_the_work_it_does(postgis_database_url: str, redis_url: str) -> None:
    import redis

    before_pg, before_redis = postgres_cpu_s(postgis_database_url), redis_cpu_s(redis_url)
    engine = make_engine(postgis_database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT count(*) FROM generate_series(1, 3000000)")).scalar_one()
            during = postgres_cpu_s(postgis_database_url)
    finally:
        engine.dispose()
    assert during > before_pg + 0.05
    # The backend that did the work has exited: its CPU time is still counted (the postmaster reaped it).
    time.sleep(0.5)
    assert postgres_cpu_s(postgis_database_url) >= during - 0.02
    client = redis.Redis.from_url(redis_url)
    for n in range(3000):
        client.set(f"cpu-meter-{n}", n)
    client.close()
    assert redis_cpu_s(redis_url) > before_redis


def test_bench_pipeline_json_carries_durability_transport_and_cpu_per_order() -> None:
    result = CliRunner().invoke(
        app, ["bench", "pipeline", "--orders", "30", "--threads", "2", "--backend", "embedded", "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    (embedded,) = summary["results"]
    assert embedded["orders"] == 30 and embedded["failed"] == 0
    assert embedded["transport"] == "in-process"
    assert embedded["durable"] is True
    assert embedded["storage"] == {"journal_mode": "wal", "synchronous": "NORMAL"}
    assert embedded["cpu_ms_per_order"]["total"] > 0
    assert embedded["cpu_ms_per_order"]["postgres"] == 0.0
