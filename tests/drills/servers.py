"""Servers a fault drill can break on purpose: PostgreSQL and Redis that restart on the same port, and real
``dispatch serve`` processes that can be killed with SIGKILL.

``infra.throwaway`` starts servers that live as long as a ``with`` block; a drill needs to stop one in the
middle of a load and start it again where the service expects it (same data directory, same port), so
these keep their process handle and data directory between starts. PostgreSQL runs with production
durability (fsync, synchronous commit, full-page writes): a drill that crashes it must not lose a commit
that the service acknowledged because the test database was configured to forget it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx

from infra.throwaway import (
    _create_database,
    _postgres_bin_dir,
    _run_as_postgres_prefix,
    _wait_for_port,
    free_port,
    start_memory_redis,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
#: ``--no-sync``: initdb's own files need not survive an OS crash (the drills crash processes, not the OS).
INITDB_OPTIONS = ("-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync", "--no-instructions")
#: Production durability: an acknowledged commit survives a crash of the server.
DURABLE_SETTINGS = (
    *("-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "full_page_writes=on"),
    *("-c", "max_connections=200", "-c", "shared_buffers=128MB"),
)


class RestartablePostgres:
    """A private PostgreSQL+PostGIS cluster that can be crashed and started again on the same port."""

    def __init__(self, root: Path, database: str = "dispatch") -> None:
        self.root = root
        self.data_dir = root / "data"
        self.log = root / "postgres.log"
        self.database = database
        self.port = free_port()
        self._prefix = _run_as_postgres_prefix()
        self._bin = _postgres_bin_dir()
        self._process: subprocess.Popen[bytes] | None = None
        if self._prefix:
            shutil.chown(root, user="postgres", group="postgres")
        subprocess.run(
            [*self._prefix, str(self._bin / "initdb"), "-D", str(self.data_dir), *INITDB_OPTIONS],
            check=True,
            capture_output=True,
        )
        self.start()
        _create_database(self.port, database)

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the drill's database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{self.database}"

    def start(self) -> None:
        """Start (again) on the same data directory and port; crash recovery replays the WAL."""
        with open(self.log, "ab") as log_file:
            self._process = subprocess.Popen(
                [
                    *self._prefix,
                    str(self._bin / "postgres"),
                    *("-D", str(self.data_dir), "-p", str(self.port)),
                    *("-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.root}"),
                    *DURABLE_SETTINGS,
                ],
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        _wait_for_port(self.port, 60, "PostgreSQL", self.log, self._process)
        self._wait_accepting()

    def _wait_accepting(self) -> None:
        import psycopg

        deadline = time.monotonic() + 60
        while True:
            try:
                with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres"):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def crash(self) -> None:
        """Immediate shutdown (SIGQUIT to the postmaster): every backend dies, nothing is checkpointed."""
        self._signal_postmaster(signal.SIGQUIT)

    def stop(self) -> None:
        """Fast shutdown (SIGINT): sessions are cut, the cluster checkpoints and exits."""
        self._signal_postmaster(signal.SIGINT)

    def _signal_postmaster(self, signum: int) -> None:
        # As root the child is runuser, which does not forward every signal: signal the postmaster itself.
        pid_file = self.data_dir / "postmaster.pid"
        if self._process is None:
            return
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text().split()[0]), signum)
        else:
            self._process.send_signal(signum)
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None

    def close(self) -> None:
        """Stop the server and remove its data."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class RestartableRedis:
    """A private, memory-only Redis that can be killed and started again, empty, on the same port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.log = root / "redis.log"
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        """The Redis URL the service is given."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start with nothing in memory (no RDB, no AOF): a restart loses every key."""
        self._process = start_memory_redis(self.port, self.root)

    def kill(self) -> None:
        """SIGKILL: the store and every hold in it are gone."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None

    def close(self) -> None:
        """Stop the server and remove its directory."""
        self.kill()
        shutil.rmtree(self.root, ignore_errors=True)


class ServiceProcess:
    """One ``dispatch serve`` process of this checkout (not the installed one) on its own port."""

    def __init__(self, env: Mapping[str, str], log_path: Path, name: str) -> None:
        self.env = dict(env)
        self.log_path = log_path
        self.name = name
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the service."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The process id (None while stopped)."""
        return self._process.pid if self._process is not None else None

    @property
    def alive(self) -> bool:
        """Whether the process is running."""
        return self._process is not None and self._process.poll() is None

    def start(self, timeout_s: float = 120.0) -> None:
        """Start the process and wait until ``/healthz`` answers."""
        self.launch()
        self.wait_ready(timeout_s)

    def launch(self) -> None:
        """Start the process without waiting for it (another can start meanwhile once the schema exists)."""
        command = [sys.executable, "-c", "from api.cli import main; main()", "serve", "--no-demo"]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        env = {**os.environ, **self.env, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "ab") as log_file:
            self._process = subprocess.Popen(command, env=env, cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        """Wait until ``/healthz`` answers (the process has migrated, warmed its stores and bound the port)."""
        assert self._process is not None, "launch() first"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self._process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer /healthz within {timeout_s}s:\n{self.log_tail()}")

    def kill9(self) -> None:
        """SIGKILL: no shutdown hook runs, requests in flight are cut wherever they are."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=10)
            self._process = None

    def stop(self) -> None:
        """SIGTERM (uvicorn shuts down cleanly), SIGKILL if it does not within 20 s."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the process's output (for a failure message)."""
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


@contextlib.contextmanager
def drill_stores() -> Iterator[tuple[RestartablePostgres, RestartableRedis, Path]]:
    """A restartable PostgreSQL and Redis for one drill, and a directory for logs; all removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="dispatch-drill-"))
    root.chmod(0o755)  # PostgreSQL runs as its own user below it
    (root / "pg").mkdir()
    (root / "redis").mkdir()
    postgres: RestartablePostgres | None = None
    redis_server: RestartableRedis | None = None
    try:
        postgres = RestartablePostgres(root / "pg")
        redis_server = RestartableRedis(root / "redis")
        yield postgres, redis_server, root
    finally:
        if redis_server is not None:
            redis_server.close()
        if postgres is not None:
            postgres.close()
        shutil.rmtree(root, ignore_errors=True)
