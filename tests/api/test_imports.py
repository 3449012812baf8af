"""POST /v1/imports and GET /v1/imports/{id}: the upload runs the import use case; bad profiles and files
are 4xx and change nothing; roles; Idempotency-Key; the report is paginated."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from .factories import ADMIN, make_token

DATA = Path(__file__).resolve().parents[1] / "data" / "imports"


def _upload(client: TestClient, profile: str, name: str, content: bytes, **extra: str) -> httpx.Response:
    headers = dict(ADMIN)
    if "key" in extra:
        headers["Idempotency-Key"] = extra.pop("key")
    return client.post(
        "/v1/imports", data={"profile": profile, **extra}, files={"file": (name, content)}, headers=headers
    )


def test_an_upload_imports_and_its_report_is_paginated(client: TestClient) -> None:
    answer = _upload(client, "erp_customers_csv", "c.csv", (DATA / "erp_customers.csv").read_bytes())
    assert answer.status_code == 201, answer.text
    run = answer.json()
    assert run["status"] == "finished" and run["counts"]["accepted"] == 3
    assert client.get("/v1/customers/C0002", headers=ADMIN).json()["name"] == "北京物美"
    first = client.get(f"/v1/imports/{run['id']}?limit=2", headers=ADMIN).json()
    assert [r["source_key"] for r in first["records"]["items"]] == ["C0001", "C0002"]
    rest = client.get(f"/v1/imports/{run['id']}?limit=2&cursor={first['records']['next_cursor']}", headers=ADMIN)
    assert [r["source_key"] for r in rest.json()["records"]["items"]] == ["C0003"]
    assert rest.json()["records"]["next_cursor"] is None


def test_the_same_idempotency_key_answers_the_same_run_and_another_file_is_409(client: TestClient) -> None:
    content = (DATA / "erp_customers.csv").read_bytes()
    first = _upload(client, "erp_customers_csv", "c.csv", content, key="k-1")
    again = _upload(client, "erp_customers_csv", "c.csv", content, key="k-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    other = _upload(
        client, "erp_customers_csv", "c.csv", content + "C0004,新客户,0,,,,否\n".encode("gb18030"), key="k-1"
    )
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"


def test_a_dry_run_answers_the_report_and_stores_nothing(client: TestClient) -> None:
    answer = _upload(client, "erp_customers_csv", "c.csv", (DATA / "erp_customers.csv").read_bytes(), dry_run="true")
    assert answer.status_code == 200 and answer.json()["id"] is None
    assert [r["outcome"] for r in answer.json()["records"]["items"]] == ["accepted"] * 3
    assert client.get("/v1/customers/C0001", headers=ADMIN).status_code == 404


def test_an_unknown_profile_is_404_and_a_bad_name_never_reaches_the_disk(client: TestClient) -> None:
    for name in ("no_such_profile", "../../etc/passwd", "ERP"):
        answer = _upload(client, name, "c.csv", b"x")
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"]["code"] == "profile_not_found"


def test_a_file_in_the_wrong_encoding_or_shape_is_422_and_imports_nothing(client: TestClient) -> None:
    utf8 = (DATA / "erp_customers.csv").read_bytes().decode("gb18030").encode("utf-8")
    answer = _upload(client, "erp_customers_csv", "c.csv", utf8)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "unreadable_source"
    assert "gb18030" in answer.json()["error"]["message"]
    wrong_columns = _upload(client, "erp_customers_csv", "c.csv", "a,b\n1,2\n".encode("gb18030"))
    assert wrong_columns.status_code == 422 and "客户编码" in wrong_columns.json()["error"]["message"]
    not_json = _upload(client, "ecommerce_orders_json", "o.json", b"{not json")
    assert not_json.status_code == 422 and not_json.json()["error"]["code"] == "unreadable_source"
    assert client.get("/v1/customers/C0001", headers=ADMIN).status_code == 404


def test_only_admins_and_dispatchers_import(client: TestClient) -> None:
    content = (DATA / "erp_customers.csv").read_bytes()
    for role, expected in (("warehouse", 403), ("customer", 403), ("dispatcher", 201)):
        headers = make_token(client, role, "C0001" if role == "customer" else None)
        answer = client.post(
            "/v1/imports", data={"profile": "erp_customers_csv"}, files={"file": ("c.csv", content)}, headers=headers
        )
        assert answer.status_code == expected, (role, answer.text)


def test_an_unknown_run_is_404(client: TestClient) -> None:
    answer = client.get("/v1/imports/imp_0000000000000000", headers=ADMIN)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "import_run_not_found"
