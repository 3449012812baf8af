"""The public demo payment secret is refused outside the demo: ``create_app`` and ``dispatch serve --no-demo``
fail fast naming DISPATCH_PAYMENT_SECRET; with a secret set, the served app checks notifications with it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from api.app import create_app
from api.settings import DEFAULT_PAYMENT_SECRET, Settings
from api.startup_checks import InsecureSettings
from orders_core.orders.payments import sign_payment

REPO = Path(__file__).resolve().parents[2]
DISPATCH = [sys.executable, "-c", "from api.cli import main; main()"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return {**env, **extra}


def test_create_app_outside_the_demo_refuses_the_default_payment_secret(database_url: str) -> None:
    with pytest.raises(InsecureSettings, match="DISPATCH_PAYMENT_SECRET"):
        create_app(Settings(database_url=database_url, admin_token="t"))
    with pytest.raises(InsecureSettings):
        create_app(Settings(database_url=database_url, payment_secret=DEFAULT_PAYMENT_SECRET))
    create_app(Settings(database_url=database_url, admin_token="t"), demo=True)  # the demo may use it
    create_app(Settings(database_url=database_url, payment_secret="gateway-secret"))


def test_serve_no_demo_with_the_default_secret_exits_at_once_naming_the_variable(tmp_path: Path) -> None:
    env = _env(DISPATCH_DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}")
    started = time.monotonic()
    result = subprocess.run(
        [*DISPATCH, "serve", "--no-demo", "--port", "1"], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert result.returncode == 2, result.stderr
    assert "DISPATCH_PAYMENT_SECRET" in result.stderr and "refusing to start" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 60
    assert not (tmp_path / "x.sqlite3").exists()  # refused before any store was opened


def _notify(base: str, secret: str) -> int:
    raw = json.dumps({"transaction_id": "t1", "order_id": "nosuch", "status": "paid", "amount": "1.00"}).encode()
    ts = str(int(time.time()))
    headers = {"X-Timestamp": ts, "X-Signature": sign_payment(secret, ts, raw), "Content-Type": "application/json"}
    request = urllib.request.Request(f"{base}/v1/payments/notify", data=raw, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
def test_serve_no_demo_with_a_secret_set_starts_and_checks_notifications_with_it(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = _env(DISPATCH_DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}", DISPATCH_PAYMENT_SECRET="gw-secret")
    stderr = tmp_path / "stderr.txt"
    base = f"http://127.0.0.1:{port}"
    with stderr.open("w") as err:
        server = subprocess.Popen(
            [*DISPATCH, "serve", "--no-demo", "--port", str(port)], cwd=tmp_path, stdout=subprocess.DEVNULL,
            stderr=err, env=env,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 300
            while True:
                assert server.poll() is None, stderr.read_text()
                try:
                    with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "not ready after 300 s"
                time.sleep(0.2)
            assert _notify(base, DEFAULT_PAYMENT_SECRET) == 401  # the demo secret signs nothing here
            assert _notify(base, "gw-secret") == 404  # authentic; the order is unknown
        finally:
            server.terminate()
            server.wait(timeout=60)
