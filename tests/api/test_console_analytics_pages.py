"""The console's Analytics pages over HTTP (both backends): what a role sees, a warehouse token's scope,
the drill-down's orders and its paging, and bad input as an HTML error page (numbers from the seed)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.analytics.root_cause_seed import SeededException, expected_counts, expected_orders, seed

from .console_support import bearer, login
from .factories import ADMIN_TOKEN, make_token

WEEK = {"from": "2026-03-01", "to": "2026-03-07"}
ROW = re.compile(r'<tr><th scope="row"><a href="([^"]+)">([^<]+)</a></th><td class="n">(\d+)</td>')
ORDER = re.compile(r'<a href="/console/orders/(ord_seed\d+)">')
NEXT = re.compile(r'<a class="button secondary" href="([^"]+)" rel="next">')


@pytest.fixture
def seeded(database_url: str, client: TestClient) -> list[SeededException]:
    return seed(database_url, timelines=True)


def _bars(html: str) -> dict[str, tuple[str, int]]:
    return {label: (url.replace("&amp;", "&"), int(n)) for url, label, n in ROW.findall(html)}


def test_a_dispatcher_sees_the_pareto_and_each_bar_links_to_its_orders(
    client: TestClient, seeded: list[SeededException]
) -> None:
    assert login(client, bearer(make_token(client, "dispatcher")))[0] == 303
    page = client.get("/console/analytics/root-causes", params={**WEEK, "by": "customer"})
    assert page.status_code == 200 and 'id="chart-pareto"' in page.text
    assert "/console/static/vendor/plotly.min.js" in page.text
    bars = _bars(page.text)
    assert {label: n for label, (_, n) in bars.items()} == {
        k: v[0] for k, v in expected_counts(seeded, "customer").items()
    }
    url, _ = bars["C2"]
    listed: set[str] = set()
    while url:
        drill = client.get(url + "&limit=4")
        assert drill.status_code == 200
        listed |= set(ORDER.findall(drill.text))
        found = NEXT.search(drill.text)
        url = found.group(1).replace("&amp;", "&") if found else ""
        url = re.sub(r"&limit=\d+", "", url)
    assert listed == expected_orders(seeded, "customer", "C2")


def test_a_warehouse_token_sees_its_warehouse_only_and_no_stage_timings(
    client: TestClient, seeded: list[SeededException]
) -> None:
    assert login(client, bearer(make_token(client, "warehouse", "W1")))[0] == 303
    page = client.get("/console/analytics/root-causes", params={**WEEK, "by": "warehouse"})
    assert page.status_code == 200
    assert {label: n for label, (_, n) in _bars(page.text).items()} == {
        "W1": expected_counts(seeded, "warehouse", scope="W1")["W1"][0]
    }
    assert client.get("/console/analytics", params=WEEK).status_code == 403


def test_stage_timings_page_shows_the_funnel_of_the_seed(client: TestClient, seeded: list[SeededException]) -> None:
    login(client, ADMIN_TOKEN)
    page = client.get("/console/analytics", params={"from": "2026-02-27", "to": "2026-03-07"})
    assert page.status_code == 200
    assert '<strong id="orders-count">60</strong>' in page.text
    assert '<tr><th scope="row">placed</th><td class="n">60</td></tr>' in page.text


@pytest.mark.parametrize(
    "params",
    [{**WEEK, "cause": "gremlins"}, {"from": "2026-03-07", "to": "2026-03-01"}, {"from": "March"}, {"by": "planet"}],
)
def test_bad_input_is_an_html_422_page(client: TestClient, params: dict[str, str]) -> None:
    login(client, ADMIN_TOKEN)
    answer = client.get("/console/analytics/root-causes", params=params)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")


def test_without_a_session_the_pages_send_to_the_login(client: TestClient) -> None:
    for path in ("/console/analytics", "/console/analytics/root-causes", "/console/analytics/root-causes/orders"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login")
