"""The principal cache: LRU per kind, misses kept apart so random-token spam cannot evict valid tokens."""

from __future__ import annotations

import secrets
import time

from api.auth import PrincipalCache
from api.tokens import Principal, hash_token


def _principal(n: int) -> Principal:
    return Principal(role="carrier", subject=f"CAR-{n}", token_id=f"tok-{n}")


def test_least_recently_used_principal_is_evicted_first() -> None:
    cache = PrincipalCache(max_principals=3, max_misses=2)
    for n in range(3):
        cache.put(f"h{n}", _principal(n))
    assert cache.get("h0") == (True, _principal(0))  # h0 is now the most recent; h1 the least
    cache.put("h3", _principal(3))
    assert cache.get("h1") == (False, None)
    assert cache.principals.keys() == ["h2", "h0", "h3"]
    assert len(cache.principals) == 3


def test_misses_are_bounded_lru_too() -> None:
    cache = PrincipalCache(max_principals=3, max_misses=2)
    cache.put("m0", None)
    cache.put("m1", None)
    assert cache.get("m0") == (True, None)
    cache.put("m2", None)
    assert cache.misses.keys() == ["m0", "m2"]
    assert cache.get("m1") == (False, None)


def test_twenty_thousand_random_bad_tokens_leave_the_valid_token_cached() -> None:
    cache = PrincipalCache()
    valid_hash = hash_token("dsp_valid")
    valid = _principal(1)
    lookups = 0

    def authenticate(token_hash: str, known: Principal | None) -> Principal | None:
        """What api.auth.authenticate does: the cache first, the store (counted) on a miss."""
        nonlocal lookups
        cached, principal = cache.get(token_hash)
        if not cached:
            lookups += 1
            principal = known
            cache.put(token_hash, principal)
        return principal

    assert authenticate(valid_hash, valid) == valid
    for _ in range(20_000):
        assert authenticate(hash_token(secrets.token_hex(16)), None) is None
        assert authenticate(valid_hash, valid) == valid
    assert lookups == 1 + 20_000  # one for the valid token, one per distinct bad token, none repeated
    assert cache.get(valid_hash) == (True, valid)
    assert len(cache.principals) == 1
    assert len(cache.misses) == 2_000  # bounded, not wiped wholesale


def test_bad_tokens_alone_never_evict_valid_principals_even_when_not_used_meanwhile() -> None:
    cache = PrincipalCache(max_principals=10, max_misses=5)
    for n in range(10):
        cache.put(f"h{n}", _principal(n))
    for _ in range(20_000):
        cache.put(secrets.token_hex(8), None)
    assert all(cache.get(f"h{n}") == (True, _principal(n)) for n in range(10))
    assert len(cache.misses) == 5


def test_entries_expire_after_the_ttl_so_revocation_takes_effect() -> None:
    cache = PrincipalCache(ttl_s=0.05)
    cache.put("h", _principal(1))
    cache.put("m", None)
    assert cache.get("h") == (True, _principal(1))
    time.sleep(0.08)
    assert cache.get("h") == (False, None)
    assert cache.get("m") == (False, None)
    assert len(cache.principals) == 0 and len(cache.misses) == 0


def test_a_token_that_becomes_known_leaves_the_miss_map_and_vice_versa() -> None:
    cache = PrincipalCache()
    cache.put("h", None)
    cache.put("h", _principal(1))
    assert cache.get("h") == (True, _principal(1))
    assert len(cache.misses) == 0
    cache.put("h", None)
    assert cache.get("h") == (True, None)
    assert len(cache.principals) == 0
