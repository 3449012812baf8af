"""Who is using the console: the login cookie, role checks and CSRF protection of every console form.

The session is the API bearer token the user pasted at login, kept in an HttpOnly, SameSite=Strict cookie
(Secure on https) whose path is ``/console``; it is checked on every request with the same principal lookup
as ``Authorization: Bearer`` (``api.auth.principal_for_token``: cache, revocation, lock-out of guessers).
Only staff roles may use the console (admin, dispatcher, warehouse); a warehouse token whose subject names
a warehouse sees that warehouse alone (``api.auth`` scoping).

CSRF: every console POST carries ``csrf_token``, an HMAC of the session cookie under a server secret
(``Settings.console.secret``, else derived from the payment secret): an attacker's page can neither read the
HttpOnly cookie nor compute the token. The login form, which has no session yet, is bound the same way to a
random pre-login cookie. Every POST must also come from the console's own origin: an ``Origin`` header (or,
without one, a ``Referer``) naming another host, or ``Origin: null``, is refused. A refused POST is a 403
page and changes nothing: the check runs as a dependency of the console's root router, before any handler.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response

from api.auth import Forbidden, enforce_warehouse_scope, principal_for_token
from api.deps import get_container
from api.tokens import Principal
from foundation.errors import DispatchError

SESSION_COOKIE = "dispatch_console"
PRELOGIN_COOKIE = "dispatch_console_login"
COOKIE_PATH = "/console"
LOGIN_PATH = "/console/login"
CSRF_FIELD = "csrf_token"
SESSION_MAX_AGE_S = 12 * 3600
#: The roles that may use the console at all (admin always may).
CONSOLE_ROLES = frozenset({"admin", "dispatcher", "warehouse"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class LoginRequired(Exception):
    """No usable console session: the handler answers a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRefused(DispatchError):
    """A console form without the session's CSRF token, or posted from another origin."""

    code = "csrf_refused"
    http_status = 403


def _secret(request: Request) -> bytes:
    settings = get_container(request).settings
    if settings.console.secret:
        return settings.console.secret.encode()
    return hashlib.sha256(b"dispatch-console-csrf\0" + settings.payment_secret.encode()).digest()


def csrf_token_for(request: Request, bound_to: str) -> str:
    """The CSRF token of the session (or pre-login) cookie value ``bound_to``."""
    return hmac.new(_secret(request), b"csrf\0" + bound_to.encode(), hashlib.sha256).hexdigest()


def _binding_cookie(request: Request) -> str | None:
    """The cookie a POST to this path must be bound to: the pre-login cookie for the login form, else the
    session."""
    if request.url.path == LOGIN_PATH:
        return request.cookies.get(PRELOGIN_COOKIE)
    return request.cookies.get(SESSION_COOKIE)


def csrf_token(request: Request) -> str:
    """The token the forms of this page must carry (empty when there is nothing to bind it to)."""
    bound_to = getattr(request.state, "csrf_binding", None) or _binding_cookie(request)
    return csrf_token_for(request, bound_to) if bound_to else ""


def is_same_origin(request: Request) -> bool:
    """False when the request names another origin than the host it was sent to.

    Browsers send ``Origin`` on every POST (the console's pages set ``Referrer-Policy: same-origin``, under
    which a same-origin form is not sent as ``Origin: null``). A client that sends neither header is not a
    browser driven by another site; the CSRF token still binds its form to its session.
    """
    host = request.headers.get("host", "")
    origin = request.headers.get("origin")
    if origin is not None:
        return origin != "null" and urlsplit(origin).netloc == host
    referer = request.headers.get("referer")
    if referer is not None:
        return urlsplit(referer).netloc == host
    return True


async def check_csrf(request: Request) -> None:
    """Refuse (403) a console POST that is cross-origin or whose ``csrf_token`` is not its session's.

    A dependency of the console's root router, so it guards every console form, present and future.
    """
    if request.method in SAFE_METHODS:
        return
    if not is_same_origin(request):
        raise CsrfRefused("this form was posted from another site; reload the console page and try again")
    bound_to = _binding_cookie(request)
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not bound_to or not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_token_for(request, bound_to)):
        raise CsrfRefused("this form's security token is missing or out of date; reload the page and try again")


def ensure_prelogin_cookie(request: Request, response: Response) -> None:
    """Give a login page's visitor the random cookie the login form's CSRF token is bound to."""
    value = request.cookies.get(PRELOGIN_COOKIE)
    if not value:
        value = secrets.token_urlsafe(24)
        response.set_cookie(
            PRELOGIN_COOKIE, value, httponly=True, samesite="strict", secure=_https(request), path=LOGIN_PATH
        )
    request.state.csrf_binding = value


def _https(request: Request) -> bool:
    return request.url.scheme == "https"


def start_session(request: Request, response: Response, token: str) -> None:
    """Keep ``token`` as the console session: HttpOnly, SameSite=Strict, Secure on https, path /console."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=_https(request),
        path=COOKIE_PATH,
    )
    response.delete_cookie(PRELOGIN_COOKIE, path=LOGIN_PATH)


def end_session(request: Request, response: Response) -> None:
    """Forget the console session (logout, or a token that stopped working)."""
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict", secure=_https(request))


def console_role_refusal(principal: Principal) -> str | None:
    """Why this principal may not use the console at all (carrier and customer tokens), or None."""
    if principal.role in CONSOLE_ROLES:
        return None
    return f"a {principal.role} token cannot use the dispatch console (staff roles only: admin, dispatcher, warehouse)"


def _next_path(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def console_user(request: Request) -> Principal:
    """The console's principal from the session cookie; redirects to login when there is none or it no
    longer works, 403 for a role that may not use the console."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired(_next_path(request))
    try:
        principal = principal_for_token(request, token)
    except DispatchError as refused:  # unknown or revoked: log in again (429 lock-outs propagate)
        raise LoginRequired(_next_path(request)) from refused
    refusal = console_role_refusal(principal)
    if refusal:
        raise Forbidden(refusal)
    request.state.principal = principal
    return principal


def console_roles(*roles: str) -> Callable[..., Principal]:
    """A dependency admitting admin and ``roles`` (403 page otherwise) and, like ``api.auth.require_roles``,
    enforcing a scoped warehouse token's scope on a ``{warehouse_id}`` path parameter."""
    allowed = frozenset(roles) | {"admin"}

    def dependency(request: Request, principal: Principal = Depends(console_user)) -> Principal:
        if principal.role not in allowed:
            raise Forbidden(f"this page is for {', '.join(sorted(allowed))}; your token's role is {principal.role}")
        path_warehouse = request.path_params.get("warehouse_id")
        if isinstance(path_warehouse, str):
            enforce_warehouse_scope(principal, path_warehouse)
        return principal

    return dependency


def safe_next(path: str | None) -> str:
    """Where to go after login: a console path only (no open redirect)."""
    if path and path.startswith("/console") and "\\" not in path and path.isprintable():
        return path
    return "/console"
