"""Matrix providers: the straight-line model, the caller's matrix, and the OSM road network (pyrosm's
bundled extract of Helsinki's surroundings, read with pyrosm and routed with pandana)."""

from __future__ import annotations

import math

import numpy as np
import pyrosm
import pytest

from geo.distance import destination_point, haversine_m
from routing.matrices import (
    GivenMatrixProvider,
    InvalidLocation,
    InvalidMatrix,
    OffRoadNetwork,
    RoadNetworkProvider,
    StraightLineProvider,
    UnreachableLocations,
    configured_provider,
    given_matrix,
)
from routing.matrices.road_network import edge_speeds_kmh, load_road_network
from routing.model import Point
from routing.params import RoutingParams

TEST_PBF = pyrosm.get_data("test_pbf")
# Points inside the bundled extract (bounds lng 26.930..26.970, lat 60.520..60.540).
TOWN = [
    Point(60.525, 26.945),
    Point(60.530, 26.950),
    Point(60.535, 26.960),
    Point(60.522, 26.935),
    Point(60.538, 26.94),
]


def test_straight_line_is_haversine_times_detour_at_the_configured_speed() -> None:
    provider = StraightLineProvider(detour_factor=1.4, speed_kmh=36.0)  # 10 m/s
    points = [Point(52.52, 13.405), Point(52.50, 13.40), Point(52.53, 13.45)]
    matrix = provider.matrix(points)
    for i, a in enumerate(points):
        for j, b in enumerate(points):
            expected = haversine_m(a.lat, a.lng, b.lat, b.lng) * 1.4
            assert matrix.distances_m[i, j] == pytest.approx(expected, rel=1e-12, abs=1e-9)
            assert matrix.durations_s[i, j] == pytest.approx(expected / 10.0, rel=1e-12, abs=1e-9)
    assert np.all(np.diag(matrix.distances_m) == 0.0)
    assert matrix.size == 3


def test_straight_line_refuses_impossible_coordinates_by_index() -> None:
    with pytest.raises(InvalidLocation) as caught:
        StraightLineProvider().matrix([Point(0.0, 0.0), Point(91.0, 0.0)])
    assert "location 1" in caught.value.message and "latitude" in caught.value.message
    assert "stop 'x'" in caught.value.named(["depot", "stop 'x'"]).message


def test_configured_provider_follows_the_settings() -> None:
    assert isinstance(configured_provider(RoutingParams()), StraightLineProvider)
    assert isinstance(configured_provider(RoutingParams(osm_pbf=TEST_PBF)), RoadNetworkProvider)
    with pytest.raises(ValueError, match="detour_factor"):
        RoutingParams(detour_factor=0.9)
    with pytest.raises(ValueError, match="max_time_limit_s"):
        RoutingParams(time_limit_s=60.0, max_time_limit_s=30.0)
    assert RoutingParams(max_time_limit_s=5.0).capped_time_limit_s(60.0) == 5.0
    assert RoutingParams(time_limit_s=2.0).capped_time_limit_s(None) == 2.0


def test_given_matrix_is_used_exactly_as_given() -> None:
    durations = [[0, 5, 7], [9, 0, 3], [1, 2, 0]]
    distances = [[0, 50, 70], [90, 0, 30], [10, 20, 0]]
    matrix = GivenMatrixProvider(durations, distances).matrix([Point(0, 0)] * 3)
    assert matrix.durations_s.tolist() == durations
    assert matrix.distances_m.tolist() == distances


@pytest.mark.parametrize(
    ("durations", "distances", "fragment"),
    [
        ([[0, 1], [1, 0]], [[0, 1], [1, 0]], "is 2 x 2; the plan has 3 locations"),
        ([[0, 1, 2], [1, 0, 2]], [[0, 1, 2], [1, 0, 2], [2, 2, 0]], "durations_s is 2 x 3"),
        (
            [[0, 1, 2], [1, 0, 2], [2, 2, 0]],
            [[0, 1, 2], [1, 0, -2], [2, 2, 0]],
            "distances_m[1][2] (from stop 'a' to stop 'b')",
        ),
        ([[0, 1, 2], [1, 0, 2], [2, math.inf, 0]], [[0, 1, 2], [1, 0, 2], [2, 2, 0]], "durations_s[2][1]"),
        ([[0, 1, 2], [1, 0], [2, 2, 0]], [[0, 1, 2], [1, 0, 2], [2, 2, 0]], "must be a list of 3 rows of 3 numbers"),
    ],
)
def test_given_matrix_of_wrong_shape_or_values_is_refused(
    durations: list[list[float]], distances: list[list[float]], fragment: str
) -> None:
    with pytest.raises(InvalidMatrix) as caught:
        given_matrix(durations, distances, 3, ["depot", "stop 'a'", "stop 'b'"])
    assert fragment in caught.value.message


def test_edge_speeds_use_maxspeed_then_the_highway_default() -> None:
    speeds = edge_speeds_kmh(
        ["80", "30 mph", "50;30", "RU:urban", None, None], ["x", "x", "x", "primary", "residential", "track"]
    )
    assert speeds.tolist() == pytest.approx([80.0, 30 * 1.609344, 50.0, 60.0, 30.0, 30.0])


def test_road_network_is_built_once_per_process() -> None:
    assert load_road_network(TEST_PBF) is load_road_network(TEST_PBF)
    network = load_road_network(TEST_PBF)
    assert network.node_count > 500 and network.edge_count > network.node_count
    assert 0 < len(network.snappable) < network.node_count  # the extract's clipped fragments are not snapped onto


def test_road_distance_is_never_shorter_than_the_straight_line() -> None:
    matrix, snaps = RoadNetworkProvider(TEST_PBF).matrix_and_snaps(TOWN)
    straight = StraightLineProvider(detour_factor=1.0).matrix(TOWN).distances_m
    off_diagonal = ~np.eye(len(TOWN), dtype=bool)
    assert np.all(matrix.distances_m[off_diagonal] >= straight[off_diagonal] - 1e-6)
    assert np.all(np.isfinite(matrix.distances_m)) and np.all(np.isfinite(matrix.durations_s))
    assert np.all(matrix.durations_s[off_diagonal] > 0)
    assert np.all(np.diag(matrix.distances_m) == 0) and np.all(np.diag(matrix.durations_s) == 0)
    # Roads are mostly two-way here: there and back differ by one-way detours at most.
    ratio = matrix.distances_m[off_diagonal] / matrix.distances_m.T[off_diagonal]
    assert np.median(ratio) == pytest.approx(1.0, abs=0.05) and ratio.max() < 3
    # Driving is slower than 130 km/h and faster than walking.
    speed_kmh = matrix.distances_m[off_diagonal] / matrix.durations_s[off_diagonal] * 3.6
    assert np.all((speed_kmh > 5) & (speed_kmh < 130))
    assert all(s.snap_m < 300 for s in snaps)


def test_snapping_finds_the_node_a_point_sits_on() -> None:
    network = load_road_network(TEST_PBF)
    node = int(network.snappable[len(network.snappable) // 2])
    on_node = Point(float(network.node_lat[node]), float(network.node_lng[node]))
    lat, lng = destination_point(on_node.lat, on_node.lng, 45.0, 3.0)
    snaps = RoadNetworkProvider(TEST_PBF).snap([on_node, Point(lat, lng)])
    assert snaps[0].node == node and snaps[0].snap_m == pytest.approx(0.0, abs=1e-6)
    assert snaps[1].snap_m == pytest.approx(3.0, abs=1.0)
    # The snap leg is part of the travel: from the node to the point 3 m off it is about 3 m more than 0.
    matrix = RoadNetworkProvider(TEST_PBF).matrix([on_node, Point(lat, lng)])
    assert matrix.distances_m[0, 1] >= 3.0 - 1.0


def test_a_point_far_from_every_road_is_reported_by_name() -> None:
    far_lat, far_lng = destination_point(60.53, 26.95, 0.0, 20_000.0)  # 20 km north, off the extract
    provider = RoadNetworkProvider(TEST_PBF, max_snap_m=500.0)
    with pytest.raises(OffRoadNetwork) as caught:
        provider.matrix([TOWN[0], TOWN[1], Point(far_lat, far_lng)])
    error = caught.value.named(["depot", "stop 'a'", "stop 'far'"])
    assert error.code == "off_road_network"
    assert "stop 'far'" in error.message and "stop 'a'" not in error.message
    assert error.details["locations"] == ["stop 'far'"]


def test_points_on_a_disconnected_fragment_are_reported_as_unreachable_pairs() -> None:
    network = load_road_network(TEST_PBF)
    main = set(network.snappable.tolist())
    isolated = next(i for i in range(network.node_count) if i not in main)
    # Snapping onto any node (not only the main part) puts this point on a fragment the rest cannot reach.
    provider = RoadNetworkProvider(TEST_PBF, main_component_only=False)
    fragment = Point(float(network.node_lat[isolated]), float(network.node_lng[isolated]))
    core = int(network.snappable[0])
    centre = Point(float(network.node_lat[core]), float(network.node_lng[core]))
    with pytest.raises(UnreachableLocations) as caught:
        provider.matrix([centre, fragment])
    error = caught.value.named(["depot", "stop 'island'"])
    assert error.pairs and all(1 in pair for pair in error.pairs)
    assert "stop 'island'" in error.message and error.details["pairs"]
    # The default provider snaps onto the connected part instead: every pair has a finite cost.
    matrix = RoadNetworkProvider(TEST_PBF).matrix([centre, fragment])
    assert np.all(np.isfinite(matrix.distances_m))
