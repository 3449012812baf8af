"""Bearer-token authentication and role checks, as FastAPI dependencies.

The admin token from the environment (or generated at start) is checked in memory; other tokens are
looked up by hash and cached briefly so that auth costs no database round trip on the hot path.
"""

from __future__ import annotations

import hmac
import time
from collections import OrderedDict
from collections.abc import Callable
from threading import Lock

from fastapi import Depends, Request
from starlette.exceptions import HTTPException

from api.deps import get_container
from api.tokens import Principal, hash_token, lookup_principal
from foundation.errors import DispatchError

CACHE_TTL_S = 30.0
MAX_PRINCIPALS = 10_000
MAX_MISSES = 2_000


class Unauthenticated(DispatchError):
    """No usable bearer token."""

    code = "unauthenticated"
    http_status = 401


class Forbidden(DispatchError):
    """The token is valid but its role may not call this endpoint."""

    code = "forbidden"
    http_status = 403


class _LruTtl:
    """A bounded map with a per-entry deadline, evicting the least recently used entry when full."""

    def __init__(self, max_entries: int, ttl_s: float) -> None:
        self._max_entries = max_entries
        self._ttl_s = ttl_s
        self._entries: OrderedDict[str, tuple[float, Principal | None]] = OrderedDict()

    def get(self, key: str) -> tuple[bool, Principal | None]:
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        if entry[0] < time.monotonic():
            del self._entries[key]
            return False, None
        self._entries.move_to_end(key)
        return True, entry[1]

    def put(self, key: str, value: Principal | None) -> None:
        self._entries[key] = (time.monotonic() + self._ttl_s, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def discard(self, key: str) -> None:
        self._entries.pop(key, None)

    def keys(self) -> list[str]:
        """Keys from least to most recently used (for tests and diagnostics)."""
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


class PrincipalCache:
    """Token-hash -> principal for a short time; revocations take effect within the TTL.

    Known tokens and unknown ones live in two separate LRU maps, each bounded: a flood of random tokens
    churns only the (smaller) miss map and can never evict a valid principal.
    """

    def __init__(
        self, ttl_s: float = CACHE_TTL_S, max_principals: int = MAX_PRINCIPALS, max_misses: int = MAX_MISSES
    ) -> None:
        self._hits = _LruTtl(max_principals, ttl_s)
        self._misses = _LruTtl(max_misses, ttl_s)
        self._lock = Lock()

    def get(self, token_hash: str) -> tuple[bool, Principal | None]:
        with self._lock:
            cached, principal = self._hits.get(token_hash)
            if cached:
                return True, principal
            return self._misses.get(token_hash)

    def put(self, token_hash: str, principal: Principal | None) -> None:
        with self._lock:
            if principal is None:
                self._hits.discard(token_hash)
                self._misses.put(token_hash, None)
            else:
                self._misses.discard(token_hash)
                self._hits.put(token_hash, principal)

    @property
    def principals(self) -> _LruTtl:
        return self._hits

    @property
    def misses(self) -> _LruTtl:
        return self._misses


def authenticate(request: Request) -> Principal:
    """Resolve the bearer token of a request to a principal, or raise 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("missing bearer token: send 'Authorization: Bearer <token>'")
    principal = principal_for_token(request, token.strip())
    request.state.principal = principal
    return principal


def principal_for_token(request: Request, token: str) -> Principal:
    """The principal of a bearer token presented by ``request``'s client, or 401 (429 while that client is
    locked out for guessing); the console checks the token of its cookie with this same lookup."""
    container = get_container(request)
    # Against token guessing: a client that presented too many unknown tokens waits, whatever it sends now
    # (a guesser cannot tell a hit meanwhile). A missing token is not a guess and is not counted.
    client = request.client.host if request.client is not None else "unknown"
    wait_s = container.auth_failures.retry_after_s(client)
    if wait_s is not None:
        raise HTTPException(
            429, f"too many failed authentications; retry in {wait_s} s", headers={"Retry-After": str(wait_s)}
        )
    if hmac.compare_digest(hash_token(token), container.admin_token_hash):
        return Principal(role="admin", subject=None, token_id="admin")
    token_hash = hash_token(token)
    cached, principal = container.principal_cache.get(token_hash)
    if not cached:
        principal = lookup_principal(container.uow, token)
        container.principal_cache.put(token_hash, principal)
    if principal is None:
        container.auth_failures.record_miss(client)
        raise Unauthenticated("invalid or revoked token")
    return principal


def require_roles(*roles: str) -> Callable[..., Principal]:
    """A dependency that admits admin and the named roles, answering 403 for any other role."""
    allowed = frozenset(roles) | {"admin"}

    def dependency(request: Request, principal: Principal = Depends(authenticate)) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(
                f"role {principal.role!r} may not call this endpoint (allowed: {', '.join(sorted(allowed))})"
            )
        path_warehouse = request.path_params.get("warehouse_id")
        if isinstance(path_warehouse, str):
            enforce_warehouse_scope(principal, path_warehouse)
        path_carrier = request.path_params.get("carrier_id")
        if isinstance(path_carrier, str):
            enforce_carrier_scope(principal, path_carrier)
        return principal

    return dependency


def warehouse_scope(principal: Principal) -> str | None:
    """The one warehouse a warehouse token whose subject names it may act on; None when unscoped."""
    return principal.subject if principal.role == "warehouse" and principal.subject else None


def enforce_carrier_scope(principal: Principal, carrier_id: str) -> None:
    """Answer 403 when a carrier token names another carrier than its own (before the body is read, so a
    refused request learns nothing about what it sent); every ``{carrier_id}`` route gets this."""
    if principal.role == "carrier" and principal.subject != carrier_id:
        raise Forbidden(f"this carrier token acts for carrier {principal.subject!r}, not {carrier_id!r}")


def enforce_warehouse_scope(principal: Principal, *warehouse_ids: str) -> None:
    """Answer 403 unless a scoped warehouse token's warehouse is among ``warehouse_ids``.

    Every route with a ``{warehouse_id}`` path parameter gets this through ``require_roles``; routers call it
    for warehouses they only learn from the resource (a pick task, a transfer).
    """
    scope = warehouse_scope(principal)
    if scope is not None and scope not in warehouse_ids:
        raise Forbidden(
            f"this token is scoped to warehouse {scope!r} and may not act on warehouse "
            f"{' / '.join(repr(w) for w in warehouse_ids)}"
        )


def scoped_warehouse_filter(principal: Principal, warehouse_id: str | None) -> str | None:
    """The ``warehouse_id`` filter a list endpoint should apply: a scoped token's own warehouse when the
    caller gave none, 403 when it names another, the caller's filter unchanged for unscoped tokens."""
    scope = warehouse_scope(principal)
    if scope is None:
        return warehouse_id
    if warehouse_id is not None:
        enforce_warehouse_scope(principal, warehouse_id)
    return scope
