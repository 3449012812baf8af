"""The process's carrier matching: one live CarrierIndex, warmed from the DB and fed by positions.

Without Redis, positions go straight into this process's index. With Redis, they are also written to a
shared latest-position hash and an update stream that a background feed (``matcher.feeds``) tails into
every process's index; carrier master-data changes travel on the same stream. The relational store
keeps each carrier's newest fix, so a restart without Redis still knows where carriers are.

Geofence enter/exit events are detected (``geofences.events``) in the process that receives the fixes
and appended to ``geofence_events``. The dwell state is per process: with several API processes, route a
carrier's uplink to one process (or run one) for exact dwell semantics.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import asdict, replace
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from foundation.errors import InvalidInput
from geofences.events import FenceEventDetector
from geofences.repository import GeofenceRepository
from matcher.batch import assign_widening
from matcher.explain import MatchExplanation, describe_explanation
from matcher.fallback import NoCarrierInRange, match_with_fallback
from matcher.feeds import RedisPositionFeed, RedisPositionStore
from matcher.index import CarrierIndex
from matcher.model import BatchResult, Candidate, CarrierProfile, MatchQuery
from matcher.params import DEFAULT_MATCHER_PARAMS, MatcherParams
from orders_core.carriers.model import Carrier, PositionFix
from orders_core.carriers.repository import CarrierRepository
from orders_core.unit_of_work import UnitOfWork, UnitOfWorkFactory

log = structlog.get_logger("orders_core.dispatching")


class UnknownVehicleType(InvalidInput):
    """A match asks for a vehicle type no carrier has (a typo would otherwise answer "nobody")."""

    code = "unknown_vehicle_type"


def carrier_profile(carrier: Carrier) -> CarrierProfile:
    """The matcher's view of a carrier (floats only; the matcher never handles money precisely)."""
    return CarrierProfile(
        carrier_id=carrier.id,
        vehicle_type=carrier.vehicle_type,
        capacity_kg=float(carrier.capacity_kg),
        capacity_m3=float(carrier.capacity_m3),
        coverage=carrier.coverage,
        active=carrier.active,
        rate_per_km=float(carrier.rate_per_km),
        base_fare=float(carrier.base_fare),
        on_time_rate=float(carrier.on_time_rate),
        rating=float(carrier.rating),
    )


def _by_time(fixes: Sequence[PositionFix]) -> list[PositionFix]:
    """Fixes oldest first (stable): the order the index and the fence detector must see them in."""
    return sorted(fixes, key=lambda f: f.ts_s)


class CarrierMatching:
    """Owns the process's carrier index and keeps it in sync with carriers and their positions."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        redis_client: Any | None,
        *,
        max_position_age_s: float = 900.0,
        params: MatcherParams = DEFAULT_MATCHER_PARAMS,
    ) -> None:
        self.session_factory = session_factory
        self.index = CarrierIndex(max_position_age_s=max_position_age_s, params=params)
        self.store: RedisPositionStore | None = None if redis_client is None else RedisPositionStore(redis_client)
        self.feed: RedisPositionFeed | None = None
        self.fence_events = FenceEventDetector([])
        self._fence_lock = threading.Lock()  # the detector is not thread-safe; requests run in a pool

    # --- lifecycle -------------------------------------------------------------------------------

    def load(self, uow: UnitOfWork) -> int:
        """Warm the index from the DB (and Redis), then start tailing the stream; returns carriers loaded."""
        repository = CarrierRepository(uow.session)
        # Remember where the stream is *before* reading state, so nothing published meanwhile is missed.
        start_id = self.store.last_stream_id() if self.store is not None else "0-0"
        carriers = repository.list_all()
        for carrier in carriers:
            self.index.upsert_carrier(carrier_profile(carrier))
        durable = _by_time(repository.positions())
        self._apply(durable)
        fences = GeofenceRepository(uow.session).list_all()
        with self._fence_lock:
            self.fence_events.set_fences(fences)
            for fix in durable:  # first fixes set sides silently
                self.fence_events.observe(fix.carrier_id, fix.lat, fix.lng, fix.ts_s)
        if self.store is not None:
            known = {carrier.id for carrier in carriers}
            latest = [PositionFix(cid, *fix) for cid, fix in self.store.latest().items() if cid in known]
            self._apply(_by_time(latest))
            if self.feed is None:
                self.feed = RedisPositionFeed(
                    self.store,
                    self.index,
                    start_id=start_id,
                    on_carrier_changed=self.reload,
                    on_fences_changed=self.reload_fences,
                )
                self.feed.start()
        log.info("carrier_index_loaded", carriers=len(carriers), redis=self.store is not None)
        return len(carriers)

    def close(self) -> None:
        """Stop the stream feed (if any)."""
        if self.feed is not None:
            self.feed.stop()
            self.feed = None

    # --- keeping the index in sync ---------------------------------------------------------------

    def carrier_saved(self, carrier: Carrier) -> None:
        """Apply a committed carrier upsert here and tell other processes to reload it."""
        self.index.upsert_carrier(carrier_profile(carrier))
        if self.store is not None:
            try:
                self.store.publish_carrier_changed(carrier.id)
            except Exception:  # the DB is the truth; other processes catch up at their next restart
                log.exception("carrier_change_publish_failed", carrier_id=carrier.id)

    def reload(self, carrier_id: str) -> None:
        """Re-read one carrier from the DB (another process changed it)."""
        with UnitOfWork(self.session_factory) as uow:
            carrier = CarrierRepository(uow.session).get(carrier_id)
        if carrier is None:
            self.index.remove_carrier(carrier_id)
        else:
            self.index.upsert_carrier(carrier_profile(carrier))

    def fences_changed(self) -> None:
        """A committed geofence change: reload fences here and tell the other processes."""
        self.reload_fences()
        if self.store is not None:
            try:
                self.store.publish_fences_changed()
            except Exception:
                log.exception("fence_change_publish_failed")

    def reload_fences(self) -> None:
        """Re-read every geofence for event detection."""
        with UnitOfWork(self.session_factory) as uow:
            fences = GeofenceRepository(uow.session).list_all()
        with self._fence_lock:
            self.fence_events.set_fences(fences)

    def ingest(self, uow: UnitOfWork, fixes: Sequence[PositionFix]) -> None:
        """Persist the newest fix per carrier in ``uow``; once committed, publish and apply them.

        The fixes are applied to this process's index right after commit (not only via the stream), so
        a client that just posted a position can match against it immediately.
        """
        if not fixes:
            return
        CarrierRepository(uow.session).save_positions(fixes)
        batch = list(fixes)
        uow.after_commit(lambda: self._publish(batch))

    def _publish(self, fixes: Sequence[PositionFix]) -> None:
        if self.store is not None:
            try:
                self.store.write(
                    [f.carrier_id for f in fixes],
                    [f.lat for f in fixes],
                    [f.lng for f in fixes],
                    [f.ts_s for f in fixes],
                )
            except Exception:  # durable already; other processes will see it on reload
                log.exception("position_publish_failed", fixes=len(fixes))
        ordered = _by_time(fixes)
        self._apply(ordered)
        self._record_fence_events(ordered)

    def _record_fence_events(self, ordered: Sequence[PositionFix]) -> None:
        """Detect and store geofence events of fixes given in time order."""
        with self._fence_lock:
            events = [
                event
                for fix in ordered
                for event in self.fence_events.observe(fix.carrier_id, fix.lat, fix.lng, fix.ts_s)
            ]
        if events:
            try:
                with UnitOfWork(self.session_factory) as uow:
                    GeofenceRepository(uow.session).add_events(events)
                    uow.commit()
            except Exception:  # positions are durable; losing an event must not fail the request
                log.exception("fence_events_not_recorded", events=len(events))

    def _apply(self, ordered: Sequence[PositionFix]) -> int:
        """Feed fixes given in time order to the index."""
        if not ordered:
            return 0
        return int(
            self.index.update_positions(
                [f.carrier_id for f in ordered],
                [f.lat for f in ordered],
                [f.lng for f in ordered],
                [f.ts_s for f in ordered],
            )
        )

    # --- queries ---------------------------------------------------------------------------------

    def match(self, query: MatchQuery, now_s: float | None = None) -> list[Candidate]:
        """Eligible carriers within the query's radius, best first."""
        return list(self.index.match(query, now_s=now_s))

    def match_widening(
        self, query: MatchQuery, steps_m: Sequence[float], now_s: float | None = None
    ) -> tuple[list[Candidate], float]:
        """Widen the radius through ``steps_m`` until someone is eligible (404 no_carrier_in_range if never,
        its details explaining, at the widest radius, why each carrier was left out)."""
        try:
            candidates, radius_m = match_with_fallback(self.index, query, steps_m, now_s=now_s)
        except NoCarrierInRange as nobody:
            widest = max([query.radius_m, *steps_m])
            explanation = self.index.explain(replace(query, radius_m=widest), now_s=now_s)
            nobody.details["explanation"] = {**asdict(explanation), "message": describe_explanation(explanation)}
            raise
        return list(candidates), float(radius_m)

    def match_batch_widening(
        self,
        queries: Sequence[MatchQuery],
        radii_m: Sequence[Sequence[float]],
        per_carrier_capacity: int = 1,
        now_s: float | None = None,
    ) -> BatchResult:
        """Assign many jobs at once, each widening through its own radii (``matcher.batch.assign_widening``)."""
        return assign_widening(self.index, queries, radii_m, per_carrier_capacity=per_carrier_capacity, now_s=now_s)

    def check_vehicle_type(self, vehicle_type: str | None) -> None:
        """Refuse (422 unknown_vehicle_type, naming the fleet's types) a type no carrier has."""
        if vehicle_type is None or self.index.knows_vehicle_type(vehicle_type):
            return
        known = self.index.vehicle_types()
        if vehicle_type not in known:
            raise UnknownVehicleType(
                f"vehicle_type {vehicle_type!r} is not a vehicle type of any carrier; allowed: "
                + (", ".join(repr(v) for v in known) if known else "none yet (no carrier is registered)"),
                details={"allowed": known},
            )

    def match_batch(
        self, queries: Sequence[MatchQuery], per_carrier_capacity: int = 1, now_s: float | None = None
    ) -> BatchResult:
        """Assign many shipments at once (assignment solver in the index), each carrier at most N times."""
        return self.index.match_batch(list(queries), now_s=now_s, per_carrier_capacity=per_carrier_capacity)

    def explain(
        self, query: MatchQuery, nearest_answer_m: float | None = None, now_s: float | None = None
    ) -> MatchExplanation:
        """Why carriers were left out of ``query``'s answer (counts per reason, nearer stale carriers)."""
        return self.index.explain(query, now_s=now_s, nearest_answer_m=nearest_answer_m)

    def stale_carrier_nearer(self, query: MatchQuery, nearest_answer_m: float | None) -> bool:
        """Whether a carrier skipped only for its old position is nearer the pickup than the answer's nearest."""
        if not math.isfinite(self.index.max_position_age_s):
            return False
        nearest = self.index.nearest_distance_any_age(query)
        return nearest is not None and (nearest_answer_m is None or nearest < nearest_answer_m)

    def vehicle_types(self) -> list[str]:
        """The vehicle types the fleet has (what a match's ``vehicle_type`` may name)."""
        return self.index.vehicle_types()

    def position_of(self, carrier_id: str) -> tuple[float, float, float] | None:
        """This process's view of a carrier's newest fix (lat, lng, ts_s)."""
        position = self.index.position_of(carrier_id)
        return None if position is None else (float(position[0]), float(position[1]), float(position[2]))


def build_carrier_matching(
    session_factory: sessionmaker[Session],
    redis_client: Any | None,
    *,
    max_position_age_s: float = 900.0,
    params: MatcherParams = DEFAULT_MATCHER_PARAMS,
) -> CarrierMatching:
    """The container's factory: in-process index (tuned by ``params``), fed from Redis when Redis is configured."""
    return CarrierMatching(session_factory, redis_client, max_position_age_s=max_position_age_s, params=params)


def warm_carrier_index(new_uow: UnitOfWorkFactory, matching: CarrierMatching) -> int:
    """``CarrierMatching.load`` in its own (read-only) transaction, at process start; answers carriers loaded."""
    with new_uow() as uow:
        return matching.load(uow)
