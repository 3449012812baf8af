"""The ``dispatch`` command line: bench commands still listed, serving pays for none of them, and a first
``dispatch serve`` ends its start-up with the URL and the admin token."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app

REPO = Path(__file__).resolve().parents[2]


def test_bench_commands_are_listed_with_their_own_options() -> None:
    listing = CliRunner().invoke(app, ["bench", "--help"])
    assert listing.exit_code == 0, listing.output
    for name in ("match", "pick", "pipeline"):
        assert name in listing.output
    match_help = CliRunner().invoke(app, ["bench", "match", "--help"])
    assert match_help.exit_code == 0, match_help.output
    assert "--carriers" in match_help.output and "--quick" in match_help.output
    assert CliRunner().invoke(app, ["bench", "nosuch"]).exit_code != 0


def test_serve_offers_the_log_format() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0 and "--log-format" in result.output


def test_the_cli_imports_no_benchmark_until_one_is_asked_for() -> None:
    probe = "import sys, api.cli; print(sorted(m for m in sys.modules if m.split('.')[0] in ('benchmarks', 'scipy')))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True, env=_env()
    ).stdout
    assert out.strip() == "[]"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return {**env, **extra}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_a_first_serve_loads_the_demo_quietly_and_ends_with_the_url_and_the_admin_token(tmp_path: Path) -> None:
    port = _free_port()
    serve = [sys.executable, "-c", "from api.cli import main; main()", "serve", "--port", str(port)]
    stderr = tmp_path / "stderr.txt"
    with stderr.open("w") as err:
        server = subprocess.Popen(serve, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err, env=_env())
        try:
            deadline = time.monotonic() + 300
            while True:
                assert server.poll() is None, stderr.read_text()
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "not ready after 300 s"
                time.sleep(0.2)
            time.sleep(0.5)  # anything printed right after binding would show now
        finally:
            server.terminate()
            server.wait(timeout=60)
    lines = [line for line in stderr.read_text().splitlines() if line.strip()]
    start_up = lines[: next(i for i, line in enumerate(lines) if "admin token" in line) + 2]
    assert start_up[-3].strip().startswith("serving") and f"http://127.0.0.1:{port}" in start_up[-3]
    assert start_up[-2].strip().startswith("admin token  dsp_admin_")
    assert not any("Warning" in line for line in lines), lines  # no httpx/testclient deprecation warning
    assert sum("demo_data_loaded" in line for line in lines) == 1  # one summary line, not one per resource
    assert not any('"event": "request"' in line or "PUT /v1/" in line for line in lines)


def test_token_commands_print_only_their_answer_on_stdout_and_revoke_once(tmp_path: Path) -> None:
    env = _env(DISPATCH_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.sqlite3'}", DISPATCH_LOG_FORMAT="json")

    def dispatch(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "from api.cli import main; main()", *args],
            cwd=REPO, capture_output=True, text=True, env=env,
        )  # fmt: skip

    created = dispatch("token", "create", "--role", "dispatcher", "--label", "desk")
    assert created.returncode == 0, created.stderr
    assert created.stdout.startswith("dsp_") and len(created.stdout.split()) == 1  # the token, nothing else
    assert "container_started" not in created.stderr  # token commands do not warm the stores
    listed = dispatch("token", "list").stdout.split()
    token_id, role, _subject, state, label = listed
    assert (role, state, label) == ("dispatcher", "live", "desk")
    assert dispatch("token", "revoke", token_id).returncode == 0
    again = dispatch("token", "revoke", token_id)
    assert again.returncode == 1 and f"no live token {token_id}" in again.stderr
    assert dispatch("token", "list").stdout.split()[3] == "revoked"
    refused = dispatch("token", "create", "--role", "bogus")
    assert refused.returncode == 2 and "unknown role 'bogus'" in refused.stderr
    released = dispatch("orders", "release-expired")  # a command that starts the whole container
    assert released.returncode == 0, released.stderr
    assert released.stdout == "released 0 order(s)\n"
    assert "container_started" in released.stderr  # its logs went to stderr, not into the answer
