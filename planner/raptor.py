"""RAPTOR transit search over a compiled :class:`Timetable` (numba; no pandas or networkx).

Round k scans the patterns serving the stops improved in round k-1 and finds
the earliest arrival at every stop with exactly k rides; walking transfers
follow each round. The results are, per round, the earliest arrival at the
destination, so the Pareto set over (arrival, transfers) falls out of the rounds.

Labels per round k and stop s:

* ``arrival[k, s]``: earliest arrival at s by the k-th ride (riding, not walking);
* ``ready[k, s]``: earliest time one can board ride k+1 at s: the access time in
  round 0, else a ride-k arrival plus a change at the same stop or a walk, plus
  the transfer slack.

Every boarding waits at least ``board_slack_s`` (R5 uses 60 s); every change of
vehicle adds ``transfer_slack_s`` (HSL uses 90 s). Access and egress reach the
search as offsets: seconds from the origin to each stop, from each stop to the
destination.

Search state lives in :class:`RaptorState`, allocated once per timetable and
reused by every query.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from planner.footpaths import Footpaths
from planner.timetable import Timetable

INF = np.int64(2**40)
# parent kinds of a ``ready`` label
READY_ACCESS = 1
READY_SAME_STOP = 2
READY_WALK = 3


@njit(cache=True)
def _earliest_trip(departures, time_start, n_stops, n_trips, pos, ready):  # type: ignore[no-untyped-def]
    """Index of the first trip (FIFO order) departing stop position ``pos`` at or after ``ready``; -1 if none."""
    lo = 0
    hi = n_trips
    while lo < hi:
        mid = (lo + hi) // 2
        if departures[time_start + mid * n_stops + pos] < ready:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < n_trips else -1


@njit(cache=True)
def _raptor(  # type: ignore[no-untyped-def]
    pattern_stop_start,
    pattern_stops,
    can_board,
    can_alight,
    pattern_trip_start,
    pattern_time_start,
    arrivals,
    departures,
    stop_pattern_start,
    stop_patterns,
    stop_pattern_pos,
    fp_start,
    fp_to,
    fp_time,
    self_time,
    access_stops,
    access_times,
    egress_time,
    max_rounds,
    board_slack,
    transfer_slack,
    arrival,
    ready,
    best_arrival,
    best_ready,
    marked,
    next_marked,
    pattern_from,
    par_pattern,
    par_trip,
    par_board,
    par_alight,
    ready_kind,
    ready_from,
    dest_arrival,
    dest_stop,
):
    n_stops_total = best_arrival.shape[0]
    n_patterns = pattern_from.shape[0]
    arrival[: max_rounds + 1, :] = INF
    ready[: max_rounds + 1, :] = INF
    best_arrival[:] = INF
    best_ready[:] = INF
    marked[:] = False
    dest_arrival[: max_rounds + 1] = INF
    dest_stop[: max_rounds + 1] = -1
    best_dest = INF
    for i in range(access_stops.shape[0]):
        s = access_stops[i]
        t = access_times[i]
        if t < ready[0, s]:
            ready[0, s] = t
            best_ready[s] = t
            ready_kind[0, s] = READY_ACCESS
            marked[s] = True
    rounds_done = 0
    for k in range(1, max_rounds + 1):
        # Patterns to scan, each from the earliest position of a stop improved last round.
        pattern_from[:] = -1
        any_marked = False
        for s in range(n_stops_total):
            if not marked[s]:
                continue
            any_marked = True
            for q in range(stop_pattern_start[s], stop_pattern_start[s + 1]):
                p = stop_patterns[q]
                pos = stop_pattern_pos[q]
                if pattern_from[p] < 0 or pos < pattern_from[p]:
                    pattern_from[p] = pos
        if not any_marked:
            break
        rounds_done = k
        next_marked[:] = False
        for p in range(n_patterns):
            first = pattern_from[p]
            if first < 0:
                continue
            a = pattern_stop_start[p]
            n = pattern_stop_start[p + 1] - a
            n_trips = pattern_trip_start[p + 1] - pattern_trip_start[p]
            ts = pattern_time_start[p]
            trip = -1
            board_pos = -1
            for j in range(first, n):
                s = pattern_stops[a + j]
                if trip >= 0 and can_alight[a + j]:
                    t_arr = arrivals[ts + trip * n + j]
                    if t_arr < best_arrival[s] and t_arr < best_dest:
                        arrival[k, s] = t_arr
                        best_arrival[s] = t_arr
                        par_pattern[k, s] = p
                        par_trip[k, s] = trip
                        par_board[k, s] = board_pos
                        par_alight[k, s] = j
                        next_marked[s] = True
                if can_board[a + j] and ready[k - 1, s] < INF:
                    r = ready[k - 1, s] + board_slack
                    if trip < 0 or r <= departures[ts + trip * n + j]:
                        cand = _earliest_trip(departures, ts, n, n_trips, j, r)
                        if cand >= 0 and (trip < 0 or cand < trip):
                            trip = cand
                            board_pos = j
        # Destination: egress from stops reached by a ride this round.
        for s in range(n_stops_total):
            if next_marked[s] and egress_time[s] < INF:
                t = arrival[k, s] + egress_time[s]
                if t < best_dest:
                    best_dest = t
                    dest_arrival[k] = t
                    dest_stop[k] = s
        # Changes: at the same stop, or walking to another one; both add the transfer slack.
        marked[:] = False
        for s in range(n_stops_total):
            if not next_marked[s]:
                continue
            base = arrival[k, s]
            if self_time[s] >= 0:
                t = base + self_time[s] + transfer_slack
                if t < best_ready[s] and t < ready[k, s]:
                    ready[k, s] = t
                    best_ready[s] = t
                    ready_kind[k, s] = READY_SAME_STOP
                    ready_from[k, s] = s
                    marked[s] = True
            for q in range(fp_start[s], fp_start[s + 1]):
                to = fp_to[q]
                t = base + fp_time[q] + transfer_slack
                if t < best_ready[to] and t < ready[k, to]:
                    ready[k, to] = t
                    best_ready[to] = t
                    ready_kind[k, to] = READY_WALK
                    ready_from[k, to] = s
                    marked[to] = True
    return rounds_done


@dataclass(frozen=True, slots=True)
class RideStep:
    """One ride of a transit journey as indices into the timetable."""

    pattern: int
    trip: int  # index within the pattern
    board_pos: int
    alight_pos: int
    board_stop: int
    alight_stop: int
    departure: int
    arrival: int
    reached_board_stop_by: int  # READY_ACCESS, READY_SAME_STOP or READY_WALK
    walked_from_stop: int  # for READY_WALK: the stop the walk began at (previous alighting)


@dataclass(frozen=True, slots=True)
class TransitResult:
    """The Pareto set over (arrival, rides): ``arrivals[i]`` with ``rides[i]`` rides."""

    rides: tuple[int, ...]
    arrivals: tuple[int, ...]
    egress_stops: tuple[int, ...]


class RaptorState:
    """A timetable's arrays plus search buffers, reused across queries (one thread at a time)."""

    def __init__(self, timetable: Timetable, footpaths: Footpaths, max_rounds: int = 8) -> None:
        tt = timetable
        self.timetable = tt
        self.footpaths = footpaths
        self.max_rounds = max_rounds
        n, k = tt.n_stops, max_rounds + 1
        # position of each stop in each pattern serving it (first occurrence)
        pos = np.empty(len(tt.stop_patterns), dtype=np.int32)
        for s in range(n):
            for q in range(tt.stop_pattern_start[s], tt.stop_pattern_start[s + 1]):
                p = tt.stop_patterns[q]
                stops = tt.pattern_stops[tt.pattern_stop_start[p] : tt.pattern_stop_start[p + 1]]
                pos[q] = int(np.flatnonzero(stops == s)[0])
        self._stop_pattern_pos = pos
        self._arrays = (
            tt.pattern_stop_start.astype(np.int64),
            tt.pattern_stops.astype(np.int64),
            tt.pattern_can_board,
            tt.pattern_can_alight,
            tt.pattern_trip_start.astype(np.int64),
            tt.pattern_time_start.astype(np.int64),
            tt.arrivals.astype(np.int64),
            tt.departures.astype(np.int64),
            tt.stop_pattern_start.astype(np.int64),
            tt.stop_patterns.astype(np.int64),
            pos.astype(np.int64),
        )
        self.arrival = np.full((k, n), INF, dtype=np.int64)
        self.ready = np.full((k, n), INF, dtype=np.int64)
        self._best_arrival = np.full(n, INF, dtype=np.int64)
        self._best_ready = np.full(n, INF, dtype=np.int64)
        self._marked = np.zeros(n, dtype=np.bool_)
        self._next_marked = np.zeros(n, dtype=np.bool_)
        self._pattern_from = np.full(tt.n_patterns, -1, dtype=np.int64)
        self.par_pattern = np.full((k, n), -1, dtype=np.int64)
        self.par_trip = np.full((k, n), -1, dtype=np.int64)
        self.par_board = np.full((k, n), -1, dtype=np.int64)
        self.par_alight = np.full((k, n), -1, dtype=np.int64)
        self.ready_kind = np.zeros((k, n), dtype=np.int64)
        self.ready_from = np.full((k, n), -1, dtype=np.int64)
        self.dest_arrival = np.full(k, INF, dtype=np.int64)
        self.dest_stop = np.full(k, -1, dtype=np.int64)
        self._walk_speed: float | None = None
        self._fp_time = np.zeros(0, dtype=np.int64)
        self._no_egress = np.full(n, INF, dtype=np.int64)

    def _footpath_times(self, walk_speed_mps: float) -> np.ndarray:
        if self._walk_speed != walk_speed_mps:
            fp = self.footpaths
            seconds = np.ceil(fp.distance_m / walk_speed_mps).astype(np.int64)
            self._fp_time = np.maximum(seconds, fp.min_time_s.astype(np.int64))
            self._walk_speed = walk_speed_mps
        return self._fp_time

    def run(
        self,
        access_stops: np.ndarray,
        access_times: np.ndarray,
        egress_time: np.ndarray | None = None,
        *,
        max_rides: int | None = None,
        walk_speed_mps: float = 1.28,
        board_slack_s: int = 0,
        transfer_slack_s: int = 90,
    ) -> TransitResult:
        """Search from ``access_times`` (absolute seconds) at ``access_stops``.

        ``egress_time[s]`` is the seconds from stop s to the destination (``INF`` where unusable);
        omit it to get arrivals at every stop only (see :attr:`arrival`).
        """
        rounds = self.max_rounds if max_rides is None else min(max_rides, self.max_rounds)
        if rounds < 1:
            raise ValueError("max_rides must be at least 1")
        egress = self._no_egress if egress_time is None else egress_time.astype(np.int64)
        fp = self.footpaths
        _raptor(
            *self._arrays,
            fp.start,
            fp.to.astype(np.int64),
            self._footpath_times(walk_speed_mps),
            fp.self_min_time_s.astype(np.int64),
            access_stops.astype(np.int64),
            access_times.astype(np.int64),
            egress,
            rounds,
            board_slack_s,
            transfer_slack_s,
            self.arrival,
            self.ready,
            self._best_arrival,
            self._best_ready,
            self._marked,
            self._next_marked,
            self._pattern_from,
            self.par_pattern,
            self.par_trip,
            self.par_board,
            self.par_alight,
            self.ready_kind,
            self.ready_from,
            self.dest_arrival,
            self.dest_stop,
        )
        self._rounds = rounds
        rides, arrivals, stops = [], [], []
        for k in range(1, rounds + 1):
            if self.dest_stop[k] >= 0:
                rides.append(k)
                arrivals.append(int(self.dest_arrival[k]))
                stops.append(int(self.dest_stop[k]))
        return TransitResult(tuple(rides), tuple(arrivals), tuple(stops))

    def earliest_arrival_at_stops(self) -> np.ndarray:
        """After :meth:`run`: the earliest ride arrival at every stop over all rounds (INF if unreached)."""
        return np.asarray(self.arrival[1 : self._rounds + 1].min(axis=0))

    def journey(self, rides: int, last_stop: int) -> list[RideStep]:
        """Rebuild the rides of the journey that arrived at ``last_stop`` in round ``rides``."""
        tt = self.timetable
        steps: list[RideStep] = []
        k, s = rides, last_stop
        while k >= 1:
            p = int(self.par_pattern[k, s])
            trip = int(self.par_trip[k, s])
            bpos, apos = int(self.par_board[k, s]), int(self.par_alight[k, s])
            a = int(tt.pattern_stop_start[p])
            n = int(tt.pattern_stop_start[p + 1]) - a
            ts = int(tt.pattern_time_start[p])
            board_stop = int(tt.pattern_stops[a + bpos])
            kind = int(self.ready_kind[k - 1, board_stop])
            walked_from = int(self.ready_from[k - 1, board_stop]) if kind == READY_WALK else -1
            steps.append(
                RideStep(
                    p,
                    trip,
                    bpos,
                    apos,
                    board_stop,
                    s,
                    int(tt.departures[ts + trip * n + bpos]),
                    int(tt.arrivals[ts + trip * n + apos]),
                    kind,
                    walked_from,
                )
            )
            if kind == READY_ACCESS:
                break
            s = int(self.ready_from[k - 1, board_stop])
            k -= 1
        steps.reverse()
        return steps
