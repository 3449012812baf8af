"""Log in (paste an API token), log out, and the console's front door."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.exceptions import HTTPException

from api.auth import Unauthenticated, principal_for_token
from api.console.layout import console_headers, navigation, render_page
from api.console.session import (
    LOGIN_PATH,
    PRELOGIN_COOKIE,
    console_role_refusal,
    console_user,
    end_session,
    ensure_prelogin_cookie,
    safe_next,
    start_session,
)
from api.tokens import Principal

router = APIRouter()


def _login_page(request: Request, next_path: str, *, error: str | None = None, status_code: int = 200) -> Response:
    return render_page(
        request,
        "login.html",
        title="Log in",
        principal=None,
        context={"next_path": safe_next(next_path), "error": error},
        status_code=status_code,
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None) -> Response:
    """The login form: the user pastes an API token of a staff role."""
    response = Response()
    ensure_prelogin_cookie(request, response)
    page = _login_page(request, next or "/console")
    for name, value in response.headers.items():
        if name == "set-cookie":
            page.headers.append(name, value)
    return page


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    token: Annotated[str, Form(max_length=512)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/console",
) -> Response:
    """Check the pasted token with the API's own principal lookup and keep it in the session cookie."""
    token = token.strip()
    request.state.csrf_binding = request.cookies.get(PRELOGIN_COOKIE)
    if not token:
        return _login_page(request, next, error="Paste your API token.", status_code=400)
    try:
        principal = principal_for_token(request, token)
    except Unauthenticated:
        return _login_page(request, next, error="This token is not valid or was revoked.", status_code=401)
    except HTTPException as refused:
        page = _login_page(request, next, error=str(refused.detail), status_code=refused.status_code)
        page.headers.update(refused.headers or {})
        return page
    refusal = console_role_refusal(principal)
    if refusal:
        return _login_page(request, next, error=refusal[0].upper() + refusal[1:] + ".", status_code=403)
    response = RedirectResponse(safe_next(next), status_code=303, headers=console_headers())
    start_session(request, response, token)
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the session (the form is CSRF-checked like every console POST)."""
    response = RedirectResponse(LOGIN_PATH, status_code=303, headers=console_headers())
    end_session(request, response)
    return response


@router.get("/")
def home(principal: Principal = Depends(console_user)) -> Response:
    """The console's front door: the first section the user may see."""
    sections = navigation(principal, None)
    target = sections[0].href if sections else "/console/account"
    return RedirectResponse(target, status_code=303, headers=console_headers())


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, principal: Principal = Depends(console_user)) -> Response:
    """Who is logged in (role, token id, warehouse scope) and the logout button."""
    return render_page(request, "account.html", title="Your session", principal=principal)
