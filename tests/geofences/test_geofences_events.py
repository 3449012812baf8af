"""Fence events: dwell against jitter, out-of-order fixes ignored, crossings between two outside fixes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon

from geofences.events import FenceEvent, FenceEventDetector
from geofences.model import Geofence, GeofenceKind

# A ~1.1 km square around (30.005, 120.005).
SQUARE = Geofence(
    "sq", GeofenceKind.SERVICE_AREA, Polygon([(120.0, 30.0), (120.01, 30.0), (120.01, 30.01), (120.0, 30.01)])
)
INSIDE = (30.005, 120.005)
OUTSIDE = (30.005, 119.99)


def _feed(detector: FenceEventDetector, fixes: list[tuple[float, float, float]]) -> list[FenceEvent]:
    events: list[FenceEvent] = []
    for lat, lng, ts in fixes:
        events.extend(detector.observe("CAR", lat, lng, ts))
    return events


def test_first_fix_sets_the_side_silently() -> None:
    detector = FenceEventDetector([SQUARE])
    assert detector.observe("CAR", *INSIDE, 0.0) == []
    assert detector.inside("CAR", "sq") is True


def test_entering_is_confirmed_after_n_fixes_with_the_time_of_the_first() -> None:
    detector = FenceEventDetector([SQUARE], dwell_fixes=3, dwell_s=1e9)
    fixes = [(*OUTSIDE, 0.0), (*INSIDE, 10.0), (*INSIDE, 20.0), (*INSIDE, 30.0), (*INSIDE, 40.0)]
    events = _feed(detector, fixes)
    assert [(e.kind, e.ts_s) for e in events] == [("enter", 10.0)]


def test_entering_is_confirmed_after_dwell_seconds_even_with_few_fixes() -> None:
    detector = FenceEventDetector([SQUARE], dwell_fixes=10, dwell_s=60.0)
    events = _feed(detector, [(*OUTSIDE, 0.0), (*INSIDE, 10.0), (*INSIDE, 75.0)])
    assert [(e.kind, e.ts_s) for e in events] == [("enter", 10.0)]


def test_jitter_across_the_boundary_produces_nothing() -> None:
    detector = FenceEventDetector([SQUARE], dwell_fixes=3, dwell_s=60.0)
    edge_in, edge_out = (30.005, 120.00001), (30.005, 119.99999)
    fixes = [(*(edge_in if i % 2 else edge_out), float(i)) for i in range(50)]
    assert _feed(detector, fixes) == []


def test_out_of_order_fixes_are_ignored() -> None:
    detector = FenceEventDetector([SQUARE], dwell_fixes=1)
    assert _feed(detector, [(*OUTSIDE, 100.0), (*INSIDE, 50.0), (*INSIDE, 100.0)]) == []
    assert detector.inside("CAR", "sq") is False


def test_a_segment_through_the_fence_between_two_outside_fixes_is_an_enter_exit_pair() -> None:
    detector = FenceEventDetector([SQUARE])
    events = _feed(detector, [(30.005, 119.99, 0.0), (30.005, 120.02, 30.0)])
    assert [e.kind for e in events] == ["enter", "exit"]
    assert all(e.via_crossing for e in events)
    assert 0.0 < events[0].ts_s < events[1].ts_s < 30.0
    assert abs(events[0].lng - 120.0) < 1e-9 and abs(events[1].lng - 120.01) < 1e-9
    assert detector.inside("CAR", "sq") is False


def test_a_segment_passing_beside_the_fence_is_no_crossing() -> None:
    detector = FenceEventDetector([SQUARE])
    assert _feed(detector, [(30.02, 119.99, 0.0), (30.02, 120.02, 30.0)]) == []


side = st.booleans()


@settings(max_examples=150, deadline=None)
@given(sides=st.lists(side, min_size=1, max_size=60), dwell=st.integers(min_value=1, max_value=5))
def test_events_alternate_and_match_the_confirmed_side(sides: list[bool], dwell: int) -> None:
    detector = FenceEventDetector([SQUARE], dwell_fixes=dwell, dwell_s=1e9)
    fixes = [(*(INSIDE if s else OUTSIDE), float(i)) for i, s in enumerate(sides)]
    events = [e for e in _feed(detector, fixes) if not e.via_crossing]
    state = sides[0]
    for event in events:
        assert event.kind == ("exit" if state else "enter")
        state = not state
    assert detector.inside("CAR", "sq") is state
    # A state change happens exactly when a run of `dwell` fixes on the other side completes.
    expected, run = sides[0], 0
    for s in sides[1:]:
        run = run + 1 if s != expected else 0
        if run >= dwell:
            expected, run = s, 0
    assert state is expected


@settings(max_examples=100, deadline=None)
@given(sides=st.lists(side, min_size=1, max_size=40), stale=st.lists(st.tuples(st.integers(0, 39), side), max_size=20))
def test_interleaved_stale_fixes_change_nothing(sides: list[bool], stale: list[tuple[int, bool]]) -> None:
    clean = [(*(INSIDE if s else OUTSIDE), float(i * 10)) for i, s in enumerate(sides)]
    noisy: list[tuple[float, float, float]] = []
    for i, fix in enumerate(clean):
        noisy.append(fix)
        for position, s in stale:
            if position == i and i > 0:
                noisy.append((*(INSIDE if s else OUTSIDE), fix[2] - 5.0))  # older than the fix just sent
    a = _feed(FenceEventDetector([SQUARE], dwell_fixes=2, dwell_s=1e9), clean)
    b = _feed(FenceEventDetector([SQUARE], dwell_fixes=2, dwell_s=1e9), noisy)
    assert a == b


def _reference_events(fence: Geofence, fixes: list[tuple[float, float, float]], dwell: int) -> list[tuple]:
    """Oracle without pruning or crossings: per fence, a side change after `dwell` fixes on the new side."""
    from shapely.geometry import Point

    sides = [bool(fence.geometry.covers(Point(lng, lat))) for lat, lng, _ in fixes]
    events, state, run_start, run = [], sides[0], 0, 0
    for i in range(1, len(sides)):
        if sides[i] != state:
            if run == 0:
                run_start = i
            run += 1
            if run >= dwell:
                state = sides[i]
                events.append((fence.id, "enter" if state else "exit", fixes[run_start][2]))
                run = 0
        else:
            run = 0
    return events


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.tuples(st.floats(-0.004, 0.004), st.floats(-0.004, 0.004)), min_size=1, max_size=80),
    dwell=st.integers(1, 4),
)
def test_many_fences_match_a_per_fence_oracle(steps: list[tuple[float, float]], dwell: int) -> None:
    fences = [
        Geofence(
            f"f{i}",
            GeofenceKind.RESTRICTED_ZONE,
            Polygon([(x, y), (x + 0.006, y), (x + 0.006, y + 0.006), (x, y + 0.006)]),
        )
        for i, (x, y) in enumerate([(120.0, 30.0), (120.004, 30.004), (120.012, 29.995), (119.99, 30.01)])
    ]
    lat, lng, fixes = 30.004, 120.004, []
    for i, (dlat, dlng) in enumerate(steps):
        lat, lng = lat + dlat, lng + dlng
        fixes.append((lat, lng, float(i)))
    detector = FenceEventDetector(fences, dwell_fixes=dwell, dwell_s=1e12, min_crossing_m=1e12)
    got = sorted((e.fence_id, e.kind, e.ts_s) for e in _feed(detector, fixes))
    expected = sorted(e for fence in fences for e in _reference_events(fence, fixes, dwell))
    assert got == expected
