"""Bearer-token authentication and role checks, as FastAPI dependencies.

The admin token from the environment (or generated at start) is checked in memory; other tokens are
looked up by hash and cached briefly so that auth costs no database round trip on the hot path.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from threading import Lock

from fastapi import Depends, Request
from starlette.exceptions import HTTPException

from api.deps import get_container
from api.tokens import Principal, hash_token, lookup_principal
from foundation.errors import DispatchError

CACHE_TTL_S = 30.0


class Unauthenticated(DispatchError):
    """No usable bearer token."""

    code = "unauthenticated"
    http_status = 401


class Forbidden(DispatchError):
    """The token is valid but its role may not call this endpoint."""

    code = "forbidden"
    http_status = 403


class PrincipalCache:
    """Token-hash -> principal for a short time; revocations take effect within the TTL."""

    def __init__(self, ttl_s: float = CACHE_TTL_S) -> None:
        self._ttl_s = ttl_s
        self._entries: dict[str, tuple[float, Principal | None]] = {}
        self._lock = Lock()

    def get(self, token_hash: str) -> tuple[bool, Principal | None]:
        with self._lock:
            entry = self._entries.get(token_hash)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, token_hash: str, principal: Principal | None) -> None:
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[token_hash] = (time.monotonic() + self._ttl_s, principal)


def authenticate(request: Request) -> Principal:
    """Resolve the bearer token of a request to a principal, or raise 401."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("missing bearer token: send 'Authorization: Bearer <token>'")
    token = token.strip()
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
    request.state.principal = principal
    return principal


def require_roles(*roles: str) -> Callable[..., Principal]:
    """A dependency that admits admin and the named roles, answering 403 for any other role."""
    allowed = frozenset(roles) | {"admin"}

    def dependency(principal: Principal = Depends(authenticate)) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(
                f"role {principal.role!r} may not call this endpoint (allowed: {', '.join(sorted(allowed))})"
            )
        return principal

    return dependency
