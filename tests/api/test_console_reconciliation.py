"""The console's Reconciliation page (SQLite and PostGIS): upload an export with planted differences through
the form, land on the run, see its consistency and its mismatches grouped by field and cause; the list shows
the run; a warehouse token cannot reach the page."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from orders_core.integration.planted_export import plant_differences, write_planted_export
from orders_core.integration.profile_loader import load_profile

from .console_support import bearer, login, page_csrf
from .factories import ADMIN_TOKEN, make_token
from .test_reconciliation_api import PROFILES, _as_their_record, _place_orders
from .test_reconciliation_api import client as client  # the same master data


def test_an_upload_shows_the_run_with_its_grouped_mismatches(client: TestClient, tmp_path: Path) -> None:
    orders = _place_orders(client, 30, seed=11)
    _, theirs, planted = plant_differences([_as_their_record(o) for o in orders], 11, duplicate_on_ours=False)
    export = tmp_path / "erp.csv"
    write_planted_export(load_profile(PROFILES / "erp_orders_csv.yaml"), theirs, export, 11)
    login(client, ADMIN_TOKEN)
    page = client.get("/console/reconciliations")
    assert page.status_code == 200 and 'enctype="multipart/form-data"' in page.text
    assert '<option value="erp_orders_csv">' in page.text and "wms_stock_csv" not in page.text
    with export.open("rb") as handle:
        answer = client.post(
            "/console/reconciliations",
            data={"profile": "erp_orders_csv", "csrf_token": page_csrf(client, "/console/reconciliations")},
            files={"file": ("erp.csv", handle, "text/csv")},
            follow_redirects=False,
        )
    assert answer.status_code == 303, answer.text
    run_url = answer.headers["location"]
    detail = client.get(run_url)
    assert detail.status_code == 200
    fields = set(re.findall(r'<tr data-field="([^"]+)"', detail.text))
    compared = {p.field for p in planted if p.field} & (fields - {"(record)"})
    expected = [p for p in planted if not p.field or p.field in compared]
    assert fields == {p.field or "(record)" for p in expected}
    assert len(re.findall(r'<tr data-cause="', detail.text)) == len(expected)
    consistency = float(re.search(r'data-consistency="([0-9.]+)"', detail.text).group(1))  # type: ignore[union-attr]
    assert 0 < consistency < 100
    only = client.get(run_url, params={"cause": "missing_on_theirs"})
    assert len(re.findall(r'<tr data-cause="missing_on_theirs"', only.text)) == 3
    assert run_url.rsplit("/", 1)[1] in client.get("/console/reconciliations").text


def test_the_page_is_for_the_desk_only(client: TestClient) -> None:
    login(client, bearer(make_token(client, "warehouse", "WH-HZ")))
    assert client.get("/console/reconciliations", follow_redirects=False).status_code == 403
