"""Walking transfers between stops, as distances (the router turns them into seconds).

Between two stops linked to the walk graph the distance is the shortest walk on
streets (plus each stop's off-street link). Where either stop lies outside the
street extract, the straight-line distance times ``DETOUR_FACTOR`` is used
instead and the footpath is flagged ``approximate``. ``transfers.txt`` is applied
on top: ``transfer_type`` 3 forbids a transfer, 2 sets a minimum time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial import cKDTree

from maas.cache import save_npz
from planner.street_graph import EARTH_RADIUS_M, StreetGraph
from planner.street_search import StreetSearch
from planner.timetable import Timetable

FORMAT_VERSION = 1
# Walking routes in a city grid are ~1.2-1.4 x the straight line; 1.3 is a common planning figure.
DETOUR_FACTOR = 1.3


@dataclass(frozen=True)
class Footpaths:
    """CSR by origin stop: ``to[start[s]:start[s+1]]`` are the stops reachable on foot from s."""

    start: np.ndarray  # int64[S+1]
    to: np.ndarray  # int32
    distance_m: np.ndarray  # float32
    min_time_s: np.ndarray  # int32, -1 where transfers.txt sets none
    approximate: np.ndarray  # bool: straight-line fallback
    self_min_time_s: np.ndarray  # int32[S]: minimum time to change at the same stop; -1 forbidden
    max_distance_m: float

    def save(self, path: Path) -> None:
        """Write the footpaths to an ``.npz`` file."""
        save_npz(
            path,
            start=self.start,
            to=self.to,
            distance_m=self.distance_m,
            min_time_s=self.min_time_s,
            approximate=self.approximate,
            self_min_time_s=self.self_min_time_s,
            max_distance_m=np.array(self.max_distance_m),
            format_version=np.array(FORMAT_VERSION),
        )

    @classmethod
    def load(cls, path: object) -> Footpaths:
        """Read footpaths written by :meth:`save`."""
        with np.load(str(path)) as d:
            if int(d["format_version"]) != FORMAT_VERSION:
                raise ValueError(f"{path}: footpath format {int(d['format_version'])}, expected {FORMAT_VERSION}")
            return cls(
                d["start"],
                d["to"],
                d["distance_m"],
                d["min_time_s"],
                d["approximate"],
                d["self_min_time_s"],
                float(d["max_distance_m"]),
            )


def _local_xy(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lat0 = float(np.mean(lat)) if len(lat) else 60.0
    kx = np.cos(np.radians(lat0)) * EARTH_RADIUS_M * np.pi / 180
    ky = EARTH_RADIUS_M * np.pi / 180
    return np.column_stack([lon * kx, lat * ky])


def compute_footpaths(
    timetable: Timetable,
    walk: StreetGraph,
    link_edge: np.ndarray,
    link_fraction: np.ndarray,
    link_distance: np.ndarray,
    max_distance_m: float = 1000.0,
) -> Footpaths:
    """Walking transfers between served stops up to ``max_distance_m``: along the walk graph between
    linked stops, as the crow flies x 1.3 where a stop is not linked; with each stop's own change time."""
    n = timetable.n_stops
    served = np.diff(timetable.stop_pattern_start) > 0  # only stops some trip calls at
    linked = (link_edge >= 0) & served
    pairs: dict[tuple[int, int], tuple[float, bool]] = {}

    # On streets, from each linked stop.
    search = StreetSearch(walk, "length")
    linked_idx = np.flatnonzero(linked)
    edges = link_edge[linked_idx]
    fracs = link_fraction[linked_idx].astype(np.float64)
    for s in linked_idx:
        e = int(link_edge[s])
        u, v = int(walk.edge_from[e]), int(walk.edge_to[e])
        w = float(walk.edge_length[e])
        f = float(link_fraction[s])
        seeds = np.array([u, v], dtype=np.int64)
        costs = np.array([f * w, (1 - f) * w]) + float(link_distance[s])
        search.run(seeds, costs, max_distance_m)
        dist = search.cost_to_snaps(edges, fracs) + link_distance[linked_idx]
        same_edge = edges == e
        dist[same_edge] = np.minimum(
            dist[same_edge], np.abs(fracs[same_edge] - f) * w + link_distance[s] + link_distance[linked_idx][same_edge]
        )
        for t, d in zip(linked_idx, dist, strict=True):
            if t != s and d <= max_distance_m:
                pairs[(int(s), int(t))] = (float(d), False)

    # Straight-line fallback wherever one end is not on the street network.
    served_idx = np.flatnonzero(served)
    xy = _local_xy(timetable.stop_lon[served_idx], timetable.stop_lat[served_idx])
    tree = cKDTree(xy)
    for i, j in tree.query_pairs(max_distance_m / DETOUR_FACTOR, output_type="ndarray"):
        one, other = int(served_idx[i]), int(served_idx[j])
        if linked[one] and linked[other]:
            continue
        d = float(np.hypot(*(xy[i] - xy[j]))) * DETOUR_FACTOR
        pairs[(one, other)] = (d, True)
        pairs[(other, one)] = (d, True)

    min_time, self_min = _apply_transfers(timetable, pairs)  # transfers.txt
    keys = sorted(pairs)
    src = np.array([k[0] for k in keys], dtype=np.int64)
    return Footpaths(
        start=np.searchsorted(src, np.arange(n + 1)).astype(np.int64),
        to=np.array([k[1] for k in keys], dtype=np.int32),
        distance_m=np.array([pairs[k][0] for k in keys], dtype=np.float32),
        min_time_s=np.array([min_time.get(k, -1) for k in keys], dtype=np.int32),
        approximate=np.array([pairs[k][1] for k in keys], dtype=bool),
        self_min_time_s=self_min,
        max_distance_m=max_distance_m,
    )


def _apply_transfers(
    timetable: Timetable, pairs: dict[tuple[int, int], tuple[float, bool]]
) -> tuple[dict[tuple[int, int], int], np.ndarray]:
    """transfers.txt on the footpaths: type 3 removes a pair, type 2 sets its minimum time (adding the
    pair as a straight line if the streets did not give it); a stop's own row sets its change time
    (-1: no change there). Returns the minimum times by pair and each stop's own change time."""
    min_time: dict[tuple[int, int], int] = {}
    self_min = np.zeros(timetable.n_stops, dtype=np.int32)
    for f_raw, t_raw, kind, m in zip(
        timetable.transfer_from,
        timetable.transfer_to,
        timetable.transfer_type,
        timetable.transfer_min_time,
        strict=True,
    ):
        a, b = int(f_raw), int(t_raw)
        if a == b:
            self_min[a] = -1 if kind == 3 else (max(int(m), 0) if kind == 2 else 0)
            continue
        if kind == 3:
            pairs.pop((a, b), None)
        elif kind == 2 and m >= 0:
            min_time[(a, b)] = int(m)
            if (a, b) not in pairs:  # an explicit transfer the street search did not find
                ends = _local_xy(timetable.stop_lon[np.array([a, b])], timetable.stop_lat[np.array([a, b])])
                pairs[(a, b)] = (float(np.hypot(*(ends[0] - ends[1]))) * DETOUR_FACTOR, True)
    return min_time, self_min
