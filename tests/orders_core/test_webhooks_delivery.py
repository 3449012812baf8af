"""Carrier webhooks end to end on both backends: outbox -> worker -> a real local HTTP receiver that
verifies every signature with the reference ``standardwebhooks`` package (not our signer)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select

from infra.db import make_engine, make_session_factory
from orders_core.carriers.model import Carrier
from orders_core.carriers.service import new_webhook_secret, upsert_carrier
from orders_core.dispatching import build_carrier_matching
from orders_core.orders.repository import OrderRepository
from orders_core.orders.tables import OutboxRow
from orders_core.transport.webhooks.model import WebhookParams
from orders_core.transport.webhooks.outbox import announce_waybill_event
from orders_core.transport.webhooks.service import delivery_page, replay_dead_deliveries, replay_delivery
from orders_core.transport.webhooks.tables import WebhookAttemptRow, WebhookDeliveryRow
from orders_core.transport.webhooks.worker import DeliveryWorker
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory
from tests.webhook_receiver import Receiver, wait_until

#: Tiny waits so that a test sees many retries in a second or two.
FAST = WebhookParams(
    poll_interval_s=0.02,
    retry_s=(0.05, 0.1, 0.2, 0.2, 0.4, 0.4, 0.8, 0.8, 1.0, 1.0),
    breaker_failures=3,
    breaker_open_s=0.05,
    breaker_max_open_s=0.2,
    connect_timeout_s=0.5,
    request_timeout_s=1.0,
    lease_s=5.0,
)


class Store:
    """The test's database: a unit-of-work factory and the carriers' upsert (with the real matcher)."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.sessions = make_session_factory(self.engine)
        self.matching = build_carrier_matching(self.sessions, None)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions)

    def carrier(self, carrier_id: str, url: str | None, secret: str | None, *, grace_s: float = 86_400) -> Carrier:
        carrier = Carrier(carrier_id, carrier_id, "van", 500.0, 5.0, webhook_url=url, webhook_secret=secret)
        saved, _ = upsert_carrier(self.uow, self.matching, carrier, secret_grace_s=grace_s)
        return saved

    def announce(self, carrier_id: str, waybill_nos: list[str], event_type: str = "waybill.created") -> None:
        with self.uow() as uow:
            for no in waybill_nos:
                waybill = {"waybill_no": no, "carrier_id": carrier_id, "weight_kg": 2.5, "status": "created"}
                announce_waybill_event(uow, carrier_id=carrier_id, event_type=event_type, waybill=waybill)
            uow.commit()

    def deliveries(self) -> list[WebhookDeliveryRow]:
        with self.uow() as uow:
            rows = list(uow.session.scalars(select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id)))
            uow.session.expunge_all()  # readable after the unit of work ends
            return rows

    def attempt_count(self) -> int:
        with self.uow() as uow:
            return int(uow.session.scalar(select(func.count()).select_from(WebhookAttemptRow)) or 0)

    def close(self) -> None:
        self.matching.close()
        self.engine.dispose()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store(database_url)
    yield opened
    opened.close()


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


@pytest.fixture
def run_worker() -> Iterator[Callable[..., DeliveryWorker]]:
    started: list[DeliveryWorker] = []

    def start(new_uow: UnitOfWorkFactory, params: WebhookParams = FAST) -> DeliveryWorker:
        worker = DeliveryWorker(new_uow, params)
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def _statuses(store: Store) -> Counter[str]:
    return Counter(row.status for row in store.deliveries())


def test_waybill_event_is_delivered_signed_per_standard_webhooks(
    store: Store, receivers: Callable[..., Receiver], run_worker: Callable[..., DeliveryWorker]
) -> None:
    secret = new_webhook_secret()
    receiver = receivers(secret)
    store.carrier("CAR-1", receiver.url, secret)
    store.announce("CAR-1", ["WB000000001"])
    run_worker(store.uow)

    assert wait_until(lambda: _statuses(store)["delivered"] == 1), store.deliveries()
    [receipt] = receiver.snapshot()
    assert receipt.verified_by == (secret,)
    assert receipt.body["type"] == "waybill.created"
    assert receipt.body["data"]["waybill_no"] == "WB000000001"
    assert receipt.body["timestamp"].endswith("Z")
    assert set(receipt.body) == {"type", "timestamp", "data"}
    [row] = store.deliveries()
    assert receipt.webhook_id == row.message_id and row.message_id.startswith("msg_")
    assert (row.attempts, row.last_status_code, row.delivered_at is not None) == (1, 200, True)
    with store.uow() as uow:  # the outbox row is published exactly when its delivery exists
        assert uow.session.scalar(select(OutboxRow.published_at).where(OutboxRow.id == row.outbox_id)) is not None


def test_an_uncommitted_event_is_never_sent(
    store: Store, receivers: Callable[..., Receiver], run_worker: Callable[..., DeliveryWorker]
) -> None:
    secret = new_webhook_secret()
    receiver = receivers(secret)
    store.carrier("CAR-1", receiver.url, secret)
    with store.uow() as uow:
        announce_waybill_event(uow, carrier_id="CAR-1", event_type="waybill.created", waybill={"waybill_no": "WB-RB"})
        # no commit: the change and its event roll back together
    store.announce("CAR-1", ["WB-OK"])
    run_worker(store.uow)
    assert wait_until(lambda: len(receiver.accepted()) == 1)
    time.sleep(0.2)
    assert [r.body["data"]["waybill_no"] for r in receiver.snapshot()] == ["WB-OK"]


def test_a_carrier_without_webhook_url_gets_a_visible_skipped_delivery(
    store: Store, run_worker: Callable[..., DeliveryWorker]
) -> None:
    store.carrier("CAR-NOHOOK", None, None)
    store.announce("CAR-NOHOOK", ["WB-1"])
    run_worker(store.uow)
    assert wait_until(lambda: _statuses(store)["skipped"] == 1)
    [row] = store.deliveries()
    assert row.attempts == 0 and "no webhook_url" in (row.last_error or "")


def test_a_malformed_outbox_row_is_skipped_visibly_and_blocks_nothing(
    store: Store, receivers: Callable[..., Receiver], run_worker: Callable[..., DeliveryWorker]
) -> None:
    secret = new_webhook_secret()
    receiver = receivers(secret)
    store.carrier("CAR-1", receiver.url, secret)
    with store.uow() as uow:
        OrderRepository(uow.session).add_outbox("carrier.webhook", "WB-BAD", {"carrier_id": "CAR-1", "type": "oops"})
        uow.commit()
    store.announce("CAR-1", ["WB-GOOD"])
    run_worker(store.uow)
    assert wait_until(lambda: _statuses(store) == Counter({"skipped": 1, "delivered": 1}))
    bad = next(row for row in store.deliveries() if row.waybill_no == "WB-BAD")
    assert "malformed event" in (bad.last_error or "")
    assert [r.body["data"]["waybill_no"] for r in receiver.accepted()] == ["WB-GOOD"]


def test_two_workers_on_one_store_send_each_event_once(
    store: Store, receivers: Callable[..., Receiver], run_worker: Callable[..., DeliveryWorker]
) -> None:
    """Claims are exclusive (SKIP LOCKED on PostgreSQL, the single writer on SQLite): with a healthy
    receiver, two workers polling the same tables never send the same delivery twice."""
    secret = new_webhook_secret()
    receiver = receivers(secret)
    store.carrier("CAR-1", receiver.url, secret)
    store.carrier("CAR-2", receiver.url, secret)
    first = run_worker(store.uow, replace(FAST, batch_size=20))
    second = run_worker(store.uow, replace(FAST, batch_size=20))
    for start in range(0, 300, 30):
        store.announce("CAR-1" if start % 60 else "CAR-2", [f"WB{n:05d}" for n in range(start, start + 30)])
    assert wait_until(lambda: _statuses(store)["delivered"] == 300, 30), _statuses(store)
    receipts = receiver.snapshot()
    assert len(receipts) == 300 and len({r.webhook_id for r in receipts}) == 300
    assert len({row.claimed_by for row in store.deliveries()}) == 1  # None once delivered
    with store.uow() as uow:
        senders = Counter(uow.session.scalars(select(WebhookAttemptRow.worker_id)))
    assert sum(senders.values()) == 300 and set(senders) == {first.worker_id, second.worker_id}, senders


def test_receiver_down_for_several_retries_then_back_gets_every_event_once_per_id(
    store: Store, receivers: Callable[..., Receiver], run_worker: Callable[..., DeliveryWorker]
) -> None:
    """The outage test: first the receiver answers 503 (it saw the request: a duplicate follows), then it
    is not listening at all (connection refused), then it is back. Every event arrives; every copy of an
    event carries the same webhook-id; nothing is dead-lettered."""
    secret = new_webhook_secret()
    receiver = receivers(secret, status=503)
    store.carrier("CAR-1", receiver.url, secret)
    events = [f"WB{i:09d}" for i in range(40)]
    store.announce("CAR-1", events)
    run_worker(store.uow)

    assert wait_until(lambda: len(receiver.snapshot()) >= len(events), 10)  # each seen once, answered 503
    receiver.go_down()
    time.sleep(0.8)  # several retries land on a closed port
    failed_while_down = store.attempt_count() - len(receiver.snapshot())
    receiver.status = 200
    receiver.come_back()

    assert wait_until(lambda: _statuses(store)["delivered"] == len(events), 30), _statuses(store)
    receipts = receiver.snapshot()
    ids_by_waybill: dict[str, set[str]] = {}
    for receipt in receipts:
        assert receipt.verified_by == (secret,)
        ids_by_waybill.setdefault(receipt.body["data"]["waybill_no"], set()).add(receipt.webhook_id)
    assert sorted(ids_by_waybill) == events
    assert all(len(ids) == 1 for ids in ids_by_waybill.values()), "a retry changed its webhook-id"
    delivered_ids = {r.webhook_id for r in receiver.accepted()}
    assert len(delivered_ids) == len(events)
    attempts = store.attempt_count()
    duplicates = len(receipts) - len(delivered_ids)
    assert failed_while_down > 0 and duplicates >= len(events)
    assert _statuses(store)["dead"] == 0
    print(
        f"\noutage: events={len(events)} attempts={attempts} delivered={len(delivered_ids)} "
        f"received={len(receipts)} duplicates={duplicates} refused_while_down={failed_while_down} dead=0"
    )


def test_dead_letter_after_the_last_retry_then_replay_with_the_same_webhook_id(
    store: Store, receivers: Callable[..., Receiver], run_worker: Callable[..., DeliveryWorker]
) -> None:
    secret = new_webhook_secret()
    receiver = receivers(secret, status=500)
    store.carrier("CAR-1", receiver.url, secret)
    store.announce("CAR-1", ["WB-A", "WB-B"])
    params = replace(FAST, retry_s=(0.02, 0.05), breaker_failures=100)
    worker = run_worker(store.uow, params)

    assert wait_until(lambda: _statuses(store)["dead"] == 2), _statuses(store)
    page = delivery_page(store.uow, status="dead")
    assert [len(v.attempt_log) for v in page.items] == [3, 3]  # the first try + one per retry wait
    assert all(v.attempt_log[-1].outcome == "dead" and v.attempt_log[-1].status_code == 500 for v in page.items)
    first_ids = {r.webhook_id for r in receiver.snapshot()}
    assert len(receiver.snapshot()) == 6 and len(first_ids) == 2

    receiver.status = 200
    one = page.items[0]
    replayed = replay_delivery(store.uow, one.id)
    assert replayed.status == "pending" and replayed.webhook_id == one.webhook_id
    assert wait_until(lambda: _statuses(store) == Counter({"delivered": 1, "dead": 1}))
    assert replay_dead_deliveries(store.uow, carrier_id="CAR-1") == 1
    assert wait_until(lambda: _statuses(store) == Counter({"delivered": 2}))
    assert {r.webhook_id for r in receiver.accepted()} == first_ids
    delivered = delivery_page(store.uow, status="delivered").items
    assert all(len(v.attempt_log) == 4 and v.attempt_log[-1].outcome == "delivered" for v in delivered)
    worker.stop()


def test_rotated_secret_signs_beside_the_new_one_for_the_grace_period_only(
    store: Store, receivers: Callable[..., Receiver], run_worker: Callable[..., DeliveryWorker]
) -> None:
    old, new = new_webhook_secret(), new_webhook_secret()
    old_receiver = receivers(old)
    store.carrier("CAR-1", old_receiver.url, old)
    run_worker(store.uow)
    store.announce("CAR-1", ["WB-BEFORE"])
    assert wait_until(lambda: len(old_receiver.accepted()) == 1)

    grace_s = 1.5
    store.carrier("CAR-1", old_receiver.url, new, grace_s=grace_s)  # the rotation (PUT with a new secret)
    rotated_at = time.monotonic()
    store.announce("CAR-1", ["WB-DURING"])
    assert wait_until(lambda: len(old_receiver.accepted()) == 2)
    during = old_receiver.snapshot()[-1]
    assert time.monotonic() - rotated_at < grace_s
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    # A receiver holding the old secret and one holding the new one both verify the same request.
    new_receiver = receivers(new)
    store.carrier("CAR-1", new_receiver.url, new, grace_s=grace_s)  # same secret again: no new rotation
    store.announce("CAR-1", ["WB-DURING-2"])
    assert wait_until(lambda: len(new_receiver.accepted()) == 1)
    during_new = new_receiver.snapshot()[-1]
    from standardwebhooks.webhooks import Webhook

    Webhook(old).verify(during_new.raw_body, during_new.headers)
    Webhook(new).verify(during_new.raw_body, during_new.headers)

    time.sleep(max(0.0, grace_s - (time.monotonic() - rotated_at)) + 0.2)
    store.announce("CAR-1", ["WB-AFTER"])
    assert wait_until(lambda: len(new_receiver.accepted()) == 2)
    after = new_receiver.snapshot()[-1]
    assert after.verified_by == (new,)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    with pytest.raises(Exception, match="signature"):
        Webhook(old).verify(after.raw_body, after.headers)


def test_a_dead_endpoint_does_not_delay_a_healthy_one(
    store: Store, receivers: Callable[..., Receiver], run_worker: Callable[..., DeliveryWorker]
) -> None:
    """A carrier whose endpoint hangs (answers after the 3 s timeout) has a backlog queued first; a healthy
    carrier's events, queued after it, all arrive well within one such timeout."""
    dead_secret, ok_secret = new_webhook_secret(), new_webhook_secret()
    hanging = receivers(dead_secret, delay_s=10.0)
    healthy = receivers(ok_secret)
    store.carrier("DEAD", hanging.url, dead_secret)
    store.carrier("OK", healthy.url, ok_secret)
    params = replace(
        FAST, max_in_flight=32, max_in_flight_per_endpoint=8, retry_s=(0.05,) * 50, request_timeout_s=3.0, lease_s=10.0
    )
    store.announce("DEAD", [f"WB-D{i:04d}" for i in range(300)])
    run_worker(store.uow, params)
    time.sleep(0.3)  # the hanging endpoint's sends are in flight
    started = time.monotonic()
    store.announce("OK", [f"WB-OK{i:03d}" for i in range(50)])
    assert wait_until(lambda: len(healthy.accepted()) == 50, 10)
    took_s = time.monotonic() - started
    assert took_s < 1.5, f"the healthy endpoint waited {took_s:.2f} s behind the dead one"
    assert not hanging.accepted()
    assert all(row.status == "pending" for row in store.deliveries() if row.carrier_id == "DEAD")
    assert all(r.verified_by == (ok_secret,) for r in healthy.accepted())
