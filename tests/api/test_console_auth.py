"""The console's login, session cookie, role checks and CSRF protection (api/console/session.py)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from .console_support import CSRF, bearer, login, page_csrf
from .factories import ADMIN_TOKEN, make_token


def test_login_sets_an_httponly_strict_cookie_scoped_to_the_console(client: TestClient) -> None:
    status, location = login(client, ADMIN_TOKEN, "/console/account")
    assert (status, location) == (303, "/console/account")
    cookie = next(c for c in client.cookies.jar if c.name == "dispatch_console")
    assert cookie.value == ADMIN_TOKEN
    assert cookie.path == "/console"
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert (cookie.get_nonstandard_attr("SameSite") or "").lower() == "strict"
    assert not cookie.secure  # plain http here; https requests get Secure
    page = client.get("/console/account")
    assert page.status_code == 200
    assert "admin" in page.text and 'lang="en"' in page.text


def test_https_login_marks_the_cookie_secure(client: TestClient) -> None:
    secure = TestClient(client.app, base_url="https://testserver")
    with secure:
        form = secure.get("/console/login")
        csrf = CSRF.search(form.text)
        assert csrf
        answer = secure.post(
            "/console/login", data={"token": ADMIN_TOKEN, "csrf_token": csrf.group(1)}, follow_redirects=False
        )
    assert answer.status_code == 303
    set_cookie = [v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith("dispatch_console=")]
    assert set_cookie and "Secure" in set_cookie[0] and "HttpOnly" in set_cookie[0]


def test_without_a_cookie_console_pages_redirect_to_login(client: TestClient) -> None:
    answer = client.get("/console/account", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=%2Fconsole%2Faccount"


def test_a_revoked_or_unknown_cookie_redirects_to_login(client: TestClient) -> None:
    client.cookies.set("dispatch_console", "dsp_not-a-token", path="/console")
    answer = client.get("/console/account", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login")


def test_carrier_and_customer_tokens_are_refused_at_login(client: TestClient) -> None:
    carrier = bearer(make_token(client, "carrier", "car-1"))
    status, _ = login(client, carrier)
    assert status == 403
    assert "dispatch_console" not in client.cookies
    assert client.get("/console/account", follow_redirects=False).status_code == 303


def test_a_carrier_cookie_planted_by_hand_is_refused_on_every_page(client: TestClient) -> None:
    carrier = bearer(make_token(client, "carrier", "car-1"))
    client.cookies.set("dispatch_console", carrier, path="/console")
    answer = client.get("/console/account", follow_redirects=False)
    assert answer.status_code == 403
    assert "text/html" in answer.headers["content-type"]


def test_an_invalid_token_at_login_sets_no_cookie(client: TestClient) -> None:
    status, _ = login(client, "dsp_wrong")
    assert status == 401
    assert "dispatch_console" not in client.cookies


def test_login_without_its_csrf_token_is_refused(client: TestClient) -> None:
    client.get("/console/login")
    answer = client.post("/console/login", data={"token": ADMIN_TOKEN}, follow_redirects=False)
    assert answer.status_code == 403
    assert "dispatch_console" not in client.cookies


def test_logout_needs_the_sessions_csrf_token_and_clears_the_cookie(client: TestClient) -> None:
    login(client, ADMIN_TOKEN)
    refused = client.post("/console/logout", data={"csrf_token": "0" * 64}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/console/account", follow_redirects=False).status_code == 200
    done = client.post("/console/logout", data={"csrf_token": page_csrf(client)}, follow_redirects=False)
    assert done.status_code == 303
    assert client.get("/console/account", follow_redirects=False).status_code == 303


def test_a_post_from_another_origin_is_refused_even_with_the_right_token(client: TestClient) -> None:
    login(client, ADMIN_TOKEN)
    token = page_csrf(client)
    for headers in ({"Origin": "https://evil.example"}, {"Origin": "null"}, {"Referer": "https://evil.example/x"}):
        refused = client.post("/console/logout", data={"csrf_token": token}, headers=headers, follow_redirects=False)
        assert refused.status_code == 403, headers
    assert client.get("/console/account", follow_redirects=False).status_code == 200
    same = client.post(
        "/console/logout", data={"csrf_token": token}, headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert same.status_code == 303


def test_the_next_parameter_cannot_redirect_off_the_console(client: TestClient) -> None:
    _, location = login(client, ADMIN_TOKEN, "https://evil.example/")
    assert location == "/console"


def test_console_pages_carry_their_own_security_headers(client: TestClient) -> None:
    login(client, ADMIN_TOKEN)
    page = client.get("/console/account")
    assert "form-action 'self'" in page.headers["content-security-policy"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "same-origin"


def test_plotly_is_served_from_the_installed_wheel(client: TestClient) -> None:
    import plotly

    answer = client.get("/console/static/vendor/plotly.min.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/javascript")
    assert f"v{plotly.__version__}" in answer.text[:2000] or len(answer.content) > 1_000_000
    assert client.get("/static/vendor/leaflet/leaflet.js").status_code == 200
    assert client.get("/console/static/console.css").status_code == 200


def test_console_routes_stay_out_of_the_api_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/console")]


def test_guessing_tokens_at_the_login_form_locks_the_client_out(make_client: Callable[..., TestClient]) -> None:
    client = make_client(auth={"failure_limit": 3, "failure_window_s": 60})
    for _ in range(3):
        assert login(client, "dsp_guess")[0] == 401
    status, _ = login(client, ADMIN_TOKEN)
    assert status == 429  # even the right token waits: a guesser learns nothing meanwhile
    assert "dispatch_console" not in client.cookies
