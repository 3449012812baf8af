"""The pages ``dispatch bench ui`` times: one table, so that a page added to the console is one line here.

A path may name ``{order_id}`` and ``{tracking_token}`` (a different generated order each request),
``{week_ago}`` and ``{now}`` (RFC 3339, URL-encoded). ``auth``: ``bearer`` (the admin's API token),
``console`` (the admin logged in to the console: its session cookie) or ``public`` (no credentials).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Auth = Literal["bearer", "console", "public"]


@dataclass(frozen=True)
class BenchPage:
    """A page or the JSON behind it: its name in the figures, its path and how it is reached."""

    name: str
    path: str
    auth: Auth


#: Every page timed: the console's pages (HTML, ``console``), the JSON behind them, and the tracking page.
PAGES: tuple[BenchPage, ...] = (
    # The console's pages as a dispatcher opens them.
    BenchPage("console_orders", "/console/orders", "console"),
    BenchPage("console_order_detail", "/console/orders/{order_id}", "console"),
    BenchPage("console_exception_inbox", "/console/exceptions", "console"),
    BenchPage("console_analytics", "/console/analytics", "console"),
    BenchPage("console_root_causes", "/console/analytics/root-causes", "console"),
    # Order list, order detail, exception inbox: the JSON the console's pages show.
    BenchPage("orders_list_json", "/v1/orders?order=desc&limit=50", "bearer"),
    BenchPage("orders_list_filtered_json", "/v1/orders?status=on_hold,allocated&order=desc&limit=50", "bearer"),
    BenchPage("order_detail_json", "/v1/orders/{order_id}", "bearer"),
    BenchPage("exception_inbox_json", "/v1/exceptions?status=open&order=desc&limit=50", "bearer"),
    # The live map: the page and its JSON.
    BenchPage("map_page", "/console/map", "console"),
    BenchPage("map_carriers_json", "/v1/map/carriers", "bearer"),
    BenchPage("map_orders_json", "/v1/map/orders", "bearer"),
    BenchPage("map_heat_demand_json", "/v1/map/heat?kind=demand&resolution=7", "bearer"),
    BenchPage("map_heat_late_json", "/v1/map/heat?kind=late&resolution=7", "bearer"),
    BenchPage("map_basemap_json", "/v1/map/basemap", "bearer"),
    # Every /v1/analytics endpoint, over the last week.
    BenchPage("analytics_stage_timings_json", "/v1/analytics/stage-timings?from={week_ago}&to={now}", "bearer"),
    BenchPage("analytics_funnel_json", "/v1/analytics/funnel?from={week_ago}&to={now}", "bearer"),
    BenchPage("analytics_root_causes_json", "/v1/analytics/root-causes?from={week_ago}&to={now}", "bearer"),
    BenchPage(
        "analytics_root_cause_orders_json", "/v1/analytics/root-causes/orders?from={week_ago}&to={now}", "bearer"
    ),
    BenchPage("analytics_root_cause_taxonomy_json", "/v1/analytics/root-cause-taxonomy", "bearer"),
    # The customer's tracking page (HTML, no login).
    BenchPage("tracking_page", "/track/{tracking_token}", "public"),
)
