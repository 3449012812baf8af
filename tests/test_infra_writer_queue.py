"""SQLite writers of one process queue first come, first served, and a lost turn never blocks the rest."""

from __future__ import annotations

import threading
import time

from infra.db import WriterQueue


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
