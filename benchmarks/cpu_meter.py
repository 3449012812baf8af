"""CPU seconds spent by a benchmark's parts: this process, the PostgreSQL server, the Redis server.

Orders/s on a shared machine depends on what the neighbours run; CPU time per order much less so, and
CPU ms per order x orders/s against the cores available says where the ceiling is. Linux only (/proc).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _proc_cpu_s(pid: int, *, reaped_children: bool = False) -> float:
    """utime + stime of one process (all its threads), in seconds, plus with ``reaped_children`` the
    cutime + cstime of its children that exited and were waited for; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the ")" of the command: state is field 3, utime 14, stime 15, cutime 16, cstime 17 (1-based).
    own = int(fields[11]) + int(fields[12])
    reaped = int(fields[13]) + int(fields[14]) if reaped_children else 0
    return (own + reaped) / _TICKS_PER_S


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (PostgreSQL's backends are children of the postmaster)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            found.append(int(entry.name))
    return found


def postgres_cpu_s(postgres_url: str) -> float:
    """CPU seconds of the server behind ``postgres_url``: the postmaster, its live children (backends,
    WAL writer, checkpointer...) and the children it has reaped (backends of closed connections).

    The postmaster's pid comes from ``postmaster.pid`` in the server's data directory (asked from the
    server itself).
    """
    import psycopg

    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    assert row is not None
    postmaster = int((Path(str(row[0])) / "postmaster.pid").read_text().split()[0])
    live = sum(_proc_cpu_s(pid) for pid in _children(postmaster))
    return _proc_cpu_s(postmaster, reaped_children=True) + live


def postgres_commits_and_wal_syncs(postgres_url: str) -> tuple[int, int]:
    """Committed transactions of every database and WAL flushes (fsync/fdatasync) of the server so far.

    Fewer flushes than commits is PostgreSQL's own group commit: one flush makes durable every commit
    record written before it, so concurrent committers share it.
    """
    import psycopg

    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        commits = conn.execute("SELECT sum(xact_commit) FROM pg_stat_database").fetchone()
        syncs = conn.execute("SELECT wal_sync FROM pg_stat_wal").fetchone()
    assert commits is not None and syncs is not None
    return int(commits[0] or 0), int(syncs[0] or 0)


def redis_cpu_s(redis_url: str) -> float:
    """CPU seconds of the Redis server(s) (``INFO cpu``: used_cpu_user + used_cpu_sys, summed over every
    master of a cluster)."""
    from infra.redis_client import each_server, redis_client_from_url

    client = redis_client_from_url(redis_url)
    try:
        infos = [server.info("cpu") for server in each_server(client)]
    finally:
        client.close()
    return sum(float(info["used_cpu_user"]) + float(info["used_cpu_sys"]) for info in infos)


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds of each part at one moment (servers absent on the embedded backend: 0)."""

    process_s: float
    postgres_s: float
    redis_s: float
    wall_s: float


def sample(postgres_url: str | None, redis_url: str | None) -> CpuSample:
    """CPU seconds so far of this process and of the given servers."""
    times = os.times()
    return CpuSample(
        process_s=times.user + times.system,
        postgres_s=postgres_cpu_s(postgres_url) if postgres_url else 0.0,
        redis_s=redis_cpu_s(redis_url) if redis_url else 0.0,
        wall_s=time.monotonic(),
    )


def cpu_ms_per_order(
    before: CpuSample, after: CpuSample, orders: int, *, extra_process_s: float = 0.0
) -> dict[str, float]:
    """CPU ms per order of each part between two samples (``extra_process_s``: other service processes)."""
    if orders <= 0:
        return {}
    parts = {
        "python": after.process_s - before.process_s + extra_process_s,
        "postgres": after.postgres_s - before.postgres_s,
        "redis": after.redis_s - before.redis_s,
    }
    result = {name: round(seconds * 1000.0 / orders, 3) for name, seconds in parts.items()}
    result["total"] = round(sum(parts.values()) * 1000.0 / orders, 3)
    return result


def loadavg() -> str:
    """``/proc/loadavg`` as read at the moment (the machine is shared: record it beside each figure)."""
    return Path("/proc/loadavg").read_text().strip()
