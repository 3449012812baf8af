"""A limit on tracking-link misses per client address, against guessing tokens.

A token has 192 random bits, so guessing cannot work; the limit keeps a scanner from even trying at
volume. A client that asked for ``limit`` unknown tokens within ``window_s`` is answered 429 (with
``Retry-After``) on every tracking request, hits included, until its misses age out of the window: a
guesser cannot tell a hit from a miss meanwhile. Successful look-ups never count.

Two stores behind one small interface: in-process (a sliding window per address; the embedded default)
and Redis (a counter per address and fixed window, shared by every API process) when Redis is configured.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from infra.redis_client import RedisClient

#: Addresses remembered at most by the in-process limiter (the oldest are forgotten beyond it).
MAX_CLIENTS = 100_000


class MissLimiter(Protocol):
    """Counts a client's misses and says how long it must wait (None: it may ask)."""

    def retry_after_s(self, client: str) -> int | None: ...

    def record_miss(self, client: str) -> None: ...


class InProcessMissLimiter:
    """Sliding window of miss times per client address, in this process."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._misses: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float] | None:
        misses = self._misses.get(client)
        if misses is None:
            return None
        while misses and misses[0] <= now - self.window_s:
            misses.popleft()
        if not misses:
            del self._misses[client]
            return None
        return misses

    def retry_after_s(self, client: str) -> int | None:
        """Seconds until the client's oldest counted miss leaves the window, when it has ``limit`` of them."""
        with self._lock:
            now = self._clock()
            misses = self._recent(client, now)
            if misses is None or len(misses) < self.limit:
                return None
            return max(1, math.ceil(misses[-self.limit] + self.window_s - now))

    def record_miss(self, client: str) -> None:
        """Count one miss of ``client`` now."""
        with self._lock:
            now = self._clock()
            misses = self._recent(client, now)
            if misses is None:
                if len(self._misses) >= MAX_CLIENTS:
                    self._misses.pop(next(iter(self._misses)))  # the longest-known address
                misses = self._misses[client] = deque()
            misses.append(now)
            while len(misses) > self.limit:
                misses.popleft()


class RedisMissLimiter:
    """A miss counter per client address and fixed window in Redis (``INCR`` + ``EXPIRE``), shared by
    every process; a client may get up to twice ``limit`` misses across a window boundary."""

    def __init__(
        self,
        client: RedisClient,
        limit: int,
        window_s: float,
        clock: Callable[[], float] = time.time,
        prefix: str = "dispatch:track-miss",
    ) -> None:
        self.redis = client
        self.prefix = prefix
        self.limit = limit
        self.window_s = window_s
        self._clock = clock

    def _key(self, client: str, now: float) -> tuple[str, float]:
        window = math.floor(now / self.window_s)
        return f"{self.prefix}:{client}:{window}", (window + 1) * self.window_s

    def retry_after_s(self, client: str) -> int | None:
        """Seconds until the current window ends, when the client has ``limit`` misses in it."""
        now = self._clock()
        key, ends_at = self._key(client, now)
        count = self.redis.get(key)
        if count is None or int(count) < self.limit:  # type: ignore[arg-type]
            return None
        return max(1, math.ceil(ends_at - now))

    def record_miss(self, client: str) -> None:
        """Count one miss of ``client`` in the current window."""
        key, _ends_at = self._key(client, self._clock())
        pipe = self.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, math.ceil(self.window_s) + 1)
        pipe.execute()


def build_miss_limiter(
    client: RedisClient | None, *, limit: int, window_s: float, prefix: str = "dispatch:track-miss"
) -> MissLimiter:
    """Redis-backed when Redis is configured (every process counts together), in-process otherwise."""
    if client is not None:
        return RedisMissLimiter(client, limit, window_s, prefix=prefix)
    return InProcessMissLimiter(limit, window_s)
