"""Builders shared by the API tests: the admin's headers, apps on a test's database, tokens, master data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings

ADMIN_TOKEN = "test-admin"
#: Headers of the admin whose token the test apps are configured with.
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
#: The test apps' payment secret (the public demo default is refused outside the demo).
PAYMENT_SECRET = "test-payment-secret"


def app_client(database_url: str, *, raise_server_exceptions: bool = True, **settings: Any) -> TestClient:
    """A test client for the app on ``database_url`` (enter it to start the app); ``settings`` override
    the test defaults (the admin token and payment secret above, plain-text logs, carriers assigned only on
    request: no background assignment changes an order between two reads)."""
    settings = {
        "admin_token": ADMIN_TOKEN,
        "payment_secret": PAYMENT_SECRET,
        "log_json": False,
        "transport": {"assign_at": "manual"},
        **settings,
    }
    app = create_app(Settings(database_url=database_url, **settings))
    return TestClient(app, raise_server_exceptions=raise_server_exceptions)


#: The smallest carrier and warehouse a token's subject can name (tokens are only issued for existing ones).
SUBJECT_STUBS: dict[str, tuple[str, dict[str, Any]]] = {
    "carrier": ("carriers", {"name": "stub", "vehicle_type": "van", "capacity_kg": 1, "capacity_m3": 1}),
    "warehouse": ("warehouses", {"name": "stub", "location": {"lat": 0.0, "lng": 0.0}}),
}


def make_token(client: TestClient, role: str, subject: str | None = None) -> dict[str, str]:
    """Headers carrying a new token for ``role`` (and ``subject``), created by the admin.

    A carrier or warehouse token needs its carrier or warehouse to exist (422 ``unknown_subject``): when
    the test has not written it, a stub is written first (no position, no stock: it matches and stocks
    nothing), so role and scope tests need not build one.
    """
    if subject and role in SUBJECT_STUBS:
        collection, stub = SUBJECT_STUBS[role]
        if client.get(f"/v1/{collection}/{subject}", headers=ADMIN).status_code == 404:
            written = client.put(f"/v1/{collection}/{subject}", json=stub, headers=ADMIN)
            assert written.status_code == 201, written.text
    answer = client.post("/v1/tokens", json={"role": role, "subject": subject}, headers=ADMIN)
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def put_master_data(
    client: TestClient,
    *,
    warehouses: Mapping[str, Mapping[str, Any]] | None = None,
    skus: Mapping[str, Mapping[str, Any]] | None = None,
    customers: Mapping[str, Mapping[str, Any]] | None = None,
    stock: Mapping[tuple[str, str], int] | None = None,
) -> None:
    """Create warehouses, SKUs and customers (each must be new: 201), then set stock levels (200).

    Keys are the ids in the URL, values the request bodies; ``stock`` maps (warehouse, sku) to on hand.
    """
    for collection, records in (("warehouses", warehouses), ("skus", skus), ("customers", customers)):
        for record_id, body in (records or {}).items():
            answer = client.put(f"/v1/{collection}/{record_id}", json=dict(body), headers=ADMIN)
            assert answer.status_code == 201, answer.text
    for (warehouse_id, sku), on_hand in (stock or {}).items():
        answer = client.put(f"/v1/warehouses/{warehouse_id}/stock/{sku}", json={"on_hand": on_hand}, headers=ADMIN)
        assert answer.status_code == 200, answer.text
