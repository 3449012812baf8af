"""The console's Analytics pages in Debian's Chromium: log in through the console's form, open the stage
timings and the root-cause Pareto, follow a bar to its orders, check WCAG 2.2 AA with axe-core, and take
the screenshots ``console_stage_timings.png`` and ``console_pareto.png``.

The data is the seed of ``tests.analytics.root_cause_seed`` (with timelines), written into the live
server's database; the numbers on the pages are checked against the seed's own count, not the service's.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from tests.analytics.root_cause_seed import SeededException, expected_counts, expected_orders, seed
from tests.api.factories import ADMIN_TOKEN

from .conftest import LiveServer, assert_accessible, screenshot, serve

WEEK = "from=2026-03-01&to=2026-03-07"
#: The seeded orders are placed on 2026-02-27 (exceptions from 03-01): this span holds every timeline.
TIMINGS = "from=2026-02-27&to=2026-03-07"


@pytest.fixture
def seeded_server(sqlite_database_url: str) -> Iterator[tuple[LiveServer, list[SeededException]]]:
    """The live service (migrated at start), then the seed written under it."""
    for server in serve(sqlite_database_url):
        yield server, seed(sqlite_database_url, timelines=True)


def _log_in(page: Page, server: LiveServer, token: str) -> None:
    page.goto(server.url("/console/login"))
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/console/**")


def _table(page: Page, table_id: str) -> dict[str, list[str]]:
    rows = page.locator(f"#{table_id} tbody tr")
    found = {}
    for i in range(rows.count()):
        row = rows.nth(i)
        found[row.locator("th").inner_text().strip()] = [c.strip() for c in row.locator("td").all_inner_texts()]
    return found


def test_analytics_pages_log_in_chart_drill_down_and_are_accessible(
    seeded_server: tuple[LiveServer, list[SeededException]], desk_page: Page
) -> None:
    server, seeded = seeded_server
    page = desk_page
    _log_in(page, server, ADMIN_TOKEN)

    page.goto(server.url(f"/console/analytics?{TIMINGS}"))
    expect(page.get_by_role("heading", name="Stage timings", level=1)).to_be_visible()
    expect(page.locator("#chart-timings .main-svg").first).to_be_visible()
    expect(page.locator("#chart-funnel .main-svg").first).to_be_visible()
    expect(page.locator("#chart-trend .main-svg").first).to_be_visible()
    assert page.locator("#orders-count").inner_text() == "60"
    funnel = _table(page, "table-funnel")
    assert funnel["placed"] == ["60"], "every seeded order is placed in the span"
    trend = _table(page, "table-trend")
    assert {day: cells[0] for day, cells in trend.items()} == {
        f"2026-{day}": "12" for day in ("02-27", "02-28", "03-01", "03-02", "03-03")
    }, "placed every 2 hours from 02-27 00:00: twelve a day for five days"
    assert int(funnel["delivered"][0]) < int(funnel["credit_review"][0])
    assert_accessible(page, context="stage timings")
    screenshot(page, "console_stage_timings")

    page.get_by_role("link", name="Root causes").click()
    page.goto(server.url(f"/console/analytics/root-causes?{WEEK}"))
    expect(page.locator("#chart-pareto .main-svg").first).to_be_visible()
    expected = expected_counts(seeded, "cause")
    shown = _table(page, "table-pareto")
    assert len(shown) == len(expected)
    assert shown["Supplier lead time"][:2] == [str(n) for n in expected["supplier_lead_time"]]
    bars = page.locator("#chart-pareto g.point")
    assert bars.count() >= len(expected), "one bar per cause (and the cumulative line's points)"
    assert_accessible(page, context="Pareto by cause")
    screenshot(page, "console_pareto")

    page.get_by_label("Bars by").select_option("warehouse")
    page.get_by_label("Root cause", exact=True).select_option("supplier_lead_time")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**by=warehouse**")
    expect(page.locator("#chart-pareto .main-svg").first).to_be_visible()
    by_warehouse = expected_counts(seeded, "warehouse", cause="supplier_lead_time")
    assert {k: v[0] for k, v in _table(page, "table-pareto").items()} == {
        (k or "(none)"): str(v[0]) for k, v in by_warehouse.items()
    }
    assert_accessible(page, context="Pareto by warehouse")

    page.locator("#table-pareto tbody tr").first.locator("a").click()
    page.wait_for_url("**/root-causes/orders**")
    key = parse_qs(urlparse(page.url).query, keep_blank_values=True)["warehouse"][0] or None
    listed = set(_table(page, "table-orders"))
    while page.get_by_role("link", name="Next page").count():
        page.get_by_role("link", name="Next page").click()
        listed |= set(_table(page, "table-orders"))
    assert listed == expected_orders(seeded, "warehouse", key, cause="supplier_lead_time")
    assert_accessible(page, context="drill-down")
