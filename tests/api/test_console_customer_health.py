"""The console's customer view: the score with its indicator breakdown table and chart data, the recompute
button (a CSRF-protected form), the list by score, and who may see them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from .factories import ADMIN, ADMIN_TOKEN, make_token, put_master_data
from .test_console_auth import login, page_csrf


def _client(make_client: Callable[..., TestClient]) -> TestClient:
    client = make_client(jobs_interval_s=0)
    put_master_data(
        client,
        warehouses={"W1": {"name": "W1", "location": {"lat": 30.2, "lng": 120.2}}},
        skus={"S1": {"name": "Rice", "unit_price": "10.00", "weight_kg": 1, "volume_m3": 0.001}},
        customers={"C1": {"name": "One", "credit_limit": "1000", "location": {"lat": 30.2, "lng": 120.2}}},
        stock={("W1", "S1"): 100},
    )
    body = {
        "customer_id": "C1",
        "lines": [{"sku": "S1", "qty": 30, "unit_price": "10.00"}],
        "delivery": {"lat": 30.2, "lng": 120.2, "address": "1 Road"},
    }
    assert client.post("/v1/orders", json=body, headers=ADMIN).status_code == 201
    return client


def test_customer_page_shows_the_score_and_its_breakdown(make_client: Callable[..., TestClient]) -> None:
    client = _client(make_client)
    assert login(client, ADMIN_TOKEN)[0] == 303
    before = client.get("/console/customers/C1")
    assert before.status_code == 200 and "has not been computed yet" in before.text
    csrf = page_csrf(client, "/console/customers/C1")
    # Without the CSRF token the form is refused and nothing is computed.
    assert client.post("/console/customers/C1/health/recompute", follow_redirects=False).status_code == 403
    assert client.get("/v1/customers/C1/health", headers=ADMIN).status_code == 404
    answer = client.post("/console/customers/C1/health/recompute", data={"csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/console/customers/C1"
    page = client.get("/console/customers/C1").text
    api = client.get("/v1/customers/C1/health", headers=ADMIN).json()
    score = re.search(r'<strong id="score">([^<]+)</strong>', page)
    assert score and float(score.group(1)) == api["score"]
    table = page.split('<table id="indicators">', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr>") == 8  # header + seven indicators
    for line in api["indicators"]:
        assert line["label"] in table
    # credit utilisation: 300 of 1000 -> tier 100; recency 0 days -> 100; trends need history -> no data
    assert "no data" in table
    chart = json.loads(page.split('<script type="application/json" id="chart-data">', 1)[1].split("</script>")[0])
    assert chart["contribution"] == [line["contribution"] for line in api["indicators"]]
    assert "/console/static/vendor/plotly.min.js" in page and "customer_health.js" in page
    listing = client.get("/console/customers").text
    assert 'href="/console/customers/C1"' in listing and f"{api['score']:.1f}" in listing


def test_only_dispatchers_and_admins_see_customer_health(make_client: Callable[..., TestClient]) -> None:
    client = _client(make_client)
    dispatcher = make_token(client, "dispatcher")["Authorization"].removeprefix("Bearer ")
    assert login(client, dispatcher)[0] == 303
    assert client.get("/console/customers/C1").status_code == 200
    assert "Customer health" in client.get("/console/customers").text
    client.cookies.clear()
    warehouse = make_token(client, "warehouse", "W1")["Authorization"].removeprefix("Bearer ")
    assert login(client, warehouse)[0] == 303
    assert client.get("/console/customers/C1", follow_redirects=False).status_code == 403
    assert client.get("/console/customers", follow_redirects=False).status_code == 403
