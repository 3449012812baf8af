"""``dispatch forecast run``: stores a run from the configured database and says what it stored; without
enough history it exits 1 with the reason."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from infra.db import make_engine, make_session_factory
from infra.migrate import upgrade
from orders_core.planning.tables import ForecastRow
from tests.orders_core.planning_support import NOW, write_history

REPO = Path(__file__).resolve().parents[2]


def _dispatch(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "DISPATCH_DATABASE_URL": database_url, "DISPATCH_LOG_FORMAT": "json"}
    return subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        env=env,
    )


def test_forecast_run_stores_a_run_and_refuses_an_empty_history(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'forecast.sqlite3'}"
    engine = make_engine(url)
    upgrade(engine)
    refused = _dispatch(url, "forecast", "run", "--as-of", NOW.date().isoformat())
    assert refused.returncode == 1 and "no orders in the history window" in refused.stderr
    with make_session_factory(engine)() as session:
        write_history(session)
    ran = _dispatch(url, "forecast", "run", "--as-of", NOW.date().isoformat())
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("run ") and "6 series × 80 weeks" in ran.stdout and "18 forecasts" in ran.stdout
    with make_session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(ForecastRow)) == 18
    engine.dispose()
