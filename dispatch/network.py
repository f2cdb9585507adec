"""Shuttle travel times and paths on real streets.

The area's drive graph with every edge slowed to the shuttle's speed cap (18 km/h by default) is
small (about 1,600 nodes for central Helsinki), so all-pairs shortest times, the distances along
those fastest paths and the predecessor tree are computed once with scipy's Dijkstra and cached
as one ``.npz``; every later matrix is a slice. Locations are drive-graph node indices: a
coordinate snaps to the nearer end of its nearest drivable edge.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dispatch.model import DispatchError
from maas.cache import cache_dir, cache_key, save_npz
from planner.street_graph import EdgeSnapper, StreetGraph

NETWORK_FORMAT_VERSION = 1


@dataclass(frozen=True)
class ShuttleNetwork:
    """All-pairs shuttle travel times (s) and distances (m) between drive-graph nodes."""

    graph: StreetGraph  # edge_time already capped at the shuttle speed
    speed_kmh: float
    time_s: np.ndarray  # float32 (N, N)
    dist_m: np.ndarray  # float32 (N, N), along the fastest path
    predecessor: np.ndarray  # int32 (N, N), scipy convention (-9999: none)

    @property
    def n_nodes(self) -> int:
        return self.graph.n_nodes

    @functools.cached_property
    def _snapper(self) -> EdgeSnapper:
        # built on first use, once per network (a module-level cache keyed by id() could hand a
        # snapper to a different graph that reused a freed one's id)
        return EdgeSnapper(self.graph)

    def lonlat(self, node: int) -> tuple[float, float]:
        """(lon, lat) of a network node."""
        return float(self.graph.node_lon[node]), float(self.graph.node_lat[node])

    def snap(self, lon: float, lat: float, max_distance_m: float = 300.0) -> int:
        """The drive-graph node serving a coordinate (the nearer end of the nearest drivable edge)."""
        snap = self._snapper.snap_one(lon, lat, max_distance_m)
        edge = snap.edge
        return int(self.graph.edge_from[edge] if snap.fraction <= 0.5 else self.graph.edge_to[edge])

    def path_nodes(self, origin: int, destination: int) -> list[int]:
        """The nodes of the fastest path from ``a`` to ``b`` (both included)."""
        nodes = [destination]
        while nodes[-1] != origin:
            previous = int(self.predecessor[origin, nodes[-1]])
            if previous < 0:
                raise DispatchError(f"no shuttle path from node {origin} to node {destination}")
            nodes.append(previous)
        return nodes[::-1]

    def path_coords(self, origin: int, destination: int) -> np.ndarray:
        """(lon, lat) polyline of the fastest path, following the street geometry."""
        nodes = self.path_nodes(origin, destination)
        if len(nodes) == 1:
            return np.array([self.lonlat(origin)])
        pieces = [np.array([self.lonlat(origin)])]
        for u, v in itertools.pairwise(nodes):
            pieces.append(self.graph.edge_coords(_edge_between(self.graph, u, v))[1:])
        return np.vstack(pieces)


def _edge_between(graph: StreetGraph, u: int, v: int) -> int:
    """The fastest edge u -> v (parallel edges: the one the shortest path used)."""
    edges = np.arange(graph.node_edge_start[u], graph.node_edge_start[u + 1])
    edges = edges[graph.edge_to[edges] == v]
    if not len(edges):
        raise DispatchError(f"no street edge from node {u} to node {v}")
    return int(edges[np.argmin(graph.edge_time[edges])])


def capped_graph(graph: StreetGraph, speed_kmh: float) -> StreetGraph:
    """The drive graph with every edge at most ``speed_kmh`` (a shuttle never drives faster)."""
    import dataclasses

    slowest = graph.edge_length / (speed_kmh / 3.6)
    return dataclasses.replace(graph, edge_time=np.maximum(graph.edge_time, slowest).astype(np.float32))


def build_network(drive: StreetGraph, speed_kmh: float) -> ShuttleNetwork:
    """All-pairs fastest times, their distances and the predecessor tree of ``graph`` at ``speed_kmh``."""
    from scipy.sparse.csgraph import dijkstra

    graph = capped_graph(drive, speed_kmh)
    times, predecessor = dijkstra(graph.to_scipy("time"), directed=True, return_predecessors=True)
    if not np.isfinite(times).all():
        raise DispatchError("the drive graph is not strongly connected; rebuild the area's street cache")
    # Distance along the fastest path by pointer jumping up each source's predecessor tree:
    # ``acc[s, t]`` is the length from ``anc[s, t]`` to t; doubling reaches the source in log(hops) steps.
    n = graph.n_nodes
    rows = np.arange(n)[:, None]
    pred = np.where(predecessor < 0, rows, predecessor)
    lengths = graph.to_scipy("length").toarray()
    acc = lengths[pred, np.arange(n)[None, :]]
    acc[pred == np.arange(n)[None, :]] = 0.0
    anc = pred
    while True:
        done = anc == rows
        if done.all():
            break
        acc = np.where(done, acc, acc + acc[rows, anc])
        anc = np.where(done, anc, anc[rows, anc])
    dist = acc
    return ShuttleNetwork(
        graph, speed_kmh, times.astype(np.float32), dist.astype(np.float32), predecessor.astype(np.int32)
    )


def load_network(
    drive: StreetGraph, speed_kmh: float, area_name: str, cache: str | Path | None = None
) -> ShuttleNetwork:
    """The shuttle network for an area, from the cache when its drive graph and speed are unchanged."""
    digest = cache_key(
        "shuttle-network",
        NETWORK_FORMAT_VERSION,
        [],
        {"speed": speed_kmh, "n": drive.n_nodes, "e": drive.n_edges, "t": float(drive.edge_time.sum())},
    )
    root = cache_dir(cache) / area_name
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"shuttle-network-{digest}.npz"
    if path.exists():
        with np.load(path) as data:
            return ShuttleNetwork(
                capped_graph(drive, speed_kmh), speed_kmh, data["time_s"], data["dist_m"], data["predecessor"]
            )
    network = build_network(drive, speed_kmh)
    save_npz(path, time_s=network.time_s, dist_m=network.dist_m, predecessor=network.predecessor)
    return network
