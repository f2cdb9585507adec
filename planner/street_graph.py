"""A compiled street graph as flat arrays, and snapping coordinates onto it.

What the searches (``planner.street_search``, ``planner.footpaths``), the router and the shuttle
network use after ``planner.streets`` has read OpenStreetMap and built a graph: CSR arrays by
source node with flat edge geometry, saved to and loaded from the cache, and nearest-edge lookups.
Nothing here reads OSM or needs networkx.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

if TYPE_CHECKING:  # for annotations only: scipy is imported where it is used
    from scipy.sparse import csr_matrix

from maas.cache import save_npz
from maas.errors import OutsideAreaError

FORMAT_VERSION = 2
BLOCKED = 1e9  # metres or seconds: the cost of an edge a mode may not take
EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lon1: Any, lat1: Any, lon2: Any, lat2: Any) -> Any:
    """Great-circle distance in metres between (lon1, lat1) and (lon2, lat2); arrays broadcast."""
    lon1, lat1, lon2, lat2 = (np.radians(v) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))


@dataclass(frozen=True)
class StreetGraph:
    """A street graph as flat arrays; edges sorted by source node (CSR in ``node_edge_start``)."""

    mode: str
    node_osmid: np.ndarray  # int64[N]
    node_lon: np.ndarray  # float64[N]
    node_lat: np.ndarray
    node_edge_start: np.ndarray  # int64[N+1]
    edge_from: np.ndarray  # int32[E]
    edge_to: np.ndarray
    edge_length: np.ndarray  # float32 metres
    edge_time: np.ndarray  # float32 seconds
    edge_name: np.ndarray  # str
    edge_step_free: np.ndarray  # bool: no steps and not wheelchair=no on any OSM way of the edge
    edge_geom_start: np.ndarray  # int64[E+1] slices geom_lon/geom_lat, endpoints included
    geom_lon: np.ndarray
    geom_lat: np.ndarray

    @property
    def n_nodes(self) -> int:
        return len(self.node_osmid)

    @property
    def n_edges(self) -> int:
        return len(self.edge_from)

    def edge_coords(self, edge: int) -> np.ndarray:
        """(lon, lat) points of an edge's geometry, both end nodes included."""
        a, b = self.edge_geom_start[edge], self.edge_geom_start[edge + 1]
        return np.column_stack([self.geom_lon[a:b], self.geom_lat[a:b]])

    def subgraph(self, keep: np.ndarray) -> StreetGraph:
        """The graph on the nodes where ``keep`` (bool[N]) is true and the edges between them, renumbered."""
        keep = np.asarray(keep, dtype=bool)
        new_index = np.full(self.n_nodes, -1, dtype=np.int64)
        new_index[keep] = np.arange(int(keep.sum()))
        edges = np.flatnonzero(keep[self.edge_from] & keep[self.edge_to])  # still sorted by source
        edge_from = new_index[self.edge_from[edges]].astype(self.edge_from.dtype)
        counts = np.bincount(edge_from, minlength=int(keep.sum()))
        starts, ends = self.edge_geom_start[edges], self.edge_geom_start[edges + 1]
        sizes = ends - starts
        take = np.repeat(starts - np.r_[0, np.cumsum(sizes)[:-1]], sizes) + np.arange(int(sizes.sum()))
        return dataclasses.replace(
            self,
            node_osmid=self.node_osmid[keep],
            node_lon=self.node_lon[keep],
            node_lat=self.node_lat[keep],
            node_edge_start=np.r_[0, np.cumsum(counts)].astype(self.node_edge_start.dtype),
            edge_from=edge_from,
            edge_to=new_index[self.edge_to[edges]].astype(self.edge_to.dtype),
            edge_length=self.edge_length[edges],
            edge_time=self.edge_time[edges],
            edge_name=self.edge_name[edges],
            edge_step_free=self.edge_step_free[edges],
            edge_geom_start=np.r_[0, np.cumsum(sizes)].astype(self.edge_geom_start.dtype),
            geom_lon=self.geom_lon[take],
            geom_lat=self.geom_lat[take],
        )

    def step_free(self) -> StreetGraph:
        """The same graph (same node and edge numbers) where edges with steps cannot be taken: they
        cost ``BLOCKED`` (beyond any walk a search allows, and finite, so a point snapped at an edge's
        end still costs nothing), and stop links stay valid."""
        blocked = ~self.edge_step_free
        return dataclasses.replace(
            self,
            edge_length=np.where(blocked, BLOCKED, self.edge_length).astype(self.edge_length.dtype),
            edge_time=np.where(blocked, BLOCKED, self.edge_time).astype(self.edge_time.dtype),
        )

    def largest_strong_component(self) -> StreetGraph:
        """The subgraph of the largest strongly connected component (every node reaches every other)."""
        from scipy.sparse.csgraph import connected_components

        if self.n_nodes == 0:
            return self
        _, labels = connected_components(self.to_scipy("time"), directed=True, connection="strong")
        return self.subgraph(labels == np.bincount(labels).argmax())

    def to_scipy(self, weight: str = "time") -> csr_matrix:
        """A ``scipy.sparse.csr_matrix`` of edge times (or lengths), keeping the cheapest parallel edge."""
        from scipy.sparse import coo_matrix

        values = self.edge_time if weight == "time" else self.edge_length
        order = np.lexsort((values, self.edge_to, self.edge_from))
        u, v, w = self.edge_from[order], self.edge_to[order], values[order]
        first = np.ones(len(u), dtype=bool)
        first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
        # A zero weight would vanish from a sparse matrix: keep a tiny positive one instead.
        w = np.maximum(w[first].astype(np.float64), 1e-6)
        return coo_matrix((w, (u[first], v[first])), shape=(self.n_nodes, self.n_nodes)).tocsr()

    def save(self, path: Path) -> None:
        """Write the graph to an ``.npz`` file."""
        arrays = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "mode"}
        save_npz(path, mode=np.array(self.mode), format_version=np.array(FORMAT_VERSION), **arrays)

    @classmethod
    def load(cls, path: Path) -> StreetGraph:
        """Read a graph written by :meth:`save`; ``ValueError`` for another format version."""
        with np.load(path, allow_pickle=False) as data:
            if int(data["format_version"]) != FORMAT_VERSION:
                found = int(data["format_version"])
                raise ValueError(f"{path}: street graph format {found}, expected {FORMAT_VERSION}")
            return cls(mode=str(data["mode"]), **{f.name: data[f.name] for f in fields(cls) if f.name != "mode"})


@dataclass(frozen=True, slots=True)
class Snap:
    """Where a coordinate meets the street graph."""

    edge: int
    fraction: float  # 0 at the edge's start node, 1 at its end node (by length along the geometry)
    distance_m: float  # from the coordinate to the snapped point
    lon: float
    lat: float


class EdgeSnapper:
    """Nearest-edge lookups on a :class:`StreetGraph` (shapely STRtree over geometry segments).

    Coordinates are projected to a local equirectangular plane around the graph's centre,
    accurate to well under 0.1 % across a city-sized area.
    """

    def __init__(self, graph: StreetGraph) -> None:
        from shapely import STRtree, linestrings

        self.graph = graph
        self._lat0 = float(np.mean(graph.node_lat))
        self._kx = math.cos(math.radians(self._lat0)) * EARTH_RADIUS_M * math.pi / 180
        self._ky = EARTH_RADIUS_M * math.pi / 180
        x = graph.geom_lon * self._kx
        y = graph.geom_lat * self._ky
        starts = graph.edge_geom_start
        seg_edge = np.repeat(np.arange(graph.n_edges), np.diff(starts) - 1)
        is_last = np.zeros(len(x), dtype=bool)
        is_last[starts[1:] - 1] = True
        seg_start = np.flatnonzero(~is_last)
        self._seg_edge = seg_edge
        self._seg_start = seg_start
        self._x, self._y = x, y
        # cumulative length along each edge's geometry at each vertex, for the fraction
        seg_len = np.hypot(x[seg_start + 1] - x[seg_start], y[seg_start + 1] - y[seg_start])
        self._seg_len = seg_len
        edge_total = np.bincount(seg_edge, weights=seg_len, minlength=graph.n_edges)
        # distance along its edge at which each segment starts
        before = np.cumsum(seg_len) - seg_len
        edge_first_seg = np.concatenate([[0], np.cumsum(np.diff(starts) - 1)[:-1]])
        self._seg_offset = before - before[edge_first_seg[seg_edge]]
        self._edge_total = edge_total
        coords = np.stack(
            [np.column_stack([x[seg_start], y[seg_start]]), np.column_stack([x[seg_start + 1], y[seg_start + 1]])],
            axis=1,
        )
        self._tree = STRtree(cast(Any, linestrings(coords)))

    def snap(self, lon: Any, lat: Any) -> list[Snap]:
        """Nearest edge for each coordinate (arrays or scalars)."""
        from shapely import points

        lon = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
        px, py = lon * self._kx, lat * self._ky
        idx = self._tree.query_nearest(points(px, py), all_matches=False, return_distance=False)
        seg = np.empty(len(px), dtype=np.int64)
        seg[idx[0]] = idx[1]
        s = self._seg_start[seg]
        ax, ay, bx, by = self._x[s], self._y[s], self._x[s + 1], self._y[s + 1]
        dx, dy = bx - ax, by - ay
        denom = np.where(dx * dx + dy * dy > 0, dx * dx + dy * dy, 1.0)
        t = np.clip(((px - ax) * dx + (py - ay) * dy) / denom, 0.0, 1.0)
        qx, qy = ax + t * dx, ay + t * dy
        dist = np.hypot(px - qx, py - qy)
        edge = self._seg_edge[seg]
        along = self._seg_offset[seg] + t * self._seg_len[seg]
        total = self._edge_total[edge]
        frac = np.where(total > 0, along / np.where(total > 0, total, 1.0), 0.0)
        return [
            Snap(int(e), float(f), float(d), float(x / self._kx), float(y / self._ky))
            for e, f, d, x, y in zip(edge, frac, dist, qx, qy, strict=True)
        ]

    def snap_one(self, lon: float, lat: float, max_distance_m: float | None = None) -> Snap:
        """The nearest edge to (lon, lat); :class:`OutsideAreaError` when it is farther than ``max_distance_m``."""
        snap = self.snap(lon, lat)[0]
        if max_distance_m is not None and snap.distance_m > max_distance_m:
            raise OutsideAreaError(
                f"({lat:.6f}, {lon:.6f}) is {snap.distance_m:.0f} m from the nearest "
                f"{self.graph.mode} street (at most {max_distance_m:.0f} m allowed)"
            )
        return snap
