"""`dispatch import`: a progress bar on stderr, the summary as the last stdout line, the per-record report
and the failed records in the source format; a re-run creates nothing; a bad profile names its line."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "imports"


def _dispatch(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["DISPATCH_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    return subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", *args],
        cwd=REPO, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip


def _warehouses(tmp_path: Path) -> None:
    """The sample data's two warehouses, written with the master-data use case (there is no CLI for them)."""
    from infra.db import make_engine, make_session_factory
    from infra.migrate import upgrade
    from orders_core.master_data.model import Warehouse
    from orders_core.master_data.service import put_warehouse
    from orders_core.unit_of_work import UnitOfWork

    engine = make_engine(f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    upgrade(engine)
    with UnitOfWork(make_session_factory(engine)) as uow:
        put_warehouse(uow, Warehouse(id="WH-SH", name="上海仓", lat=31.23, lng=121.47))
        put_warehouse(uow, Warehouse(id="WH-BJ", name="北京仓", lat=39.90, lng=116.40))
        uow.commit()
    engine.dispose()


def test_dispatch_import_reports_every_record_and_exports_the_failed_ones(tmp_path: Path) -> None:
    _warehouses(tmp_path)
    assert _dispatch(tmp_path, "import", "erp_customers_csv", str(DATA / "erp_customers.csv")).returncode == 0
    assert _dispatch(tmp_path, "import", "erp_skus_csv", str(DATA / "erp_skus.csv")).returncode == 0
    report, failed = tmp_path / "report.csv", tmp_path / "failed.csv"
    args = ("import", "erp_orders_csv", str(DATA / "erp_orders.csv"), "--report", str(report), "--failed", str(failed))
    done = _dispatch(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert "import erp_orders.csv" in done.stderr and "100%" in done.stderr  # the progress bar
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (summary["status"], summary["rejected"], summary["deferred"]) == ("finished", 1, 2)
    with report.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["outcome"] for row in rows].count("rejected") == 1 and len(rows) == 6
    text = failed.read_bytes().decode("gb18030")
    assert text.splitlines()[0].startswith("订单编号,客户编码") and "SO2026000003" in text
    again = json.loads(_dispatch(tmp_path, *args).stdout.strip().splitlines()[-1])
    assert again["accepted"] == 0 and again["duplicate"] == 5


def test_dispatch_import_refuses_a_bad_profile_naming_its_line(tmp_path: Path) -> None:
    profile = tmp_path / "bad.yaml"
    profile.write_text("profile: x\ntarget: order\nsource: {format: csv}\nkey: order_no\nfields:\n  colour: 颜色\n")
    refused = _dispatch(tmp_path, "import", str(profile), str(DATA / "erp_orders.csv"))
    assert refused.returncode == 2
    assert (
        f"{profile}:6: 'colour' is not a field" in refused.stderr.replace("\n", " ") or "bad.yaml:6:" in refused.stderr
    )
