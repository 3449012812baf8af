"""The tracking-link miss limiter, in-process and in Redis: a client is told to wait once it has missed
``limit`` times within the window, for as long as it takes its misses to age out; clients are apart."""

from __future__ import annotations

from api.tracking_guard import InProcessMissLimiter, MissLimiter, RedisMissLimiter
from infra.redis_client import redis_client_from_url


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _exercise(limiter: MissLimiter, clock: Clock, window_end: float) -> None:
    for _ in range(3):
        assert limiter.retry_after_s("1.2.3.4") is None
        limiter.record_miss("1.2.3.4")
    wait = limiter.retry_after_s("1.2.3.4")
    assert wait is not None and 1 <= wait <= 60
    assert limiter.retry_after_s("5.6.7.8") is None  # another address is not affected
    clock.now = window_end + 0.5
    assert limiter.retry_after_s("1.2.3.4") is None


def test_in_process_limit_slides_with_the_oldest_miss() -> None:
    clock = Clock(1000.0)
    limiter = InProcessMissLimiter(limit=3, window_s=60, clock=clock)
    limiter.record_miss("a")
    clock.now = 1030.0
    limiter.record_miss("a")
    limiter.record_miss("a")
    assert limiter.retry_after_s("a") == 30  # the first miss leaves the window at 1060
    clock.now = 1060.5
    assert limiter.retry_after_s("a") is None
    limiter.record_miss("a")
    assert limiter.retry_after_s("a") == 30  # the misses at 1030 leave at 1090
    clock.now = 2000.0
    _exercise(limiter, clock, window_end=2060.0)


def test_redis_limit_counts_per_window_across_processes(fresh_redis_or_cluster_url: str) -> None:
    client = redis_client_from_url(fresh_redis_or_cluster_url)
    clock = Clock(6000.0)  # a window starts at 6000 (a multiple of 60)
    one, other = (RedisMissLimiter(client, limit=3, window_s=60, clock=clock) for _ in range(2))
    one.record_miss("1.2.3.4")
    other.record_miss("1.2.3.4")
    assert one.retry_after_s("1.2.3.4") is None
    other.record_miss("1.2.3.4")
    assert one.retry_after_s("1.2.3.4") == 60  # two processes counted together
    assert 0 < client.ttl("dispatch:track-miss:1.2.3.4:100") <= 61  # type: ignore[operator]
    clock.now = 7000.0
    _exercise(one, clock, window_end=7020.0)
    client.close()
