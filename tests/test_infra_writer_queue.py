"""SQLite writers of one process queue first come, first served, and a lost turn never blocks the rest."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from infra.db import WriterQueue, make_engine


def test_writers_are_served_in_arrival_order() -> None:
    queue = WriterQueue()
    assert queue.acquire()
    served: list[int] = []

    def writer(number: int) -> None:
        assert queue.acquire()
        served.append(number)
        time.sleep(0.001)
        queue.release()

    threads = []
    for number in range(8):
        thread = threading.Thread(target=writer, args=(number,))
        thread.start()
        threads.append(thread)
        time.sleep(0.02)  # arrive one after the other while the first writer still holds the turn
    queue.release()
    for thread in threads:
        thread.join(5)
    assert served == list(range(8))


def test_a_waiter_that_gives_up_is_skipped_when_its_turn_comes() -> None:
    queue = WriterQueue(timeout_s=0.05)
    assert queue.acquire()
    assert not queue.acquire()  # timed out behind the holder
    queue.release()
    started = time.monotonic()
    assert queue.acquire()  # the abandoned ticket does not hold up the next writer
    assert time.monotonic() - started < 0.05


def test_a_failed_begin_hands_the_writer_turn_on(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE can fail (another process holds the write lock past the busy timeout). SQLAlchemy
    then fires the rollback event, which hands the turn on; were that ever lost, every later writer of
    this process would wait out the queue's 30 s timeout."""
    path = tmp_path / "writers.db"
    engine = make_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=50")  # after the engine's own 30 s pragma

    with engine.begin() as conn:  # connect (the WAL pragma needs the lock too) and return to the pool
        conn.exec_driver_sql("CREATE TABLE before (x INTEGER)")
    other_process = sqlite3.connect(path, isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")
    with pytest.raises(OperationalError, match="locked"), engine.begin() as conn:
        conn.exec_driver_sql("SELECT 1")
    other_process.execute("ROLLBACK")
    other_process.close()
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    assert time.perf_counter() - started < 5.0
    engine.dispose()
