"""The published OpenAPI document against the service, as a new user's generated client would meet it.

schemathesis generates schema-valid requests for every operation of ``/openapi.json`` and sends them with
the admin token to the app on the embedded store, loaded with the demo data (plus a token, an order and
an exception, so lists and items answer real rows). Every answer must be no 5xx, a status the operation
documents, the documented media type, and a body that validates against the documented schema.

Bounded in time: a few examples per operation (``MAX_EXAMPLES``), no shrinking, a per-operation timeout.
NUL characters are not generated: the service refuses them in every string (the API's description says
so; a generated client cannot send them through most HTTP stacks anyway).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.container import Container
from api.demo import load_demo_data
from api.settings import Settings
from infra.throwaway import create_database, drop_database

from .factories import ADMIN, ADMIN_TOKEN, PAYMENT_SECRET

#: Examples per operation: ~70 operations x 10 keeps the whole run well under two minutes on two cores.
MAX_EXAMPLES = 10
MAX_EXAMPLES_POSTGIS = 3
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _settings(database_url: str) -> Settings:
    """The test apps' settings (``factories.app_client``'s): carriers are assigned only on request."""
    options: dict[str, Any] = {"admin_token": ADMIN_TOKEN, "payment_secret": PAYMENT_SECRET, "log_json": False}
    options["transport"] = {"assign_at": "manual"}
    return Settings(database_url=database_url, **options)


# The document is built without starting the app (no store is opened for it).
schema = schemathesis.openapi.from_dict(create_app(_settings("sqlite:///:memory:")).openapi())
schema.config.generation.update(allow_x00=False, modes=[GenerationMode.POSITIVE], no_shrink=True)


def _some_rows(client: TestClient) -> None:
    """Beside the demo's master data: a revoked token, an accepted order and one held on an exception."""
    token = client.post("/v1/tokens", json={"role": "dispatcher", "label": "desk"}, headers=ADMIN)
    assert token.status_code == 201, token.text
    assert client.delete(f"/v1/tokens/{token.json()['id']}", headers=ADMIN).status_code in (200, 204)
    customer = client.get("/v1/customers", headers=ADMIN).json()["items"][0]
    sku = client.get("/v1/skus", headers=ADMIN).json()["items"][0]
    for key, price in (("accepted", None), ("held", float(sku["unit_price"]) / 2 + 0.01)):
        line: dict[str, Any] = {"sku": sku["sku"], "qty": 1}
        if price is not None:
            line["unit_price"] = round(price, 2)  # a quote off the catalogue: held as a price exception
        order = client.post(
            "/v1/orders",
            json={"customer_id": customer["id"], "lines": [line]},
            headers={**ADMIN, "Idempotency-Key": f"schemathesis-{key}"},
        )
        assert order.status_code == 201, order.text


def _serve(database_url: str) -> Iterator[TestClient]:
    """The app on ``database_url`` with the demo data and a few rows more."""

    def load(container: Container) -> None:
        load_demo_data(container)

    app = create_app(_settings(database_url), on_started=[load])
    with TestClient(app, raise_server_exceptions=False) as client:
        _some_rows(client)
        yield client


@pytest.fixture(scope="module")
def served(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app on a copy of the migrated SQLite template."""
    path = tmp_path_factory.mktemp("schemathesis") / "dispatch.sqlite3"
    shutil.copyfile(sqlite_template, path)
    yield from _serve(f"sqlite:///{path}")


@pytest.fixture(scope="module")
def served_on_postgis(postgres_url: str, postgis_template: str) -> Iterator[TestClient]:
    """The app on a copy of the migrated PostGIS template (dropped afterwards)."""
    url = create_database(postgres_url, "schemathesis", template=postgis_template)
    try:
        yield from _serve(url)
    finally:
        drop_database(postgres_url, "schemathesis")


def _call(case: schemathesis.Case, client: TestClient) -> None:
    request = case.as_transport_kwargs(headers=dict(ADMIN))
    request.pop("cookies", None)  # none are generated (the API has no cookie parameters)
    if request.get("files"):  # multipart: extra generated fields may be numbers, which httpx cannot encode
        request["files"] = [
            (name, (filename, value if isinstance(value, str | bytes) else json.dumps(value), *rest))
            for name, (filename, value, *rest) in request["files"]
        ]
    built = client.build_request(**request)
    built.read()  # render a multipart upload's body once, before sending: schemathesis reads it back to report
    case.validate_response(client.send(built), checks=CHECKS)


#: The same settings on both stores; PostGIS sees fewer examples (its store-specific answers are few: times,
#: numbers read back; the embedded run covers the generated inputs).
_BOUNDED = settings(
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@schema.parametrize()
@settings(_BOUNDED, max_examples=MAX_EXAMPLES)
@pytest.mark.timeout(300)  # includes the module fixture: migrating, demo data
def test_answers_conform_to_the_published_schema(case: schemathesis.Case, served: TestClient) -> None:
    _call(case, served)


@schema.parametrize()
@settings(_BOUNDED, max_examples=MAX_EXAMPLES_POSTGIS)
@pytest.mark.timeout(300)  # includes the module fixture: migrating, demo data
def test_answers_conform_on_postgis(case: schemathesis.Case, served_on_postgis: TestClient) -> None:
    _call(case, served_on_postgis)
