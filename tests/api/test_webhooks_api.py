"""The webhook desk over HTTP (both backends): the service's own in-process worker delivers to a real
receiver, the desk lists deliveries with attempts, replays dead-lettered ones; PUT /v1/carriers with a
new secret rotates it with a grace period."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook

from orders_core.carriers.service import new_webhook_secret
from orders_core.transport.webhooks.model import WebhookParams
from orders_core.transport.webhooks.outbox import announce_waybill_event
from tests.webhook_receiver import Receiver, wait_until

from .factories import ADMIN, make_token

FAST = WebhookParams(poll_interval_s=0.02, breaker_failures=100, request_timeout_s=1.0, lease_s=5.0)


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def make(*secrets: str, **options: Any) -> Receiver:
        receiver = Receiver(list(secrets), **options).start()
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.stop()


def _put_carrier(client: TestClient, carrier_id: str, url: str | None, secret: str | None) -> dict[str, Any]:
    body = {"name": carrier_id, "vehicle_type": "van", "capacity_kg": 500, "capacity_m3": 5, "coverage": None}
    if url:
        body["webhook_url"] = url
    if secret:
        body["webhook_secret"] = secret
    answer = client.put(f"/v1/carriers/{carrier_id}", json=body, headers=ADMIN)
    assert answer.status_code in (200, 201), answer.text
    return dict(answer.json())


def _announce(client: TestClient, carrier_id: str, *waybill_nos: str) -> None:
    """What the waybill use cases do: an outbox row in the change's transaction."""
    container = client.app.state.container  # type: ignore[attr-defined]
    with container.uow() as uow:
        for no in waybill_nos:
            announce_waybill_event(
                uow, carrier_id=carrier_id, event_type="waybill.created", waybill={"waybill_no": no, "pieces": 1}
            )
        uow.commit()


def _deliveries(client: TestClient, **query: str) -> dict[str, Any]:
    answer = client.get("/v1/webhooks/deliveries", params=query, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_desk_lists_deliveries_with_attempts_and_pages(
    make_client: Callable[..., TestClient], receivers: Callable[..., Receiver]
) -> None:
    client = make_client(webhooks=FAST)
    with client:
        secret = new_webhook_secret()
        receiver = receivers(secret)
        _put_carrier(client, "CAR-1", receiver.url, secret)
        _put_carrier(client, "CAR-2", None, None)
        _announce(client, "CAR-1", "WB-1", "WB-2", "WB-3")
        _announce(client, "CAR-2", "WB-9")
        assert wait_until(lambda: len(_deliveries(client, status="delivered")["items"]) == 3)

        skipped = _deliveries(client, status="skipped")["items"]
        assert [(d["carrier_id"], d["waybill_no"], d["attempts"]) for d in skipped] == [("CAR-2", "WB-9", 0)]
        assert "webhook_url" in skipped[0]["last_error"]
        mine = _deliveries(client, carrier_id="CAR-1")
        assert [d["waybill_no"] for d in mine["items"]] == ["WB-3", "WB-2", "WB-1"]  # newest first
        one = mine["items"][0]
        assert one["type"] == "waybill.created" and one["status"] == "delivered"
        assert [(a["attempt_no"], a["outcome"], a["status_code"]) for a in one["attempt_log"]] == [
            (1, "delivered", 200)
        ]
        assert {r.webhook_id for r in receiver.accepted()} == {d["webhook_id"] for d in mine["items"]}

        metrics = client.get("/metrics").text
        assert 'dispatch_webhook_deliveries_total{outcome="delivered"}' in metrics
        assert 'dispatch_webhook_deliveries_total{outcome="skipped"}' in metrics
        assert "dispatch_webhook_commit_to_receipt_seconds_count" in metrics

        page1 = _deliveries(client, carrier_id="CAR-1", limit="2")
        page2 = _deliveries(client, carrier_id="CAR-1", limit="2", cursor=page1["next_cursor"])
        assert [d["waybill_no"] for d in page1["items"] + page2["items"]] == ["WB-3", "WB-2", "WB-1"]
        assert page2["next_cursor"] is None


def test_dead_lettered_deliveries_replay_one_and_all_with_the_same_webhook_id(
    make_client: Callable[..., TestClient], receivers: Callable[..., Receiver]
) -> None:
    client = make_client(webhooks=FAST, webhook_retry_s="0.02,0.04")
    with client:
        secret = new_webhook_secret()
        receiver = receivers(secret, status=503)
        _put_carrier(client, "CAR-1", receiver.url, secret)
        _announce(client, "CAR-1", "WB-1", "WB-2", "WB-3")
        assert wait_until(lambda: len(_deliveries(client, status="dead")["items"]) == 3)
        dead = _deliveries(client, status="dead")["items"]
        assert all(len(d["attempt_log"]) == 3 and d["last_status_code"] == 503 for d in dead)
        assert dead[0]["attempt_log"][-1]["outcome"] == "dead"

        receiver.status = 200
        not_dead = client.post("/v1/webhooks/deliveries/999999/replay", headers=ADMIN)
        assert not_dead.status_code == 404
        assert not_dead.json()["error"]["code"] == "webhook_delivery_not_found"
        one = client.post(f"/v1/webhooks/deliveries/{dead[0]['id']}/replay", headers=ADMIN)
        assert one.status_code == 200 and one.json()["status"] == "pending"
        assert one.json()["webhook_id"] == dead[0]["webhook_id"]
        assert wait_until(lambda: len(_deliveries(client, status="delivered")["items"]) == 1)
        again = client.post(f"/v1/webhooks/deliveries/{dead[0]['id']}/replay", headers=ADMIN)
        assert again.status_code == 409 and again.json()["error"]["code"] == "webhook_delivery_not_dead"

        everything = client.post("/v1/webhooks/deliveries/replay", params={"carrier_id": "CAR-1"}, headers=ADMIN)
        assert everything.status_code == 200 and everything.json() == {"replayed": 2}
        assert wait_until(lambda: len(_deliveries(client, status="delivered")["items"]) == 3)
        assert {r.webhook_id for r in receiver.accepted()} == {d["webhook_id"] for d in dead}


def test_only_the_desk_sees_deliveries(make_client: Callable[..., TestClient]) -> None:
    client = make_client(webhooks=FAST)
    with client:
        carrier = make_token(client, "carrier", "CAR-1")
        dispatcher = make_token(client, "dispatcher")
        assert client.get("/v1/webhooks/deliveries", headers=carrier).status_code == 403
        assert client.post("/v1/webhooks/deliveries/replay", headers=carrier).status_code == 403
        assert client.get("/v1/webhooks/deliveries", headers=dispatcher).status_code == 200
        assert client.get("/v1/webhooks/deliveries").status_code == 401
        bad = client.get("/v1/webhooks/deliveries", params={"status": "lost"}, headers=ADMIN)
        assert bad.status_code == 422


def test_put_carrier_with_a_new_secret_signs_with_both_during_the_grace_period(
    make_client: Callable[..., TestClient], receivers: Callable[..., Receiver]
) -> None:
    client = make_client(webhooks=FAST)
    with client:
        old, new = new_webhook_secret(), new_webhook_secret()
        old_receiver, new_receiver = receivers(old), receivers(new)
        _put_carrier(client, "CAR-1", old_receiver.url, old)
        saved = _put_carrier(client, "CAR-1", new_receiver.url, new)  # rotation
        assert saved["webhook_secret"] is None and saved["webhook_secret_hint"] == "..." + new[-4:]  # never shown back
        _announce(client, "CAR-1", "WB-1")
        assert wait_until(lambda: len(new_receiver.accepted()) == 1)
        receipt = new_receiver.accepted()[0]
        assert receipt.verified_by == (new,)
        Webhook(old).verify(receipt.raw_body, receipt.headers)  # a receiver still on the old secret verifies too
        assert not old_receiver.snapshot()
