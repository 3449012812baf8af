"""Carrier use cases: maintain master data and record position fixes (validated as a whole batch).

``upsert_carrier``, ``accept_positions`` and ``get_carrier`` own their unit of work (the API calls them with
the container's factory); ``save_carrier`` and ``record_positions`` work inside a caller's unit of work, for
code that composes them in one transaction.
"""

from __future__ import annotations

import base64
import math
import secrets
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from foundation.clock import utc_now
from orders_core.carriers.model import Carrier, CarrierNotFound, InvalidPosition, PositionFix, UnknownCarriers
from orders_core.carriers.repository import CarrierRepository
from orders_core.transport.webhooks.model import DEFAULT_ROTATION_GRACE_S
from orders_core.transport.webhooks.rotation import retire_secret
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory

if TYPE_CHECKING:
    from orders_core.dispatching import CarrierMatching

# A fix from the future would shadow every real fix that follows it; allow only clock skew.
MAX_FUTURE_SKEW_S = 300.0
EARLIEST_TS_S = 946_684_800.0  # 2000-01-01T00:00:00Z: anything older is a client bug, not a GPS fix


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def save_carrier(
    uow: UnitOfWork,
    matching: CarrierMatching,
    carrier: Carrier,
    *,
    secret_grace_s: float = DEFAULT_ROTATION_GRACE_S,
) -> tuple[Carrier, bool]:
    """Upsert a carrier; the live index follows once the transaction commits. Returns (carrier, created).

    A carrier with a webhook URL but no secret keeps its previous secret (PUT stays idempotent) or gets
    a fresh one on first save. A changed secret is a rotation: the old one keeps signing webhooks beside
    the new one for ``secret_grace_s`` seconds.
    """
    repository = CarrierRepository(uow.session)
    previous = repository.get(carrier.id)
    if carrier.webhook_url and not carrier.webhook_secret:
        secret = previous.webhook_secret if previous and previous.webhook_secret else new_webhook_secret()
        carrier = replace(carrier, webhook_secret=secret)
    if previous is not None and previous.webhook_secret and previous.webhook_secret != carrier.webhook_secret:
        retire_secret(uow.session, carrier.id, previous.webhook_secret, now=utc_now(), grace_s=secret_grace_s)
    created = repository.upsert(carrier)
    saved = carrier
    uow.after_commit(lambda: matching.carrier_saved(saved))
    return carrier, created


def upsert_carrier(
    new_uow: UnitOfWorkFactory,
    carriers: CarrierMatching,
    carrier: Carrier,
    *,
    secret_grace_s: float = DEFAULT_ROTATION_GRACE_S,
) -> tuple[Carrier, bool]:
    """Create or replace a carrier in its own transaction; the live index follows once it commits.

    Answers (the carrier as saved, created): the saved one may carry a kept or fresh webhook secret.
    """
    with new_uow() as uow:
        saved, created = save_carrier(uow, carriers, carrier, secret_grace_s=secret_grace_s)
        uow.commit()
    return saved, created


def get_carrier(new_uow: UnitOfWorkFactory, carrier_id: str) -> Carrier:
    """One carrier or 404."""
    with new_uow() as uow:
        carrier = CarrierRepository(uow.session).get(carrier_id)
    if carrier is None:
        raise CarrierNotFound(f"no carrier with id {carrier_id!r}")
    return carrier


def latest_positions(new_uow: UnitOfWorkFactory, carrier_ids: Sequence[str]) -> dict[str, PositionFix]:
    """The newest stored fix of each named carrier that has one."""
    with new_uow() as uow:
        return CarrierRepository(uow.session).positions_of(carrier_ids)


def validate_fixes(fixes: Sequence[PositionFix], now_s: float) -> None:
    """Refuse the whole batch at the first impossible fix (coordinates out of range, bad time)."""
    for i, fix in enumerate(fixes):
        where = f"positions[{i}] (carrier {fix.carrier_id!r})"
        if not math.isfinite(fix.lat) or not -90.0 <= fix.lat <= 90.0:
            raise InvalidPosition(f"{where}: lat {fix.lat} is out of range [-90, 90]")
        if not math.isfinite(fix.lng) or not -180.0 <= fix.lng <= 180.0:
            raise InvalidPosition(f"{where}: lng {fix.lng} is out of range [-180, 180]")
        if not math.isfinite(fix.ts_s) or fix.ts_s < EARLIEST_TS_S:
            raise InvalidPosition(f"{where}: ts is not a plausible time")
        if fix.ts_s > now_s + MAX_FUTURE_SKEW_S:
            raise InvalidPosition(
                f"{where}: ts is {fix.ts_s - now_s:.0f} s in the future (allowed clock skew {MAX_FUTURE_SKEW_S:.0f} s)"
            )


def record_positions(
    uow: UnitOfWork, matching: CarrierMatching, fixes: Sequence[PositionFix], *, now_s: float | None = None
) -> int:
    """Validate a batch of fixes as a whole, store the newest per carrier and feed the live index.

    Returns how many fixes were accepted: fixes older than (or as old as) the carrier's stored fix are
    ignored, not errors, because GPS uplinks deliver out of order.
    """
    validate_fixes(fixes, time.time() if now_s is None else now_s)
    repository = CarrierRepository(uow.session)
    ids = {fix.carrier_id for fix in fixes}
    unknown = sorted(ids - repository.existing_ids(ids))
    if unknown:
        shown = ", ".join(repr(cid) for cid in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        raise UnknownCarriers(f"unknown carrier ids: {shown}; nothing was applied", details={"unknown": unknown})
    newest_ts = {cid: fix.ts_s for cid, fix in repository.positions_of(ids).items()}
    accepted: list[PositionFix] = []
    for fix in sorted(fixes, key=lambda f: f.ts_s):
        if fix.ts_s > newest_ts.get(fix.carrier_id, -math.inf):
            newest_ts[fix.carrier_id] = fix.ts_s
            accepted.append(fix)
    matching.ingest(uow, accepted)
    return len(accepted)


def accept_positions(new_uow: UnitOfWorkFactory, carriers: CarrierMatching, fixes: Sequence[PositionFix]) -> int:
    """Record a batch of fixes in its own transaction (see ``record_positions``); answers how many were accepted.

    The live index, Redis and fence events see the accepted fixes only once they are durable.
    """
    with new_uow() as uow:
        accepted = record_positions(uow, carriers, fixes)
        uow.commit()
    return accepted
