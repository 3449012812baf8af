"""Enter/exit events as carriers move through geofences, robust to GPS jitter and out-of-order fixes.

Rules, per (carrier, fence):
- The first fix of a carrier sets its side silently (no event: we did not see it cross).
- A side change is confirmed only once the carrier has stayed on the new side for ``dwell_fixes``
  consecutive fixes or for ``dwell_s`` seconds, whichever comes first; the event carries the time and
  place of the first fix on the new side. A fix back on the old side cancels the pending change, so
  jitter along a boundary produces nothing.
- Fixes not newer than the carrier's last fix are ignored (GPS uplinks deliver out of order).
- When two consecutive fixes are both outside but the straight segment between them runs through
  the fence for at least ``min_crossing_m`` (a fast vehicle, sparse fixes), an enter+exit pair is
  emitted with times interpolated along the segment.
Pure Python: feed it fixes, get events; persistence and delivery are the caller's business.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from shapely import STRtree
from shapely.geometry import LineString, Point
from shapely.geometry.base import BaseGeometry
from shapely.prepared import PreparedGeometry, prep

from geo.distance import haversine_m
from geofences.cover import Cover, cached_cover
from geofences.model import Geofence

EventKind = Literal["enter", "exit"]


@dataclass(frozen=True)
class FenceEvent:
    """A confirmed crossing of a fence boundary by a carrier."""

    carrier_id: str
    fence_id: str
    kind: EventKind
    ts_s: float
    lat: float
    lng: float
    via_crossing: bool = False  # inferred from a segment between two outside fixes


@dataclass
class _FenceState:
    inside: bool
    last_raw_inside: bool
    pending_count: int = 0
    pending_since: tuple[float, float, float] | None = None  # (ts_s, lat, lng) of the first fix on the new side


@dataclass
class _Track:
    ts_s: float
    lat: float
    lng: float
    fences: dict[str, _FenceState] = field(default_factory=dict)


@dataclass(frozen=True)
class _Fence:
    fence: Geofence
    prepared: PreparedGeometry
    cover: Cover  # H3 interior/boundary cells: most fixes need one set lookup, not a polygon test

    def covers(self, lat: float, lng: float) -> bool:
        return self.cover.contains(lat, lng)


class FenceEventDetector:
    """Turns a stream of carrier fixes into enter/exit events for a set of fences."""

    def __init__(
        self,
        fences: Iterable[Geofence],
        *,
        dwell_fixes: int = 3,
        dwell_s: float = 60.0,
        min_crossing_m: float = 5.0,
    ) -> None:
        if dwell_fixes < 1:
            raise ValueError("dwell_fixes must be at least 1")
        self.dwell_fixes = dwell_fixes
        self.dwell_s = dwell_s
        self.min_crossing_m = min_crossing_m
        self._fences: dict[str, _Fence] = {}
        self._tracks: dict[str, _Track] = {}
        self.set_fences(fences)

    def set_fences(self, fences: Iterable[Geofence]) -> None:
        """Replace the fence set. States for removed fences are dropped; a carrier already inside a
        newly added fence is reported as entering it (after the dwell), as if the fence had just appeared."""
        self._fences = {f.id: _Fence(f, prep(f.geometry), cached_cover(f.geometry)) for f in fences}
        self._fence_ids = list(self._fences)
        self._tree = STRtree([self._fences[fid].fence.geometry.envelope for fid in self._fence_ids])
        for track in self._tracks.values():
            for fence_id in list(track.fences):
                if fence_id not in self._fences:
                    del track.fences[fence_id]

    def inside(self, carrier_id: str, fence_id: str) -> bool | None:
        """The confirmed side of a carrier for a fence (None if the carrier was never seen)."""
        track = self._tracks.get(carrier_id)
        if track is None:
            return None
        state = track.fences.get(fence_id)
        return False if state is None else state.inside

    def _candidates(self, track: _Track, probe: BaseGeometry) -> list[str]:
        # Only fences whose bounding box the fix (or the segment from the previous fix) touches, plus
        # those the carrier is inside of or about to change side for, can change anything.
        hits = {self._fence_ids[i] for i in self._tree.query(probe)} if self._fence_ids else set()
        return sorted(hits | set(track.fences))

    def observe(self, carrier_id: str, lat: float, lng: float, ts_s: float) -> list[FenceEvent]:
        """Feed one fix; answers the events it confirms (possibly none)."""
        track = self._tracks.get(carrier_id)
        if track is not None and ts_s <= track.ts_s:
            return []
        events: list[FenceEvent] = []
        if track is None:
            # First fix: remember which fences the carrier is inside of, silently.
            track = _Track(ts_s, lat, lng)
            self._tracks[carrier_id] = track
            for fence_id in self._candidates(track, Point(lng, lat)):
                if self._fences[fence_id].covers(lat, lng):
                    track.fences[fence_id] = _FenceState(inside=True, last_raw_inside=True)
            return events
        moved = (track.lat, track.lng) != (lat, lng)
        probe = LineString([(track.lng, track.lat), (lng, lat)]) if moved else Point(lng, lat)
        for fence_id in self._candidates(track, probe):
            fence = self._fences[fence_id]
            inside_now = fence.covers(lat, lng)
            state = track.fences.get(fence_id) or _FenceState(inside=False, last_raw_inside=False)
            if inside_now == state.inside:
                crossing_possible = not inside_now and not state.last_raw_inside and state.pending_since is None
                state.pending_count, state.pending_since = 0, None
                if crossing_possible and moved:
                    events.extend(self._crossing(carrier_id, fence, track, probe, lat, lng, ts_s))
            else:
                if state.pending_since is None:
                    state.pending_since = (ts_s, lat, lng)
                    state.pending_count = 0
                state.pending_count += 1
                since_ts, since_lat, since_lng = state.pending_since
                if state.pending_count >= self.dwell_fixes or ts_s - since_ts >= self.dwell_s:
                    state.inside = inside_now
                    state.pending_count, state.pending_since = 0, None
                    kind: EventKind = "enter" if inside_now else "exit"
                    events.append(FenceEvent(carrier_id, fence_id, kind, since_ts, since_lat, since_lng))
            state.last_raw_inside = inside_now
            if state.inside or state.last_raw_inside or state.pending_since is not None:
                track.fences[fence_id] = state
            else:
                track.fences.pop(fence_id, None)  # plain "outside" is the default: keep tracks small
        track.ts_s, track.lat, track.lng = ts_s, lat, lng
        return events

    def _crossing(
        self, carrier_id: str, fence: _Fence, track: _Track, segment: BaseGeometry, lat: float, lng: float, ts_s: float
    ) -> list[FenceEvent]:
        """The enter+exit pair when ``segment`` (previous fix -> this one) runs through the fence far enough."""
        if segment.length == 0.0 or not fence.prepared.intersects(segment):
            return []
        through: BaseGeometry = segment.intersection(fence.fence.geometry)
        fractions = [segment.project(Point(xy), normalized=True) for xy in _coordinates(through)]
        if not fractions:
            return []
        enter_f, exit_f = min(fractions), max(fractions)
        length_m = haversine_m(track.lat, track.lng, lat, lng)
        if (exit_f - enter_f) * length_m < self.min_crossing_m:
            return []

        def at(fraction: float) -> tuple[float, float, float]:
            return (
                track.ts_s + fraction * (ts_s - track.ts_s),
                track.lat + fraction * (lat - track.lat),
                track.lng + fraction * (lng - track.lng),
            )

        (t_in, lat_in, lng_in), (t_out, lat_out, lng_out) = at(enter_f), at(exit_f)
        return [
            FenceEvent(carrier_id, fence.fence.id, "enter", t_in, lat_in, lng_in, via_crossing=True),
            FenceEvent(carrier_id, fence.fence.id, "exit", t_out, lat_out, lng_out, via_crossing=True),
        ]


def _coordinates(geometry: BaseGeometry) -> list[tuple[float, float]]:
    if geometry.is_empty:
        return []
    parts = getattr(geometry, "geoms", None)
    if parts is not None:
        return [xy for part in parts for xy in _coordinates(part)]
    return [(float(x), float(y)) for x, y, *_ in geometry.coords if math.isfinite(x) and math.isfinite(y)]
