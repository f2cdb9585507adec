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

The parts are kept apart, as nigiri and OpenTripPlanner's raptor do: a :class:`RaptorQuery`
(a value), the shared read-only :class:`RaptorNetwork`, the caller's :class:`RaptorState`
buffers (allocated once, reused by its owner's queries), and a :class:`TransitResult` that
carries what :func:`reconstruct` needs, so a result stays valid after the buffers are reused.
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


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
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
    keep_labels,
):
    n_stops_total = best_arrival.shape[0]
    n_patterns = pattern_from.shape[0]
    if not keep_labels:
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
class RaptorQuery:
    """One transit search, as a value: access and egress as offsets, and the rules.

    ``access_times[i]`` is when the rider can be at ``access_stops[i]`` (absolute seconds in the
    service day's frame); ``egress_time[s]`` the seconds from stop s to the destination (``INF``
    where unusable; None to search to every stop, as a matrix does). With ``journeys`` the result
    keeps the labels :func:`reconstruct` needs; a matrix that reads only arrivals leaves it off.

    With ``keep_labels`` the search starts from the labels the state holds (range RAPTOR): the
    state's previous search must have been from the same access stops and rules at the same or a
    later time, on the same network; journeys cannot be rebuilt then (the parents mix searches).
    """

    access_stops: np.ndarray
    access_times: np.ndarray
    egress_time: np.ndarray | None = None
    max_rides: int = 8
    walk_speed_mps: float = 1.28
    board_slack_s: int = 0
    transfer_slack_s: int = 90
    journeys: bool = True
    keep_labels: bool = False

    def __post_init__(self) -> None:
        if self.keep_labels and self.journeys:
            raise ValueError("keep_labels (range RAPTOR) gives arrivals only: set journeys=False")
        if self.max_rides < 1:
            raise ValueError("max_rides must be at least 1")
        if len(self.access_stops) != len(self.access_times):
            raise ValueError("access_stops and access_times must have the same length")


@dataclass(frozen=True, slots=True)
class JourneyLabels:
    """The parent labels of a finished search (rounds 0..k), enough to rebuild any of its journeys."""

    pattern: np.ndarray
    trip: np.ndarray
    board: np.ndarray
    alight: np.ndarray
    ready_kind: np.ndarray
    ready_from: np.ndarray


@dataclass(frozen=True, slots=True)
class TransitResult:
    """The Pareto set over (arrival, rides): ``arrivals[i]`` with ``rides[i]`` rides, reaching the
    destination from ``egress_stops[i]``; for a search to every stop (no egress), ``stop_arrival[s]``
    the earliest ride arrival at each stop (INF if unreached); ``labels`` for :func:`reconstruct`
    (None when the query asked for no journeys)."""

    rides: tuple[int, ...]
    arrivals: tuple[int, ...]
    egress_stops: tuple[int, ...]
    stop_arrival: np.ndarray | None
    labels: JourneyLabels | None


class RaptorNetwork:
    """A timetable and its footpaths as the kernel's arrays. Read-only once built: share it freely."""

    def __init__(self, timetable: Timetable, footpaths: Footpaths, max_rounds: int = 8) -> None:
        tt = timetable
        self.timetable = tt
        self.footpaths = footpaths
        self.max_rounds = max_rounds
        # position of each stop in each pattern serving it (first occurrence)
        pos = np.empty(len(tt.stop_patterns), dtype=np.int32)
        for s in range(tt.n_stops):
            for q in range(tt.stop_pattern_start[s], tt.stop_pattern_start[s + 1]):
                p = tt.stop_patterns[q]
                stops = tt.pattern_stops[tt.pattern_stop_start[p] : tt.pattern_stop_start[p + 1]]
                pos[q] = int(np.flatnonzero(stops == s)[0])
        self.arrays = (
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
        self.footpath_arrays = (
            footpaths.start,
            footpaths.to.astype(np.int64),
            footpaths.self_min_time_s.astype(np.int64),
        )

    def footpath_times(self, walk_speed_mps: float) -> np.ndarray:
        """Seconds of each footpath at a walking speed (never under its minimum transfer time)."""
        seconds = np.ceil(self.footpaths.distance_m / walk_speed_mps).astype(np.int64)
        times: np.ndarray = np.maximum(seconds, self.footpaths.min_time_s.astype(np.int64))
        return times

    def new_state(self) -> RaptorState:
        """Fresh search buffers sized for this network (one per thread or session)."""
        return RaptorState(self.timetable.n_stops, self.timetable.n_patterns, self.max_rounds)


class RaptorState:
    """Search buffers for one network's size. Owned by one caller at a time (a thread, a session); a
    search overwrites them, and its result keeps copies of what it needs."""

    def __init__(self, n_stops: int, n_patterns: int, max_rounds: int = 8) -> None:
        n, k = n_stops, max_rounds + 1
        self.arrival = np.full((k, n), INF, dtype=np.int64)
        self.ready = np.full((k, n), INF, dtype=np.int64)
        self.best_arrival = np.full(n, INF, dtype=np.int64)
        self.best_ready = np.full(n, INF, dtype=np.int64)
        self.marked = np.zeros(n, dtype=np.bool_)
        self.next_marked = np.zeros(n, dtype=np.bool_)
        self.pattern_from = np.full(n_patterns, -1, dtype=np.int64)
        self.par_pattern = np.full((k, n), -1, dtype=np.int64)
        self.par_trip = np.full((k, n), -1, dtype=np.int64)
        self.par_board = np.full((k, n), -1, dtype=np.int64)
        self.par_alight = np.full((k, n), -1, dtype=np.int64)
        self.ready_kind = np.zeros((k, n), dtype=np.int64)
        self.ready_from = np.full((k, n), -1, dtype=np.int64)
        self.dest_arrival = np.full(k, INF, dtype=np.int64)
        self.dest_stop = np.full(k, -1, dtype=np.int64)
        self.no_egress = np.full(n, INF, dtype=np.int64)
        self._fp_speed: float | None = None
        self._fp_network: RaptorNetwork | None = None
        self._fp_time = np.zeros(0, dtype=np.int64)

    def footpath_times(self, network: RaptorNetwork, walk_speed_mps: float) -> np.ndarray:
        """The network's footpath seconds at this speed, kept while the network and speed stay the same."""
        if self._fp_speed != walk_speed_mps or self._fp_network is not network:
            self._fp_time = network.footpath_times(walk_speed_mps)
            self._fp_speed, self._fp_network = walk_speed_mps, network
        return self._fp_time


def search(network: RaptorNetwork, query: RaptorQuery, state: RaptorState) -> TransitResult:
    """Run ``query`` on ``network`` in the caller's ``state`` buffers (see the module docstring).

    Parameters
    ----------
    network
        The compiled timetable and footpaths, shared read-only between searches.
    query
        Access and egress offsets, departure (or window), slack, rides and whether journeys are kept.
    state
        The caller's buffers for this network size; one per thread.

    Returns
    -------
    TransitResult
        Arrival times per round at the egress stops (and at every stop without egress), and with
        ``query.journeys`` the labels ``reconstruct`` needs; independent of ``state`` afterwards.
    """
    rounds = min(query.max_rides, network.max_rounds)
    egress = state.no_egress if query.egress_time is None else query.egress_time.astype(np.int64)
    fp_start, fp_to, self_time = network.footpath_arrays
    rounds_done = _raptor(
        *network.arrays,
        fp_start,
        fp_to,
        state.footpath_times(network, query.walk_speed_mps),
        self_time,
        query.access_stops.astype(np.int64),
        query.access_times.astype(np.int64),
        egress,
        rounds,
        query.board_slack_s,
        query.transfer_slack_s,
        state.arrival,
        state.ready,
        state.best_arrival,
        state.best_ready,
        state.marked,
        state.next_marked,
        state.pattern_from,
        state.par_pattern,
        state.par_trip,
        state.par_board,
        state.par_alight,
        state.ready_kind,
        state.ready_from,
        state.dest_arrival,
        state.dest_stop,
        query.keep_labels,
    )
    rides, arrivals, stops = [], [], []
    for k in range(1, rounds + 1):
        if state.dest_stop[k] >= 0:
            rides.append(k)
            arrivals.append(int(state.dest_arrival[k]))
            stops.append(int(state.dest_stop[k]))
    used = slice(0, rounds_done + 1)  # rounds after the last improvement hold nothing to rebuild
    labels = (
        JourneyLabels(
            state.par_pattern[used].copy(),
            state.par_trip[used].copy(),
            state.par_board[used].copy(),
            state.par_alight[used].copy(),
            state.ready_kind[used].copy(),
            state.ready_from[used].copy(),
        )
        if query.journeys
        else None
    )
    stop_arrival = np.asarray(state.arrival[1 : rounds + 1].min(axis=0)) if query.egress_time is None else None
    return TransitResult(tuple(rides), tuple(arrivals), tuple(stops), stop_arrival, labels)


def reconstruct(timetable: Timetable, result: TransitResult, rides: int, last_stop: int) -> list[RideStep]:
    """The rides of ``result``'s journey that arrived at ``last_stop`` with ``rides`` rides.

    Parameters
    ----------
    timetable
        The timetable ``result`` was searched on.
    result
        A search result with journeys kept (``RaptorQuery.journeys``).
    rides
        The round (number of rides) of the journey.
    last_stop
        Where the journey's last ride ends.

    Returns
    -------
    list[RideStep]
        The rides in order: trip, boarding and alighting stops and times.
    """
    labels = result.labels
    if labels is None:
        raise ValueError("this search kept no journeys (RaptorQuery.journeys was False)")
    tt = timetable
    steps: list[RideStep] = []
    k, s = rides, last_stop
    while k >= 1:
        p = int(labels.pattern[k, s])
        trip = int(labels.trip[k, s])
        bpos, apos = int(labels.board[k, s]), int(labels.alight[k, s])
        a = int(tt.pattern_stop_start[p])
        n = int(tt.pattern_stop_start[p + 1]) - a
        ts = int(tt.pattern_time_start[p])
        board_stop = int(tt.pattern_stops[a + bpos])
        kind = int(labels.ready_kind[k - 1, board_stop])
        walked_from = int(labels.ready_from[k - 1, board_stop]) if kind == READY_WALK else -1
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
        s = int(labels.ready_from[k - 1, board_stop])
        k -= 1
    steps.reverse()
    return steps
