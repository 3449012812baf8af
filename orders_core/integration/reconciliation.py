"""The reconciliation use case: another system's order export (through its profile) against our orders.

Theirs are read as they are (``profile_records``), ours for the same period from the database in one
streamed aggregate (``our_orders``), keyed by the other system's order number when the order came in through
an import from that system. The period is the one asked for, else the span of their orders' placement
times. Errors are domain errors: a profile that is not an order profile, an export that cannot be read, a
tolerance that names no compared field, a bad period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from foundation.errors import InvalidInput
from orders_core.integration.order_reconcile import UnknownTolerance, order_spec
from orders_core.integration.our_orders import order_summaries
from orders_core.integration.profile import Profile
from orders_core.integration.profile_loader import load_profile
from orders_core.integration.profile_records import canonical_records, order_view
from orders_core.integration.reader import SourceUnreadable, file_sha256
from orders_core.integration.reconcile import Reconciliation, reconcile
from orders_core.integration.tables import SkuPackSizeRow
from orders_core.unit_of_work import UnitOfWorkFactory

MAX_PERIOD = timedelta(days=366)


class ReconciliationRefused(InvalidInput):
    """The reconciliation cannot run as asked (not an order profile, a bad tolerance or period)."""

    code = "reconciliation_refused"


class ExportUnreadable(InvalidInput):
    """The export cannot be read as the profile says (encoding, format, columns)."""

    code = "export_unreadable"


@dataclass(frozen=True)
class ReconcileOutcome:
    """A finished comparison: the result, the period compared and the export's digest."""

    result: Reconciliation
    period_from: datetime
    period_to: datetime
    export_sha256: str


def _pack_sizes(new_uow: UnitOfWorkFactory, profile: Profile) -> dict[str, int]:
    """SKU pack sizes for cases -> pieces: the item master's (imported), overridden by the profile's."""
    with new_uow() as uow:
        sizes = {row.sku: row.pieces_per_case for row in uow.session.scalars(select(SkuPackSizeRow))}
    return {**sizes, **profile.pack_sizes}


def _period(theirs: list[dict[str, Any]], start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    if start is None or end is None:
        times = [r["placed_at"] for r in theirs if isinstance(r.get("placed_at"), datetime)]
        if not times and (start is None or end is None):
            raise ReconciliationRefused("no period given and no readable placement time in the export: give from/to")
        start = start or min(times)
        end = end or max(times) + timedelta(seconds=1)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start or end - start > MAX_PERIOD:
        raise ReconciliationRefused(
            f"the period must end after it starts and span at most {MAX_PERIOD.days} days",
            details={"from": start.isoformat(), "to": end.isoformat()},
        )
    return start, end


def reconcile_export(
    new_uow: UnitOfWorkFactory,
    profile: Profile,
    export: str | Path,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    tolerances: dict[str, dict[str, Any]] | None = None,
) -> ReconcileOutcome:
    """Compare the export (read through ``profile``) with our orders of the period; nothing is written."""
    if profile.target != "order":
        raise ReconciliationRefused(f"profile {profile.name!r} maps {profile.target} records; reconcile needs orders")
    try:
        spec = order_spec(profile, tolerances)
    except UnknownTolerance as exc:
        raise ReconciliationRefused(str(exc)) from None
    sizes = _pack_sizes(new_uow, profile)
    try:
        theirs = [order_view(record) for record in canonical_records(profile, export, pack_sizes=sizes)]
    except SourceUnreadable as exc:
        raise ExportUnreadable(str(exc)) from None
    period_from, period_to = _period(theirs, start, end)
    ours = (order_view(r) for r in order_summaries(new_uow, period_from, period_to, system=profile.system))
    result = reconcile(spec, ours, theirs)
    return ReconcileOutcome(result, period_from, period_to, file_sha256(export))


class UnknownProfile(InvalidInput):
    """No profile of this name in the profiles folder."""

    code = "unknown_profile"


PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,99}$")


def profile_by_name(folder: Path, name: str) -> Profile:
    """The profile ``name`` (without ``.yaml``) from ``folder``; never a path (the desk names, it does not point)."""
    path = folder / f"{name}.yaml"
    if not PROFILE_NAME.match(name) or not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.yaml"))
        raise UnknownProfile(f"no profile {name!r}; known: {', '.join(known)}", details={"known": known})
    return load_profile(path)
