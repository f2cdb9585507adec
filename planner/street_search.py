"""Bounded one-to-many searches on a :class:`StreetGraph` (numba Dijkstra, state reused).

A coordinate is snapped to an edge; the search starts from both ends of that
edge with the along-edge distance as initial cost, so a point in the middle of
a long block is not forced to its nearer intersection. Costs are metres (walk
and bike, divided by a speed at query time, so one graph serves any speed) or
seconds (drive, where speeds vary per edge).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
from numba import njit

from planner.street_graph import EdgeSnapper, Snap, StreetGraph


@njit(cache=True, nogil=True)
def _dijkstra(indptr, targets, weights, seed_nodes, seed_costs, limit, dist, pred, touched):  # type: ignore[no-untyped-def]
    """Multi-source Dijkstra up to ``limit``; writes dist/pred, returns how many nodes it touched.

    ``dist`` must be +inf and ``pred`` -1 everywhere on entry; the caller resets touched nodes.
    """
    heap = [(0.0, np.int64(0))]
    heap.pop()
    n_touched = 0
    for i in range(len(seed_nodes)):
        node = seed_nodes[i]
        cost = seed_costs[i]
        if cost <= limit and cost < dist[node]:
            if dist[node] == np.inf:
                touched[n_touched] = node
                n_touched += 1
            dist[node] = cost
            pred[node] = -1
            heapq.heappush(heap, (cost, np.int64(node)))
    while heap:
        cost, node = heapq.heappop(heap)
        if cost > dist[node]:
            continue
        for e in range(indptr[node], indptr[node + 1]):
            nxt = targets[e]
            new = cost + weights[e]
            if new <= limit and new < dist[nxt]:
                if dist[nxt] == np.inf:
                    touched[n_touched] = nxt
                    n_touched += 1
                dist[nxt] = new
                pred[nxt] = e
                heapq.heappush(heap, (new, np.int64(nxt)))
    return n_touched


@dataclass(frozen=True, slots=True)
class Reached:
    """Result of one search: the cost to each reached node (others are +inf)."""

    nodes: np.ndarray  # int64 indices of reached nodes
    costs: np.ndarray  # float64, same order


class StreetSearch:
    """Repeated bounded searches on one graph; buffers are allocated once and reset sparsely."""

    def __init__(self, graph: StreetGraph, weight: str = "length") -> None:
        if weight not in ("length", "time"):
            raise ValueError("weight must be 'length' or 'time'")
        self.graph = graph
        self.weight = weight
        self._weights = (graph.edge_length if weight == "length" else graph.edge_time).astype(np.float64)
        self._indptr = graph.node_edge_start.astype(np.int64)
        self._targets = graph.edge_to.astype(np.int64)
        self.dist = np.full(graph.n_nodes, np.inf)
        self.pred = np.full(graph.n_nodes, -1, dtype=np.int64)
        self._touched = np.empty(graph.n_nodes, dtype=np.int64)
        # has_twin[e]: the reverse edge v->u exists (always on the walk graph; not on one-way roads)
        keys = graph.edge_from.astype(np.int64) * graph.n_nodes + graph.edge_to
        reverse = graph.edge_to.astype(np.int64) * graph.n_nodes + graph.edge_from
        sorted_keys = np.sort(keys)
        pos = np.minimum(np.searchsorted(sorted_keys, reverse), len(sorted_keys) - 1)
        self.has_twin = sorted_keys[pos] == reverse
        self._n_touched = 0
        self._snapper: EdgeSnapper | None = None

    @property
    def snapper(self) -> EdgeSnapper:
        if self._snapper is None:
            self._snapper = EdgeSnapper(self.graph)
        return self._snapper

    def edge_cost(self, edge: int) -> float:
        """The weight (metres or seconds) of an edge."""
        return float(self._weights[edge])

    def seeds_for(self, snap: Snap) -> tuple[np.ndarray, np.ndarray]:
        """Start nodes and initial costs for leaving a snapped point (forward along its edge and back)."""
        e = snap.edge
        u, v = int(self.graph.edge_from[e]), int(self.graph.edge_to[e])
        w = self._weights[e]
        nodes = [v]
        costs = [(1.0 - snap.fraction) * w]
        # On a two-way street (always when walking) one may also go back to u.
        if self.has_twin[e]:
            nodes.append(u)
            costs.append(snap.fraction * w)
        return np.array(nodes, dtype=np.int64), np.array(costs, dtype=np.float64)

    def run(self, seed_nodes: np.ndarray, seed_costs: np.ndarray, limit: float) -> Reached:
        """Dijkstra from ``seed_nodes`` (at ``seed_costs``) up to ``limit``; the nodes reached and their costs.
        The search's own buffers hold the labels until the next run.
        """
        self.reset()
        self._n_touched = _dijkstra(
            self._indptr,
            self._targets,
            self._weights,
            seed_nodes.astype(np.int64),
            seed_costs.astype(np.float64),
            float(limit),
            self.dist,
            self.pred,
            self._touched,
        )
        nodes = self._touched[: self._n_touched].copy()
        return Reached(nodes, self.dist[nodes].copy())

    def from_snap(self, snap: Snap, limit: float) -> Reached:
        """Dijkstra from a snapped point (along its edge both ways where it is two-way) up to ``limit``."""
        nodes, costs = self.seeds_for(snap)
        return self.run(nodes, costs, limit)

    def reset(self) -> None:
        """Clear the labels of the last run (only the nodes it touched)."""
        touched = self._touched[: self._n_touched]
        self.dist[touched] = np.inf
        self.pred[touched] = -1
        self._n_touched = 0

    def cost_to_snaps(self, edges: np.ndarray, fractions: np.ndarray) -> np.ndarray:
        """After :meth:`run`, the cost to reach points on edges (at their fraction), +inf if unreached.

        A point on edge u->v is reached from u along the edge, or from v along the twin v->u.
        """
        u = self.graph.edge_from[edges]
        v = self.graph.edge_to[edges]
        w = self._weights[edges]
        via_u = self.dist[u] + fractions * w
        via_v = np.where(self.has_twin[edges], self.dist[v] + (1.0 - fractions) * w, np.inf)
        nearest: np.ndarray = np.minimum(via_u, via_v)
        return nearest

    def path_edges(self, node: int) -> list[int]:
        """Edges from the search's seeds to ``node``, in travel order (after :meth:`run`)."""
        edges = []
        while self.pred[node] >= 0:
            e = int(self.pred[node])
            edges.append(e)
            node = int(self.graph.edge_from[e])
        edges.reverse()
        return edges
