"""``dispatch webhooks worker`` as its own process, killed with SIGKILL mid-delivery: nothing is lost.

The killed worker's claims come back when their lease ends; a second worker process sends them again
with the same webhook-id (at least once: the receiver sees duplicates, never a gap).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from orders_core.carriers.service import new_webhook_secret
from orders_core.transport.webhooks.tables import WebhookDeliveryRow
from tests.orders_core.test_webhooks_delivery import Store
from tests.webhook_receiver import Receiver, wait_until

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    opened = Store(database_url)
    yield opened
    opened.close()


def _worker_process(database_url: str, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DISPATCH_DATABASE_URL": database_url,
        "DISPATCH_WEBHOOK_RETRY_S": "0.05,0.1,0.2,0.4,0.8,1,1,1",
        "DISPATCH_WEBHOOKS__LEASE_S": "2",
        "DISPATCH_WEBHOOKS__REQUEST_TIMEOUT_S": "1",
        "DISPATCH_WEBHOOKS__POLL_INTERVAL_S": "0.02",
        "DISPATCH_WEBHOOKS__MAX_IN_FLIGHT_PER_ENDPOINT": "16",
        "DISPATCH_LOG_FORMAT": "json",
    }
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-c", "from api.cli import main; main()", "webhooks", "worker"],
            env=env,
            stdout=log,
            stderr=log,
            cwd=ROOT,
        )


def _in_flight_claims(store: Store) -> int:
    with store.uow() as uow:
        rows = uow.session.scalars(
            select(WebhookDeliveryRow.id).where(
                WebhookDeliveryRow.status == "pending", WebhookDeliveryRow.claimed_by.is_not(None)
            )
        )
        return len(list(rows))


def test_kill_9_of_the_worker_process_mid_delivery_loses_nothing(
    store: Store, database_url: str, tmp_path: Path
) -> None:
    secret = new_webhook_secret()
    receiver = Receiver([secret], delay_s=0.15).start()  # slow answers: the kill lands with sends in flight
    try:
        store.carrier("CAR-1", receiver.url, secret)
        events = [f"WB{i:09d}" for i in range(200)]
        store.announce("CAR-1", events)
        first = _worker_process(database_url, tmp_path / "worker-1.log")
        seen: list[int] = []

        def mid_delivery() -> bool:
            """40 delivered and some requests read by the receiver but not yet answered."""
            in_flight_http = receiver.arrived - len(receiver.snapshot())
            seen[:] = [in_flight_http]
            return len(receiver.accepted()) >= 40 and in_flight_http > 0

        try:
            assert wait_until(mid_delivery, 60, 0.002), (tmp_path / "worker-1.log").read_text()
        finally:
            first.send_signal(signal.SIGKILL)  # at once: those requests are still being answered
            first.wait(10)
        in_flight_http = seen[0]
        in_flight_db = _in_flight_claims(store)
        assert first.returncode == -signal.SIGKILL
        assert in_flight_db > 0 and in_flight_http > 0, "the kill must land mid-delivery"
        delivered_by_first = len({r.webhook_id for r in receiver.accepted()})
        assert delivered_by_first < len(events)

        second = _worker_process(database_url, tmp_path / "worker-2.log")
        try:
            assert wait_until(lambda: Counter(r.status for r in store.deliveries())["delivered"] == len(events), 90), (
                tmp_path / "worker-2.log"
            ).read_text()
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(20)
        assert second.returncode == 0  # SIGTERM: in-flight sends finish, outcomes written, clean exit
    finally:
        receiver.stop()

    receipts = receiver.snapshot()
    ids_by_waybill: dict[str, set[str]] = {}
    for receipt in receipts:
        assert receipt.verified_by == (secret,)
        ids_by_waybill.setdefault(receipt.body["data"]["waybill_no"], set()).add(receipt.webhook_id)
    assert sorted(ids_by_waybill) == events  # nothing lost
    assert all(len(ids) == 1 for ids in ids_by_waybill.values())  # a resend keeps its webhook-id
    accepted_ids = {r.webhook_id for r in receiver.accepted()}
    assert len(accepted_ids) == len(events)
    duplicates = len(receipts) - len(accepted_ids)
    assert duplicates >= 1, "the sends in flight at the kill are sent again (at least once)"
    print(
        f"\nkill -9: events={len(events)} delivered_before_kill={delivered_by_first} "
        f"claims_in_flight_at_kill={in_flight_db} received={len(receipts)} duplicates={duplicates}"
    )
