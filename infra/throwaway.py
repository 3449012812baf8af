"""Throwaway PostgreSQL+PostGIS and Redis servers (single or a cluster) on free ports, for tests and benchmarks.

Nothing here touches a server that is already running: each call creates its own data directory,
picks a free port, and removes everything on exit. PostgreSQL refuses to run as root, so when we
are root the cluster is created and started as the unprivileged ``postgres`` user via ``runuser``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

POSTGIS_CONTROL_GLOB = "/usr/share/postgresql/*/extension/postgis.control"


class ThrowawayServerError(RuntimeError):
    """A throwaway server could not be started; the message says what to install or check."""


def free_port() -> int:
    """A TCP port that is free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgres_bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise ThrowawayServerError("PostgreSQL server binaries not found: apt-get install postgresql-15")


def _run_as_postgres_prefix() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ThrowawayServerError("running as root but no 'postgres' user exists") from exc
    return ["runuser", "-u", "postgres", "--"]


def _wait_for_port(
    port: int, timeout_s: float, what: str, log: Path | None = None, process: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            # Exited: most likely another process took the port between free_port() and the bind.
            detail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise _ServerExited(f"{what} exited with status {process.returncode} on port {port}\n{detail}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    detail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise ThrowawayServerError(f"{what} did not start on port {port} within {timeout_s}s\n{detail}")


class _ServerExited(ThrowawayServerError):
    """The server process ended before it listened; starting again on another port may work."""


#: Attempts at starting a server, each on a new free port (parallel test workers may race for one).
START_ATTEMPTS = 3


#: Settings of a throwaway cluster that may lose its last commits on a crash (tests: faster, nothing to keep).
NON_DURABLE_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")
#: Production durability: a commit is answered once its WAL is flushed to disk (PostgreSQL's defaults).
DURABLE_SETTINGS = ("fsync=on", "synchronous_commit=on", "full_page_writes=on")


@contextlib.contextmanager
def throwaway_postgres(database: str = "dispatch", *, durable: bool = False) -> Iterator[str]:
    """Start a private PostgreSQL cluster with PostGIS; yield a ``postgresql+psycopg://`` URL.

    ``durable=False`` (the default, for tests: their data is thrown away and fsyncs would only slow
    them down) turns off fsync, synchronous_commit and full_page_writes; benchmarks pass
    ``durable=True`` so that their figures are those of a server that keeps every answered commit.
    """
    if not glob.glob(POSTGIS_CONTROL_GLOB):
        raise ThrowawayServerError("PostGIS is not installed: apt-get install -y postgresql-15-postgis-3")
    bin_dir = _postgres_bin_dir()
    prefix = _run_as_postgres_prefix()
    root = Path(tempfile.mkdtemp(prefix="dispatch-pg-"))
    data_dir = root / "data"
    log = root / "postgres.log"
    if prefix:
        shutil.chown(root, user="postgres", group="postgres")
    process: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [
                *prefix,
                str(bin_dir / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            check=True,
            capture_output=True,
        )
        for attempt in range(START_ATTEMPTS):
            port = free_port()
            with open(log, "wb") as log_file:
                process = subprocess.Popen(
                    [
                        *prefix,
                        str(bin_dir / "postgres"),
                        "-D",
                        str(data_dir),
                        "-p",
                        str(port),
                        "-c",
                        "listen_addresses=127.0.0.1",
                        "-c",
                        f"unix_socket_directories={root}",
                        *_settings_args(DURABLE_SETTINGS if durable else NON_DURABLE_SETTINGS),
                        "-c",
                        "max_connections=200",
                        "-c",
                        "shared_buffers=256MB",
                    ],
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                )
            try:
                _wait_for_port(port, 30, "PostgreSQL", log, process)
                break
            except _ServerExited:
                process = None
                if attempt == START_ATTEMPTS - 1:
                    raise
        _create_database(port, database)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{database}"
    except subprocess.CalledProcessError as exc:
        raise ThrowawayServerError(f"initdb failed: {exc.stderr.decode(errors='replace')}") from exc
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(root, ignore_errors=True)


def _settings_args(settings: tuple[str, ...]) -> list[str]:
    """``-c name=value`` for each setting, as the ``postgres`` command line takes them."""
    return [arg for setting in settings for arg in ("-c", setting)]


def durability_settings(postgres_url: str) -> dict[str, str]:
    """The server's own answer to ``SHOW fsync, synchronous_commit, full_page_writes`` (read back, not assumed)."""
    import psycopg

    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        return {
            name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
            for name in ("fsync", "synchronous_commit", "full_page_writes")
        }


def _create_database(port: int, database: str) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            # PostGIS in template1 first: every database created later has it without paying for it again.
            with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=template1", autocommit=True) as conn:
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')


def create_database(postgres_url: str, name: str, template: str = "template1") -> str:
    """Create another database (with PostGIS) on the same throwaway server; return its URL.

    The new database is a copy of ``template`` (by default the server's template1, which has PostGIS);
    a copy of a migrated database costs a fraction of migrating. The template must have no open
    connections meanwhile.
    """
    import psycopg

    base, _, _ = postgres_url.rpartition("/")
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        # FILE_COPY (PostgreSQL 15+): copy the files instead of logging every page (faster when small).
        strategy = " STRATEGY FILE_COPY" if conn.info.server_version >= 150000 else ""
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}')
    with psycopg.connect(f"{plain}/{name}", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return f"{base}/{name}"


def drop_database(postgres_url: str, name: str) -> None:
    """Drop a database of the throwaway server, closing any connection still open to it."""
    import psycopg

    base, _, _ = postgres_url.rpartition("/")
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def throwaway_redis() -> Iterator[str]:
    """Start a private, memory-only Redis server; yield a ``redis://`` URL."""
    root = Path(tempfile.mkdtemp(prefix="dispatch-redis-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        process, port = _start_redis_node(root)
        processes.append(process)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(processes)
        shutil.rmtree(root, ignore_errors=True)


#: Hash slots of a Redis Cluster (0 .. 16383), shared out among the masters.
CLUSTER_SLOTS = 16384


def _redis_server() -> str:
    """Path of the system package's redis-server (the tests' throwaway servers and clusters)."""
    server = shutil.which("redis-server")
    if server is None:
        raise ThrowawayServerError("redis-server is not installed: apt-get install -y redis-server")
    return server


def start_memory_redis(port: int, node_dir: Path, extra: Sequence[str] = ()) -> subprocess.Popen[bytes]:
    """Start one memory-only redis-server (no RDB, no AOF: a restart loses every key) on ``port`` in
    ``node_dir`` and wait until it accepts connections (``_ServerExited`` if it dies first)."""
    log = node_dir / "redis.log"
    process = subprocess.Popen(
        [
            _redis_server(),
            *("--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"),
            *("--dir", str(node_dir), "--logfile", str(log), "--daemonize", "no"),
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    _wait_for_port(port, 20, "Redis", log, process)
    return process


def _start_redis_node(node_dir: Path, extra: Sequence[str] = ()) -> tuple[subprocess.Popen[bytes], int]:
    """``start_memory_redis`` on a free port, trying another port if the server dies at start."""
    for attempt in range(START_ATTEMPTS):
        port = free_port()
        try:
            return start_memory_redis(port, node_dir, extra), port
        except _ServerExited:
            if attempt == START_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def _slot_ranges(masters: int) -> list[tuple[int, int]]:
    """Contiguous, even slot ranges, one per master (as ``redis-cli --cluster create`` shares them)."""
    bounds = [round(i * CLUSTER_SLOTS / masters) for i in range(masters + 1)]
    return [(bounds[i], bounds[i + 1] - 1) for i in range(masters)]


def _form_cluster(ports: list[int], bus_ports: list[int], timeout_s: float = 30.0) -> None:
    """Give each node its slot range and epoch, introduce them, wait until every node says ``cluster_state:ok``.

    The commands ``redis-cli --cluster create`` sends, sent from here so that only redis-server is needed.
    """
    import redis

    clients = [redis.Redis(host="127.0.0.1", port=port, decode_responses=True) for port in ports]
    try:
        for epoch, (client, (first, last)) in enumerate(zip(clients, _slot_ranges(len(ports)), strict=True), 1):
            client.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
            client.execute_command("CLUSTER", "SET-CONFIG-EPOCH", epoch)
        for port, bus_port in zip(ports[1:], bus_ports[1:], strict=True):
            clients[0].execute_command("CLUSTER", "MEET", "127.0.0.1", port, bus_port)
        deadline = time.monotonic() + timeout_s
        while True:
            infos = [client.execute_command("CLUSTER", "INFO") for client in clients]
            if all("cluster_state:ok" in info and f"cluster_known_nodes:{len(ports)}" in info for info in infos):
                return
            if time.monotonic() > deadline:
                raise ThrowawayServerError(f"Redis Cluster not ok within {timeout_s}s:\n{infos[0]}")
            time.sleep(0.05)
    finally:
        for client in clients:
            client.close()


@contextlib.contextmanager
def throwaway_redis_cluster(masters: int = 3) -> Iterator[str]:
    """Start a private, memory-only Redis Cluster of ``masters`` masters (no replicas) on free ports; yield a
    ``redis+cluster://`` URL listing every node (see infra.redis_client).

    Each node has its own directory and cluster config file, and a cluster bus port picked free as well
    (the default, port + 10000, may be taken or out of range).
    """
    if masters < 1:
        raise ValueError(f"a cluster needs at least one master, got {masters}")
    root = Path(tempfile.mkdtemp(prefix="dispatch-redis-cluster-"))
    processes: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []
    bus_ports: list[int] = []
    try:
        for index in range(masters):
            node_dir = root / f"node{index}"
            node_dir.mkdir()
            bus_port = free_port()
            cluster_options = [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                str(node_dir / "nodes.conf"),
                "--cluster-port",
                str(bus_port),
                "--cluster-node-timeout",
                "5000",
            ]
            process, port = _start_redis_node(node_dir, cluster_options)
            processes.append(process)
            ports.append(port)
            bus_ports.append(bus_port)
        _form_cluster(ports, bus_ports)
        yield "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in ports)
    finally:
        _stop(processes)
        shutil.rmtree(root, ignore_errors=True)
