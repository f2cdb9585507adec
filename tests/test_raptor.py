"""RAPTOR against independent references on random feeds generated here.

References use only the raw trips the generator wrote (never the compiled patterns):
* an exhaustive ride-by-ride relaxation over every trip and boarding position, giving the
  earliest arrival with at most r rides for every r (the Pareto set over arrival and rides);
* a time-expanded graph searched with Dijkstra, giving the earliest arrival at all.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from feedmaker import write_feed

from planner.footpaths import Footpaths
from planner.gtfs_feed import load_feed
from planner.raptor import INF, READY_ACCESS, READY_WALK, RaptorNetwork, RaptorQuery, reconstruct, search
from planner.timetable_compiler import compile_timetable

DATE = dt.date(2022, 2, 22)


@dataclass
class RawTrip:
    stops: list[str]
    arr: list[int]
    dep: list[int]
    board: list[bool]
    alight: list[bool]


def hms(t: int) -> str:
    return f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}"


def random_feed(
    rng: random.Random, n_stops: int = 6
) -> tuple[dict[str, str], list[RawTrip], list[tuple[str, str, int]]]:
    stops = [f"S{i}" for i in range(n_stops)]
    stop_rows = ["stop_id,stop_name,stop_lat,stop_lon"] + [f"{s},{s},60.{i:03d},24.9" for i, s in enumerate(stops)]
    trips: list[RawTrip] = []
    trip_rows = ["route_id,service_id,trip_id"]
    st_rows = ["trip_id,arrival_time,departure_time,stop_id,stop_sequence,pickup_type,drop_off_type"]
    route_rows = ["route_id,route_short_name,route_type"]
    for r in range(rng.randint(3, 6)):
        route_rows.append(f"R{r},{r},3")
        seq = rng.sample(stops, rng.randint(2, 5))
        for _ in range(rng.randint(2, 6)):
            t = 8 * 3600 + rng.randint(0, 60) * 60
            raw = RawTrip([], [], [], [], [])
            for j, s in enumerate(seq):
                if j:
                    t += rng.randint(1, 12) * 60
                dwell = rng.choice([0, 0, 30, 60])
                raw.stops.append(s)
                raw.arr.append(t)
                raw.dep.append(t + dwell)
                raw.board.append(rng.random() > 0.1)
                raw.alight.append(rng.random() > 0.1)
                t += dwell
            tid = f"T{len(trips)}"
            trip_rows.append(f"R{r},WK,{tid}")
            for j in range(len(seq)):
                st_rows.append(
                    f"{tid},{hms(raw.arr[j])},{hms(raw.dep[j])},{raw.stops[j]},{j + 1},"
                    f"{0 if raw.board[j] else 1},{0 if raw.alight[j] else 1}"
                )
            trips.append(raw)
    walks = []
    for _ in range(rng.randint(2, 10)):
        a, b = rng.sample(stops, 2)
        walks.append((a, b, rng.randint(1, 10) * 60))
    tables = {
        "stops.txt": "\n".join(stop_rows) + "\n",
        "routes.txt": "\n".join(route_rows) + "\n",
        "trips.txt": "\n".join(trip_rows) + "\n",
        "stop_times.txt": "\n".join(st_rows) + "\n",
    }
    return tables, trips, walks


def footpaths_for(walks: list[tuple[str, str, int]], stop_ids: list[str]) -> Footpaths:
    index = {s: i for i, s in enumerate(stop_ids)}
    best: dict[tuple[int, int], int] = {}
    for a, b, secs in walks:
        key = (index[a], index[b])
        best[key] = min(best.get(key, secs), secs)
    keys = sorted(best)
    src = np.array([k[0] for k in keys], dtype=np.int64)
    return Footpaths(
        np.searchsorted(src, np.arange(len(stop_ids) + 1)),
        np.array([k[1] for k in keys], np.int32),
        np.array([best[k] for k in keys], np.float32),
        np.full(len(keys), -1, np.int32),
        np.zeros(len(keys), bool),
        np.zeros(len(stop_ids), np.int32),
        1e9,
    )


def reference_by_rides(trips, walks, origin, start, dest, max_rides, board_slack, transfer_slack):  # type: ignore[no-untyped-def]
    """Earliest arrival at ``dest`` with at most r rides, r = 1..max_rides (exhaustive relaxation)."""
    ready = {origin: start}
    best_dest = []
    current = INF
    for _ in range(max_rides):
        arrive: dict[str, int] = {}
        for trip in trips:
            for i, s in enumerate(trip.stops):
                if not trip.board[i] or s not in ready or ready[s] + board_slack > trip.dep[i]:
                    continue
                for j in range(i + 1, len(trip.stops)):
                    if trip.alight[j]:
                        arrive[trip.stops[j]] = min(arrive.get(trip.stops[j], INF), trip.arr[j])
        current = min(current, arrive.get(dest, INF))
        best_dest.append(current)
        new_ready = dict(ready)
        for s, t in arrive.items():
            new_ready[s] = min(new_ready.get(s, INF), t + transfer_slack)
            for a, b, secs in walks:
                if a == s:
                    new_ready[b] = min(new_ready.get(b, INF), t + secs + transfer_slack)
        ready = new_ready
    return best_dest


def reference_time_expanded(trips, walks, origin, start, dest, board_slack, transfer_slack):  # type: ignore[no-untyped-def]
    """Earliest arrival at ``dest`` by Dijkstra on a time-expanded graph (any number of rides).

    Nodes: ("wait", stop, t) = ready to board at stop at time t; ("ride", trip, j) = aboard trip
    at its j-th stop. Edges: wait -> later wait at the same stop; wait -> board if t + slack <= dep;
    ride j -> ride j+1; ride j -> alight: to ("arr", stop, arr) which leads to waits after slack/walk.
    """
    events: dict[str, set[int]] = {}

    def add(s: str, t: int) -> None:
        events.setdefault(s, set()).add(t)

    add(origin, start)
    for trip in trips:
        for j, s in enumerate(trip.stops):
            add(s, trip.dep[j] - board_slack)
    dist = {("wait", origin, start): start}
    heap = [(start, ("wait", origin, start))]
    best = INF
    while heap:
        d, node = heapq.heappop(heap)
        if d > dist.get(node, INF):
            continue

        def relax(nxt, t):  # type: ignore[no-untyped-def]
            if t < dist.get(nxt, INF):
                dist[nxt] = t
                heapq.heappush(heap, (t, nxt))

        kind = node[0]
        if kind == "wait":
            _, s, t = node
            later = sorted(x for x in events.get(s, ()) if x > t)
            if later:
                relax(("wait", s, later[0]), later[0])
            for ti, trip in enumerate(trips):
                for j, st in enumerate(trip.stops):
                    if st == s and trip.board[j] and t + board_slack <= trip.dep[j]:
                        relax(("ride", ti, j), trip.dep[j])
        elif kind == "ride":
            _, ti, j = node
            trip = trips[ti]
            if j + 1 < len(trip.stops):
                nxt_t = trip.arr[j + 1]
                relax(("ride", ti, j + 1), trip.dep[j + 1])
                if trip.alight[j + 1]:
                    s = trip.stops[j + 1]
                    if s == dest:
                        best = min(best, nxt_t)
                    for target, wait in [(s, 0)] + [(b, secs) for a, b, secs in walks if a == s]:
                        t2 = nxt_t + wait + transfer_slack
                        add(target, t2)
                        relax(("wait", target, t2), t2)
    return best


@pytest.mark.parametrize("seed", range(60))
def test_raptor_equals_references_on_random_feeds(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    tables, trips, walks = random_feed(rng)
    tt = compile_timetable(load_feed(write_feed(tmp_path, tables)), DATE)
    stop_ids = tt.stop_ids.tolist()
    network = RaptorNetwork(tt, footpaths_for(walks, stop_ids), max_rounds=5)
    state = network.new_state()
    board_slack, transfer_slack = rng.choice([(0, 0), (60, 0), (0, 90), (30, 120)])
    kept: list[tuple[object, int, int, list[object]]] = []  # results rebuilt again after the buffers are reused
    for origin in stop_ids:
        start = 8 * 3600 + rng.randint(0, 40) * 60
        for dest in stop_ids:
            if dest == origin:
                continue
            egress = np.full(tt.n_stops, INF, dtype=np.int64)
            egress[stop_ids.index(dest)] = 0
            query = RaptorQuery(
                np.array([stop_ids.index(origin)]),
                np.array([start]),
                egress,
                max_rides=5,
                walk_speed_mps=1.0,
                board_slack_s=board_slack,
                transfer_slack_s=transfer_slack,
            )
            result = search(network, query, state)
            expected = reference_by_rides(trips, walks, origin, start, dest, 5, board_slack, transfer_slack)
            pareto = []
            previous = INF
            for r, t in enumerate(expected, 1):
                if t < previous:
                    pareto.append((r, t))
                    previous = t
            assert list(zip(result.rides, result.arrivals, strict=True)) == pareto, (origin, dest, start)
            te = reference_time_expanded(trips, walks, origin, start, dest, board_slack, transfer_slack)
            assert (result.arrivals[-1] if result.arrivals else INF) == te
            # every reconstructed journey is consistent with its own labels
            for rides, stop, arrival in zip(result.rides, result.egress_stops, result.arrivals, strict=True):
                steps = reconstruct(tt, result, rides, stop)
                kept.append((result, rides, stop, steps))
                assert len(steps) == rides and steps[-1].arrival == arrival
                assert steps[0].reached_board_stop_by == READY_ACCESS and steps[0].departure >= start + board_slack
                for before, after in itertools.pairwise(steps):
                    gap = after.departure - before.arrival
                    walk = 0
                    if after.reached_board_stop_by == READY_WALK:
                        pair = [
                            w
                            for a, b, w in walks
                            if stop_ids[before.alight_stop] == a and stop_ids[after.board_stop] == b
                        ]
                        walk = min(pair)
                    assert gap >= walk + transfer_slack + board_slack
    # a result carries its own labels: later searches in the same state do not change its journeys
    assert all(reconstruct(tt, r, k, stop) == steps for r, k, stop, steps in kept)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(40))
def test_range_raptor_equals_a_fresh_search_at_every_minute(tmp_path: Path, seed: int) -> None:
    """Departure minutes searched latest first, each keeping the labels of the one after it, arrive at
    every stop exactly when a search from scratch at that minute does."""
    rng = random.Random(1000 + seed)
    tables, _trips, walks = random_feed(rng, n_stops=rng.randint(5, 8))
    tt = compile_timetable(load_feed(write_feed(tmp_path, tables)), DATE)
    network = RaptorNetwork(tt, footpaths_for(walks, tt.stop_ids.tolist()), max_rounds=5)
    ranged, fresh = network.new_state(), network.new_state()
    board_slack, transfer_slack = rng.choice([(0, 0), (60, 0), (0, 90), (30, 120)])
    max_rides = rng.randint(1, 5)
    compared = 0
    for origin in range(tt.n_stops):
        # one or two access stops with their own walking times, as a matrix origin has
        access = np.array(sorted({origin, rng.randrange(tt.n_stops)}))
        walk = np.array([rng.randint(0, 5) * 60 for _ in access])
        first, minutes = 8 * 3600 + rng.randint(-10, 50) * 60, rng.randint(3, 25)
        for m in reversed(range(minutes)):
            clock = first + 60 * m

            def query(keep: bool, at: int = clock, stops: np.ndarray = access, walk: np.ndarray = walk) -> RaptorQuery:
                return RaptorQuery(
                    stops,
                    at + walk,
                    None,
                    max_rides=max_rides,
                    walk_speed_mps=1.0,
                    board_slack_s=board_slack,
                    transfer_slack_s=transfer_slack,
                    journeys=False,
                    keep_labels=keep,
                )

            kept = search(network, query(m < minutes - 1), ranged).stop_arrival
            again = search(network, query(False), fresh).stop_arrival
            assert kept is not None and again is not None
            assert np.array_equal(kept, again), (origin, m)
            compared += int((again < INF).sum())
    assert compared > 0
