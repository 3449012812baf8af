"""Background jobs of one API process: periodic maintenance that must not wait for a request.

Each job is a daemon thread that runs its function every ``interval_s`` and logs failures instead of
dying, so a bad run never stops later ones. Jobs are idempotent (safe when several processes run them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import structlog

log = structlog.get_logger("api.jobs")


class PeriodicJob:
    """Run ``work`` every ``interval_s`` seconds on a daemon thread until ``stop``."""

    def __init__(self, name: str, interval_s: float, work: Callable[[], object]) -> None:
        self.name = name
        self.interval_s = interval_s
        self._work = work
        self._stopped = threading.Event()
        self._woken = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"job-{name}", daemon=True)

    def start(self) -> None:
        """Begin running in the background."""
        self._thread.start()

    def wake(self) -> None:
        """Run as soon as possible instead of waiting out the interval (e.g. new work just committed)."""
        self._woken.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Ask the loop to end and wait briefly for it."""
        self._stopped.set()
        self._woken.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _loop(self) -> None:
        while True:
            self._woken.wait(self.interval_s)
            self._woken.clear()
            if self._stopped.is_set():
                break
            try:
                result = self._work()
                if result:
                    log.info("job_done", job=self.name, result=result)
            except Exception:  # a failed run is logged; the next one still happens
                log.exception("job_failed", job=self.name)
