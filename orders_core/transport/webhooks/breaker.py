"""Per-endpoint circuit breaker: an endpoint that keeps failing is left alone for a while, so its
deliveries stop taking the worker's sends and time from every other carrier's."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class _State:
    failures: int = 0
    open_until: float = 0.0
    open_s: float = 0.0


class CircuitBreaker:
    """Closed (send freely) -> open after ``failures`` failures in a row (send nothing for ``open_s``,
    doubling up to ``max_open_s`` while it keeps failing) -> half-open (one probe at a time) -> closed
    on the first success. Times are ``time.monotonic()`` seconds; one worker's memory, not shared."""

    def __init__(self, failures: int, open_s: float, max_open_s: float) -> None:
        self._threshold = failures
        self._base_open_s = open_s
        self._max_open_s = max_open_s
        self._states: dict[str, _State] = {}

    def capacity(self, key: str, now: float, full: int) -> int:
        """How many sends ``key`` may have in flight: ``full`` closed, 1 half-open, 0 open."""
        state = self._states.get(key)
        if state is None or state.failures < self._threshold:
            return full
        return 0 if now < state.open_until else 1

    def open_keys(self, now: float) -> list[str]:
        """Endpoints that must not be sent to now."""
        return [key for key, s in self._states.items() if s.failures >= self._threshold and now < s.open_until]

    def tripped_keys(self) -> list[str]:
        """Endpoints whose breaker is open or half-open (their sends are limited)."""
        return [key for key, s in self._states.items() if s.failures >= self._threshold]

    def open_until(self, key: str) -> float:
        """When ``key``'s breaker half-opens (0 when closed)."""
        state = self._states.get(key)
        return 0.0 if state is None else state.open_until

    def record(self, key: str, ok: bool, now: float) -> bool:
        """Count one send's result; answers True when this failure (re)opened the breaker."""
        if ok:
            self._states.pop(key, None)
            return False
        state = self._states.setdefault(key, _State())
        state.failures += 1
        if state.failures < self._threshold or now < state.open_until:
            return False
        state.open_s = self._base_open_s if state.open_s == 0 else min(state.open_s * 2, self._max_open_s)
        state.open_until = now + state.open_s
        return True
