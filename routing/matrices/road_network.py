"""Travel on a real road network read from an OpenStreetMap extract (.osm.pbf) the operator points to.

pyrosm reads the extract's driving network (one-way streets and roundabouts honoured); pandana builds
contraction hierarchies over it with two impedances, metres and seconds (each edge's length at its
``maxspeed``, else a default speed for its highway type). A point is snapped to the nearest node of the
network's largest strongly connected part (any node of it reaches any other), and the snap leg is added
to its travel at ``access_speed_kmh``. Points farther than ``max_snap_m`` from the network are refused,
and any pair the network cannot connect is reported (:class:`UnreachableLocations`), never left infinite.

The network is built once per process and extract (keyed by path, size and modification time); pyrosm
and pandana are imported only then, so the service starts without them.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from geo.distance import haversine_pairs_m
from routing.matrices.errors import OffRoadNetwork, UnreachableLocations
from routing.matrices.points import coordinates
from routing.model import FloatMatrix, Point, TravelMatrix

#: Speeds (km/h) of edges without a usable ``maxspeed``, by highway type (urban-ish averages).
HIGHWAY_SPEED_KMH: dict[str, float] = {
    "motorway": 100.0,
    "motorway_link": 60.0,
    "trunk": 80.0,
    "trunk_link": 50.0,
    "primary": 60.0,
    "primary_link": 40.0,
    "secondary": 50.0,
    "secondary_link": 40.0,
    "tertiary": 40.0,
    "tertiary_link": 30.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 30.0,
}
DEFAULT_SPEED_KMH = 30.0
MPH_KMH = 1.609344
#: pandana answers this for a pair its graph does not connect (an unsigned-int sentinel / 1000).
PANDANA_UNREACHABLE = 4294967.295

IntArray = npt.NDArray[np.int64]


def edge_speeds_kmh(maxspeed: Sequence[object], highway: Sequence[object]) -> FloatMatrix:
    """Each edge's speed: its numeric ``maxspeed`` (``50``, ``30 mph``, ``50;30`` takes the first), else the
    highway type's default, else :data:`DEFAULT_SPEED_KMH`."""
    speeds = np.empty(len(maxspeed), dtype=np.float64)
    for i, (limit, kind) in enumerate(zip(maxspeed, highway, strict=True)):
        speeds[i] = _parse_maxspeed(limit) or HIGHWAY_SPEED_KMH.get(str(kind), DEFAULT_SPEED_KMH)
    return speeds


def _parse_maxspeed(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    first = value.split(";")[0].strip().lower()
    number = first.removesuffix("mph").strip()
    try:
        speed = float(number)
    except ValueError:
        return None  # "RU:urban", "walk", "none", ...: the highway default is a better guess
    if speed <= 0:
        return None
    return speed * MPH_KMH if first.endswith("mph") else speed


def _unit_vectors(lat: FloatMatrix, lng: FloatMatrix) -> FloatMatrix:
    phi, lmb = np.radians(lat), np.radians(lng)
    return np.column_stack((np.cos(phi) * np.cos(lmb), np.cos(phi) * np.sin(lmb), np.sin(phi)))


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """pandana's C++ prints its progress on file descriptor 1; the CLI keeps stdout for answers."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


@dataclass(frozen=True)
class Snap:
    """Where a point joins the network: the node (index into the network's nodes) and how far it is."""

    node: int
    snap_m: float


class RoadNetwork:
    """A directed driving network with contraction hierarchies for metres (``length``) and seconds (``time``)."""

    def __init__(
        self,
        node_lat: FloatMatrix,
        node_lng: FloatMatrix,
        edge_from: IntArray,
        edge_to: IntArray,
        length_m: FloatMatrix,
        time_s: FloatMatrix,
    ) -> None:
        import pandana
        import pandas as pd
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components
        from scipy.spatial import cKDTree

        self.node_lat = np.asarray(node_lat, dtype=np.float64)
        self.node_lng = np.asarray(node_lng, dtype=np.float64)
        count = len(self.node_lat)
        self.edge_count = len(edge_from)
        # pandana's queries share per-network search state in C++: one query at a time per network.
        self._query_lock = threading.Lock()
        with _stdout_to_stderr():
            self._net: Any = pandana.Network(
                pd.Series(self.node_lng),
                pd.Series(self.node_lat),
                np.asarray(edge_from, dtype=np.int64),
                np.asarray(edge_to, dtype=np.int64),
                pd.DataFrame({"length": length_m, "time": time_s}),
                twoway=False,
            )
        # Snap only onto the largest strongly connected part: from any of its nodes every other is
        # reachable, so a point next to a dead-end fragment (a clipped motorway ramp) is not unreachable.
        graph = coo_matrix((np.ones(len(edge_from)), (edge_from, edge_to)), shape=(count, count))
        _, labels = connected_components(graph.tocsr(), directed=True, connection="strong")
        main = int(np.bincount(labels).argmax()) if count else 0
        self.snappable: IntArray = np.flatnonzero(labels == main).astype(np.int64)
        self._all_tree = cKDTree(_unit_vectors(self.node_lat, self.node_lng))
        self._main_tree = cKDTree(_unit_vectors(self.node_lat[self.snappable], self.node_lng[self.snappable]))

    @property
    def node_count(self) -> int:
        return len(self.node_lat)

    def snap(self, points: Sequence[Point], *, main_component_only: bool = True) -> list[Snap]:
        """The nearest network node of each point (great-circle nearest) and its distance in metres."""
        lat, lng = coordinates(points)
        tree = self._main_tree if main_component_only else self._all_tree
        _, found = tree.query(_unit_vectors(lat, lng))
        nodes = self.snappable[found] if main_component_only else np.asarray(found, dtype=np.int64)
        snap_m = haversine_pairs_m(lat, lng, self.node_lat[nodes], self.node_lng[nodes])
        return [Snap(int(n), float(d)) for n, d in zip(nodes, snap_m, strict=True)]

    def node_matrix(self, nodes: Sequence[int], impedance: str) -> FloatMatrix:
        """Shortest ``impedance`` (``length`` m or ``time`` s) between every ordered pair of ``nodes``;
        ``inf`` where the network has no path."""
        ids = np.asarray(nodes, dtype=np.int64)
        m = len(ids)
        origins = np.repeat(ids, m)
        destinations = np.tile(ids, m)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandana warns with every unconnected pair; we report them
            with self._query_lock:
                lengths = self._net.shortest_path_lengths(origins, destinations, imp_name=impedance)
            found = np.asarray(lengths, dtype=np.float64)
        found[found >= PANDANA_UNREACHABLE - 0.5] = np.inf
        return found.reshape(m, m)

    @classmethod
    def from_pbf(cls, path: str | Path) -> RoadNetwork:
        """Read the driving network of an OSM extract (pyrosm) and build its hierarchies (pandana)."""
        import pyrosm
        from pyrosm.graphs import get_directed_edges

        osm = pyrosm.OSM(str(path))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            network = osm.get_network(network_type="driving", nodes=True)
        if network is None:
            raise ValueError(f"{path}: the extract has no driving roads")
        nodes, edges = network
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, directed = get_directed_edges(nodes, edges, network_type="driving")
        ids = np.asarray(nodes["id"], dtype=np.int64)
        order = np.argsort(ids)
        position = order[np.searchsorted(ids, np.asarray(directed["u"], dtype=np.int64), sorter=order)]
        target = order[np.searchsorted(ids, np.asarray(directed["v"], dtype=np.int64), sorter=order)]
        length_m = np.asarray(directed["length"], dtype=np.float64)  # the column, not GeoDataFrame.length
        highway = directed["highway"].tolist() if "highway" in directed else [None] * len(directed)
        maxspeed = directed["maxspeed"].tolist() if "maxspeed" in directed else [None] * len(directed)
        time_s = length_m / (edge_speeds_kmh(maxspeed, highway) / 3.6)
        return cls(
            np.asarray(nodes["lat"], dtype=np.float64),
            np.asarray(nodes["lon"], dtype=np.float64),
            position.astype(np.int64),
            target.astype(np.int64),
            length_m,
            time_s,
        )


_networks: dict[tuple[str, int, int], RoadNetwork] = {}
_networks_lock = threading.Lock()


def load_road_network(path: str | Path) -> RoadNetwork:
    """The network of this extract, built on first use and cached for the life of the process (a changed
    file, by size or modification time, is read again)."""
    resolved = Path(path).expanduser().resolve()
    stat = resolved.stat()
    key = (str(resolved), stat.st_size, stat.st_mtime_ns)
    with _networks_lock:  # one build per extract even when requests race for it
        network = _networks.get(key)
        if network is None:
            for stale in [k for k in _networks if k[0] == key[0]]:
                del _networks[stale]
            network = RoadNetwork.from_pbf(resolved)
            _networks[key] = network
        return network


class RoadNetworkProvider:
    """A :class:`~routing.model.MatrixProvider` over an OSM extract's driving network (see the module)."""

    def __init__(
        self,
        osm_pbf: str | Path,
        *,
        max_snap_m: float = 1000.0,
        access_speed_kmh: float = 15.0,
        main_component_only: bool = True,
    ) -> None:
        self.osm_pbf = osm_pbf
        self.max_snap_m = max_snap_m
        self.access_speed_mps = access_speed_kmh / 3.6
        self.main_component_only = main_component_only

    @property
    def network(self) -> RoadNetwork:
        return load_road_network(self.osm_pbf)

    def snap(self, points: Sequence[Point]) -> list[Snap]:
        """Each point's node and snap distance; :class:`OffRoadNetwork` names those beyond ``max_snap_m``."""
        snaps = self.network.snap(points, main_component_only=self.main_component_only)
        far = [i for i, s in enumerate(snaps) if s.snap_m > self.max_snap_m]
        if far:
            raise OffRoadNetwork(far, [snaps[i].snap_m for i in far], self.max_snap_m)
        return snaps

    def matrix(self, points: Sequence[Point]) -> TravelMatrix:
        """Road distances (m) and driving times (s) between every ordered pair, snap legs included."""
        return self.matrix_and_snaps(points)[0]

    def matrix_and_snaps(self, points: Sequence[Point]) -> tuple[TravelMatrix, list[Snap]]:
        """:meth:`matrix` with where each point joined the network (its node and snap distance)."""
        snaps = self.snap(points)
        nodes = np.array([s.node for s in snaps], dtype=np.int64)
        unique, inverse = np.unique(nodes, return_inverse=True)
        network = self.network
        distances = network.node_matrix(unique.tolist(), "length")[np.ix_(inverse, inverse)]
        durations = network.node_matrix(unique.tolist(), "time")[np.ix_(inverse, inverse)]
        unreachable = np.argwhere(~np.isfinite(distances) | ~np.isfinite(durations))
        if len(unreachable):
            raise UnreachableLocations([(int(a), int(b)) for a, b in unreachable])
        access_m = np.array([s.snap_m for s in snaps], dtype=np.float64)
        legs_m = access_m[:, None] + access_m[None, :]
        distances = distances + legs_m
        durations = durations + legs_m / self.access_speed_mps
        np.fill_diagonal(distances, 0.0)
        np.fill_diagonal(durations, 0.0)
        return TravelMatrix(durations_s=durations, distances_m=distances), snaps


__all__ = [
    "RoadNetwork",
    "RoadNetworkProvider",
    "Snap",
    "edge_speeds_kmh",
    "load_road_network",
]
