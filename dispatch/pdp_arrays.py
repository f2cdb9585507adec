"""Pickup-and-delivery routes as flat integer arrays, and the numba kernels on them.

Everything here works on the solver's own scaled integers (``SolverParams.scale``): travel times
rounded up, window ends rounded down, the time transit from a node is its service time plus the
travel time, exactly as in the OR-Tools model, so routes found here are feasible there too.
Starting every visit as early as possible decides time windows and capacity exactly. Where
ride times or route durations are limited (dial-a-ride), a route whose earliest schedule breaks
them may still be feasible with later starts; ``schedule_feasible`` then looks for such a
schedule with the eight-step procedure of Cordeau & Laporte (2003): leave the depot as late as
the waiting allows, then delay each pickup by as much as its forward time slack and the waiting
after it allow. What it finds is checked constraint by constraint, so it never accepts an
infeasible route; it may in rare cases miss a feasible one.

Request k has node 2k (pickup) and 2k + 1 (drop-off). Vehicles alike in depots, shift, seats,
wheelchair places and route duration form a class; class c has its start depot at node 2K + 2c and
its end depot at 2K + 2c + 1 (one class, nodes 2K and 2K + 1, for a fleet of identical vehicles).
A route is ``seq[:n]`` of request nodes (the depots implied at both ends); a set of routes is a 2-D
array with one row per vehicle and an array of lengths. Row r is vehicle r of a mixed fleet; the rows
of identical vehicles are interchangeable, and a plan's routes then take the first vehicles. A request
tied to a vehicle (a rider on board) goes only into that vehicle's row. Used by ``dispatch.construct``
(first plans), ``dispatch.route_min`` (fewer vehicles, riders left out served) and ``dispatch.lns``
(shorter routes).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from dispatch.model import Problem, scaled_tables
from dispatch.plan import PlannedRoute, RoutePlan, Visit

BIG = np.int64(1) << 60  # no limit (window end, ride time, route duration)


def inner_kernel(function: Callable[..., Any]) -> Any:
    """``function`` compiled by numba (cached) without reference counting, for the kernels the searches
    call in their innermost loops. numba otherwise counts a reference to every array such a function is
    handed, on entry and again at each exit, an atomic operation per array and call, wherever the
    function calls another that is not inlined (its error status could mean an exception to unwind);
    with a dozen tables per call that was a large part of the ejection pool's time. Such a kernel must
    not allocate (numba needs its reference counting for that): work arrays come from the caller (see
    ``insertion_scratch``), and what it calls is compiled the same way unless declared otherwise."""
    return njit(cache=True, _nrt=False)(function)  # type: ignore[call-overload] # numba's option, not in its stubs


@dataclass(frozen=True, slots=True)
class CompiledFleetProblem:
    """A problem as flat integer arrays (see the module docstring); K requests, V vehicles, C classes."""

    transit: np.ndarray  # int64 (2K+2C, 2K+2C): service at the origin plus travel, scaled
    distance: np.ndarray  # int64 (2K+2C, 2K+2C), scaled
    earliest: np.ndarray  # int64 (2K+2C,)
    latest: np.ndarray  # int64 (2K+2C,)
    seats: np.ndarray  # int64 (2K,): + at pickups, - at drop-offs
    chairs: np.ndarray  # int64 (2K,)
    ride_limit: np.ndarray  # int64 (K,): drop-off start minus pickup start
    capacity: np.ndarray  # int64 (V, 2): seats, wheelchair places
    max_duration: np.ndarray  # int64 (V,): route duration bound (BIG if none)
    start: np.ndarray  # int64 (V,): the vehicle's start depot node (its end depot is the next node)
    vehicle_class: np.ndarray  # int64 (V,): vehicles alike share a class
    tied: np.ndarray  # int64 (K,): the vehicle (row) a request is tied to, -1 if none

    @property
    def kernel_tables(self) -> tuple[np.ndarray, ...]:
        """The tables the kernels take in this order, after their own arguments: transit, distance,
        earliest, latest, seats, chairs, ride_limit, capacity, max_duration."""
        return (
            self.transit,
            self.distance,
            self.earliest,
            self.latest,
            self.seats,
            self.chairs,
            self.ride_limit,
            self.capacity,
            self.max_duration,
        )

    @property
    def uniform(self) -> bool:
        """Whether every vehicle is alike and no request is tied to one (rows interchangeable)."""
        return bool((self.vehicle_class == 0).all() and (self.tied < 0).all())


# The last problem compiled in this process, held by identity: a batch's stages each ask for the same
# problem's arrays, which take seconds and gigabytes for thousands of requests. One entry only; no
# kernel writes to these arrays, so stages (and threads) may share them.
_last_compiled: tuple[Problem, int, CompiledFleetProblem | None] | None = None


def compile_problem(problem: Problem, scale: int) -> CompiledFleetProblem | None:
    """The arrays for ``problem``; None where it has no request. The same object again for the same
    ``problem`` object and ``scale`` as the call before (the arrays are only read)."""
    global _last_compiled
    last = _last_compiled
    if last is not None and last[0] is problem and last[1] == scale:
        return last[2]
    compiled = _compile(problem, scale)
    _last_compiled = (problem, scale, compiled)
    return compiled


def _compile(problem: Problem, scale: int) -> CompiledFleetProblem | None:
    vehicles = problem.vehicles
    if not problem.requests or not vehicles:
        return None
    classes: dict[tuple[object, ...], int] = {}
    vehicle_class = [classes.setdefault(v.kind(), len(classes)) for v in vehicles]
    first_of = {c: vehicles[vehicle_class.index(c)] for c in range(len(classes))}
    depots = [first_of[c] for c in range(len(classes))]
    location = [x for r in problem.requests for x in (r.pickup, r.dropoff)]
    location += [x for v in depots for x in (v.start, v.end)]
    service = [x for r in problem.requests for x in (r.pickup_service, r.dropoff_service)] + [0.0, 0.0] * len(depots)
    service_scaled, travel, distance = scaled_tables(problem, location, service, scale)

    def low(x: float) -> int:
        return math.ceil(x * scale)

    def high(x: float) -> int:
        return int(BIG) if math.isinf(x) else math.floor(x * scale)

    earliest = [low(w.earliest) for r in problem.requests for w in (r.pickup_window, r.dropoff_window)]
    latest = [high(w.latest) for r in problem.requests for w in (r.pickup_window, r.dropoff_window)]
    earliest += [low(v.shift.earliest) for v in depots for _ in (0, 1)]
    latest += [high(v.shift.latest) for v in depots for _ in (0, 1)]
    row = {v.id: k for k, v in enumerate(vehicles)}
    ride = [
        int(BIG) if r.max_ride_time is None else math.floor(r.max_ride_time * scale) + int(service_scaled[2 * k])
        for k, r in enumerate(problem.requests)
    ]
    return CompiledFleetProblem(
        transit=_plus_service(travel, service_scaled),
        distance=distance,
        earliest=np.array(earliest, dtype=np.int64),
        latest=np.array(latest, dtype=np.int64),
        seats=np.array([s for r in problem.requests for s in (r.seats, -r.seats)], dtype=np.int64),
        chairs=np.array([c for r in problem.requests for c in (r.wheelchairs, -r.wheelchairs)], dtype=np.int64),
        ride_limit=np.array(ride, dtype=np.int64),
        capacity=np.array([[v.seats, v.wheelchair_places] for v in vehicles], dtype=np.int64),
        max_duration=np.array(
            [int(BIG) if v.max_route_duration is None else math.floor(v.max_route_duration * scale) for v in vehicles],
            dtype=np.int64,
        ),
        start=np.array([2 * len(problem.requests) + 2 * c for c in vehicle_class], dtype=np.int64),
        vehicle_class=np.array(vehicle_class, dtype=np.int64),
        tied=np.array([-1 if r.vehicle is None else row[r.vehicle] for r in problem.requests], dtype=np.int64),
    )


def _plus_service(travel: np.ndarray, service: np.ndarray) -> np.ndarray:
    """Travel plus the service at the stop left, in place (``travel`` is the caller's own copy)."""
    travel += service[:, None]
    return travel


# ---------------------------------------------------------------------------------------------
# numba kernels: a route is seq[:n] of request nodes; the depots are implied at both ends

# Rows of the scratch array (``insertion_scratch``) that the feasibility and insertion kernels work in.
# The caller makes it once per search and hands it down: these kernels may not allocate (``inner_kernel``).
SCRATCH_CANDIDATE = 0  # a route with one insertion made, for its exact schedule check
SCRATCH_SCHEDULE = 1  # four rows from here: schedule_feasible's work
SCRATCH_PICKS = 5  # per request: pickup times (route_feasible), then pickup positions (schedule_feasible)
SCRATCH_TRIED = 6  # per class of alike vehicles: 1 once its empty route was tried (cheapest_route)
SCRATCH_FLAGS = 7  # [0]: 1 where some request's ride is limited (insertions then check schedules exactly)
SCRATCH_ROWS = 8


@njit(cache=True)
def insertion_scratch(route_size, ride_limit, n_routes):  # type: ignore[no-untyped-def]
    """The scratch array (rows ``SCRATCH_*``) for routes of up to ``route_size`` visits, the requests'
    ``ride_limit`` and ``n_routes`` vehicles; one per search, never shared between threads."""
    width = max(route_size + 4, ride_limit.shape[0], n_routes)
    scratch = np.zeros((SCRATCH_ROWS, width), np.int64)
    for k in range(ride_limit.shape[0]):
        if ride_limit[k] < BIG:
            scratch[SCRATCH_FLAGS, 0] = 1
    return scratch


@inner_kernel
def route_feasible(  # type: ignore[no-untyped-def]
    seq, n, start, transit, earliest, latest, seats, chairs, ride_limit, capacity, max_duration, scratch
):
    """Whether the route seq[:n] from depot node ``start`` (capacity: its vehicle's row) is feasible: as
    early as possible, or else with later starts (dial-a-ride). ``scratch``: ``insertion_scratch``'s."""
    pick_time = scratch[SCRATCH_PICKS]
    t = earliest[start]
    node = start
    load_s = 0
    load_c = 0
    early_enough = True  # ride times and duration with every visit as early as possible
    for q in range(n):
        x = seq[q]
        t = max(t + transit[node, x], earliest[x])
        if t > latest[x]:
            return False
        load_s += seats[x]
        load_c += chairs[x]
        if load_s > capacity[0] or load_c > capacity[1]:
            return False
        if x % 2 == 0:
            pick_time[x // 2] = t
        elif t - pick_time[x // 2] > ride_limit[x // 2]:
            early_enough = False
        node = x
    t = max(t + transit[node, start + 1], earliest[start + 1])
    if t > latest[start + 1]:
        return False
    if early_enough and t - earliest[start] <= max_duration:
        return True
    # the pick times are spent: their row takes the pickup positions
    work = scratch[SCRATCH_SCHEDULE : SCRATCH_SCHEDULE + 4]
    return schedule_feasible(seq, n, start, transit, earliest, latest, ride_limit, max_duration, work, pick_time)


@inner_kernel
def _forward(path, first, m, transit, earliest, arrive, begin):  # type: ignore[no-untyped-def]
    """Earliest arrival and start of service at path[first:m], after path[first - 1] served at begin[first - 1]."""
    for q in range(first, m):
        arrive[q] = begin[q - 1] + transit[path[q - 1], path[q]]
        begin[q] = max(arrive[q], earliest[path[q]])


@inner_kernel
def _forward_slack(i, path, m, latest, ride_limit, max_duration, arrive, begin, pick_position):  # type: ignore[no-untyped-def]
    """How far the start of service at position i can move later without breaking a window, the ride
    time of a passenger aboard since before i, or the route duration (Cordeau & Laporte's F_i)."""
    slack = BIG
    waiting = 0
    for q in range(i, m):
        if q > i:
            waiting += begin[q] - arrive[q]
        x = path[q]
        room = latest[x] - begin[q]
        if 0 < q < m - 1 and x % 2 == 1:
            picked = pick_position[x // 2]
            if picked < i:
                room = min(room, ride_limit[x // 2] - (begin[q] - begin[picked]))
        if q == m - 1 and i > 0:
            room = min(room, max_duration - (begin[q] - begin[0]))
        slack = min(slack, waiting + max(room, 0))
    return slack


@inner_kernel
def schedule_feasible(seq, n, start, transit, earliest, latest, ride_limit, max_duration, work, pick_position):  # type: ignore[no-untyped-def]
    """Whether seq[:n] from depot node ``start`` has a schedule within windows, ride times and route
    duration (capacity not checked).

    Cordeau & Laporte's eight steps on work = (path, arrive, begin, spare) rows of length n + 2.
    """
    m = n + 2
    path = work[0]
    arrive = work[1]
    begin = work[2]
    path[0] = start
    for q in range(n):
        path[q + 1] = seq[q]
        if seq[q] % 2 == 0:
            pick_position[seq[q] // 2] = q + 1
    path[m - 1] = start + 1
    arrive[0] = earliest[start]
    begin[0] = earliest[start]
    _forward(path, 1, m, transit, earliest, arrive, begin)
    for q in range(m):
        if begin[q] > latest[path[q]]:
            return False
    # leave the depot as late as the waiting on the way and the slack allow
    waiting = 0
    for q in range(1, m - 1):
        waiting += begin[q] - arrive[q]
    begin[0] += min(_forward_slack(0, path, m, latest, ride_limit, max_duration, arrive, begin, pick_position), waiting)
    _forward(path, 1, m, transit, earliest, arrive, begin)
    if _schedule_ok(path, m, latest, ride_limit, max_duration, begin, pick_position):
        return True
    # delay each pickup in turn, shortening the rides of those picked up there
    for j in range(1, m - 1):
        if path[j] % 2 == 1:
            continue
        waiting = 0
        for q in range(j + 1, m - 1):
            waiting += begin[q] - arrive[q]
        delay = min(_forward_slack(j, path, m, latest, ride_limit, max_duration, arrive, begin, pick_position), waiting)
        if delay > 0:
            begin[j] += delay
            _forward(path, j + 1, m, transit, earliest, arrive, begin)
    return _schedule_ok(path, m, latest, ride_limit, max_duration, begin, pick_position)


@inner_kernel
def _schedule_ok(path, m, latest, ride_limit, max_duration, begin, pick_position):  # type: ignore[no-untyped-def]
    for q in range(m):
        if begin[q] > latest[path[q]]:
            return False
        x = path[q]
        if 0 < q < m - 1 and x % 2 == 1 and begin[q] - begin[pick_position[x // 2]] > ride_limit[x // 2]:
            return False
    return begin[m - 1] - begin[0] <= max_duration


@inner_kernel
def _fits(  # type: ignore[no-untyped-def]
    candidate, seq, n, i, j, p, d, start, transit, earliest, latest, ride_limit, max_duration, work, pick_position
):
    """Whether seq[:n] with pickup node p before seq[i] and drop-off node d before seq[j] has a schedule
    (``schedule_feasible``; ``candidate`` holds the new sequence)."""
    m = 0
    for q in range(n + 1):
        if q == i:
            candidate[m] = p
            m += 1
        if q == j:
            candidate[m] = d
            m += 1
        if q < n:
            candidate[m] = seq[q]
            m += 1
    return schedule_feasible(
        candidate, n + 2, start, transit, earliest, latest, ride_limit, max_duration, work, pick_position
    )


@inner_kernel
def best_insertion(  # type: ignore[no-untyped-def]
    seq,
    n,
    k,
    start,
    transit,
    distance,
    earliest,
    latest,
    seats,
    chairs,
    ride_limit,
    capacity,
    max_duration,
    prefix_time,
    prefix_s,
    prefix_c,
    suffix_latest,
    blink,
    scratch,
):
    """Cheapest feasible insertion of request k into seq[:n] from depot node ``start`` (capacity and
    max_duration: its vehicle's): (added distance, i, j), or (-1, -1, -1). ``scratch``:
    ``insertion_scratch``'s.

    The pickup goes before seq[i], the drop-off before seq[j] (j >= i; j == n: before the end depot).
    prefix_* and suffix_latest are work arrays of at least n + 1. ``blink`` > 0: each place that would be
    the cheapest so far is passed over with that probability (randomised recreate, as in SISR).

    Where ride times or the route duration are limited, the earliest schedule only rules out (windows,
    loads, the shortest possible ride); a place that would be the cheapest so far is then checked by
    ``schedule_feasible``.

    Each place costs O(1) after an O(n) pass: ``suffix_latest[q]`` is the latest arrival at seq[q]
    (q == n: the end depot) from which the rest of the route still meets its windows, so the part
    after the drop-off needs no replay (on 200-task routes the replay took most of the search's time).
    """
    overloaded = route_summary(
        seq,
        n,
        start,
        transit,
        earliest,
        latest,
        seats,
        chairs,
        capacity,
        prefix_time,
        prefix_s,
        prefix_c,
        suffix_latest,
    )
    return insertion_below(
        seq, n, k, start, transit, distance, earliest, latest, seats, chairs, ride_limit, capacity, max_duration,
        prefix_time, prefix_s, prefix_c, suffix_latest, overloaded, blink, -1, False, prefix_time, scratch,
    )  # fmt: skip


@njit(cache=True, inline="always")
def first_place_open(suffix_latest, n, opens):  # type: ignore[no-untyped-def]
    """The first position q in 0..n with ``suffix_latest[q] >= opens`` (n + 1: none), by bisection:
    ``suffix_latest`` (``route_summary``) never falls along the route, as travel times are not negative."""
    low = 0
    high = n + 1
    while low < high:
        mid = (low + high) // 2
        if suffix_latest[mid] >= opens:
            high = mid
        else:
            low = mid + 1
    return low


@njit(cache=True, inline="always")
def route_summary(  # type: ignore[no-untyped-def]
    seq, n, start, transit, earliest, latest, seats, chairs, capacity, prefix_time, prefix_s, prefix_c, suffix_latest
):
    """What every insertion into seq[:n] (from depot node ``start``) needs of the route as it is, into
    the work arrays (at least n + 1): the start of service and the loads after each visit, and
    ``suffix_latest[q]``, the latest arrival at seq[q] (q == n: the end depot) from which the rest of the
    route still meets its windows. Returns the position of the last visit after which the load exceeds
    ``capacity`` (-1: none). Depends on the route only, so a search may keep it while the route stays."""
    end = start + 1
    # the route as it is: time and loads after each visit, pickup times
    t = earliest[start]
    node = start
    ls = 0
    lc = 0
    for q in range(n):
        x = seq[q]
        t = max(t + transit[node, x], earliest[x])
        ls += seats[x]
        lc += chairs[x]
        prefix_time[q] = t
        prefix_s[q] = ls
        prefix_c[q] = lc
        node = x
    # backwards: the latest arrival at each position that the rest of the route can absorb. An
    # arrival before the window opens waits, so the bound is exact where it is not below the
    # window's opening; below it the rest is infeasible whatever the arrival (-BIG).
    bound = latest[end] if latest[end] >= earliest[end] else -BIG
    suffix_latest[n] = bound
    for q in range(n - 1, -1, -1):
        x = seq[q]
        after = end if q == n - 1 else seq[q + 1]
        bound = min(latest[x], bound - transit[x, after]) if bound > -BIG else -BIG
        if bound < earliest[x]:
            bound = -BIG
        suffix_latest[q] = bound
    # after the drop-off the loads are the route's own: places before the last overload are out
    overloaded = -1
    for q in range(n):
        if prefix_s[q] > capacity[0] or prefix_c[q] > capacity[1]:
            overloaded = q
    return overloaded


@njit(cache=True, inline="always")
def least_drop_detours(seq, n, d, end, distance, least_drop, none):  # type: ignore[no-untyped-def]
    """least_drop[j] (1 <= j <= n + 1): the least detour of drop-off node d put at place j or later of seq[:n]
    (after seq[j - 1], before seq[j] or the end depot ``end``); ``none`` (a value above any cost) past the
    last place. A lower bound for the insertions' scans."""
    least_drop[n + 1] = none
    for j in range(n, 0, -1):
        b = end if j == n else seq[j]
        least_drop[j] = min(least_drop[j + 1], distance[seq[j - 1], d] + distance[d, b] - distance[seq[j - 1], b])


@njit(cache=True, inline="always")
def insertion_below(  # type: ignore[no-untyped-def]
    seq,
    n,
    k,
    start,
    transit,
    distance,
    earliest,
    latest,
    seats,
    chairs,
    ride_limit,
    capacity,
    max_duration,
    prefix_time,
    prefix_s,
    prefix_c,
    suffix_latest,
    overloaded,
    blink,
    bound,
    prune,
    least_drop,
    scratch,
):
    """``best_insertion`` with the route's summary given (``route_summary``: the work arrays and
    ``overloaded``), among the places that add less than ``bound`` (< 0: no bound; the best place in the
    other routes): (added distance, i, j), or (-1, -1, -1).

    With ``prune`` the drop-off right after the pickup is tried everywhere first; then a pickup place is
    passed over, and a drop-off scan stopped, as soon as the pickup's detour plus the least drop-off
    detour still possible is no less than the cheapest place found (or ``bound``). That pays where a
    ruin has left room and many places fit (the LNS's recreate); where few fit (full routes, as in the
    ejection pool) the two extra passes cost more than they save. The same place either way but for
    ties and which places ``blink`` passes over. ``least_drop``: a work array of at least n + 2 (with
    ``prune``); ``scratch``: ``insertion_scratch``'s."""
    exact = max_duration < BIG or scratch[SCRATCH_FLAGS, 0] == 1
    candidate = scratch[SCRATCH_CANDIDATE]
    work = scratch[SCRATCH_SCHEDULE : SCRATCH_SCHEDULE + 4]
    pick_position = scratch[SCRATCH_PICKS]
    end = start + 1
    p = 2 * k
    d = p + 1
    best = -1
    best_i = -1
    best_j = -1
    cap = BIG if bound < 0 else bound  # a place must add less than this
    if prune:
        # with the pickup's own detour a lower bound of every place left, so once a cheap place is known
        # most pickup places and the tails of the others are passed over
        least_drop_detours(seq, n, d, end, distance, least_drop, BIG)
    # first the drop-off right after the pickup, everywhere (O(n)): a cheap place found early bounds the rest
    # the arrival at seq[i] after a pickup before it is no earlier than the pickup's window opens, and
    # suffix_latest never falls along the route: the places before ``first`` cannot be feasible
    first = first_place_open(suffix_latest, n, earliest[p])
    for i in range(first, n + 1 if prune else 0):
        ta = earliest[start] if i == 0 else prefix_time[i - 1]
        if ta > latest[p]:
            break
        a = start if i == 0 else seq[i - 1]
        b = end if i == n else seq[i]
        added = distance[a, p] + distance[p, d] + distance[d, b] - distance[a, b]
        if added >= cap or i <= overloaded:
            continue
        if (0 if i == 0 else prefix_s[i - 1]) + seats[p] > capacity[0]:
            continue
        if (0 if i == 0 else prefix_c[i - 1]) + chairs[p] > capacity[1]:
            continue
        tp = max(ta + transit[a, p], earliest[p])
        td = max(tp + transit[p, d], earliest[d])
        if tp > latest[p] or td > latest[d] or (td - tp if not exact else transit[p, d]) > ride_limit[k]:
            continue
        if (
            td + transit[d, b] <= suffix_latest[i]
            and (blink == 0.0 or np.random.random() >= blink)  # noqa: NPY002
            and (not exact or _fits(candidate, seq, n, i, i, p, d, start, transit, earliest, latest, ride_limit,
                                    max_duration, work, pick_position))
        ):  # fmt: skip
            best, best_i, best_j, cap = added, i, i, added
    for i in range(first, n + 1):
        a = start if i == 0 else seq[i - 1]
        ta = earliest[start] if i == 0 else prefix_time[i - 1]
        if ta > latest[p]:
            break  # past the pickup window's end already, and the route's times never fall
        b_i = end if i == n else seq[i]
        pick_detour = distance[a, p] + distance[p, b_i] - distance[a, b_i]
        if prune and pick_detour + least_drop[i + 1] >= cap:
            continue  # no later drop-off place can be cheaper (the one right after was tried above)
        la_s = 0 if i == 0 else prefix_s[i - 1]
        la_c = 0 if i == 0 else prefix_c[i - 1]
        tp = max(ta + transit[a, p], earliest[p])
        if tp > latest[p]:
            continue
        cur_s = la_s + seats[p]
        cur_c = la_c + chairs[p]
        if cur_s > capacity[0] or cur_c > capacity[1]:
            continue
        cur_t = tp
        cur = p
        on_board = 0  # time from the pickup to cur without waiting: the shortest possible ride so far
        for j in range(i, n + 1):
            b = end if j == n else seq[j]
            td = max(cur_t + transit[cur, d], earliest[d])
            if td > latest[d] or (td - tp if not exact else on_board + transit[cur, d]) > ride_limit[k]:
                break  # a later drop-off only comes later
            if j > i or not prune:  # pruned: the drop-off right after the pickup was tried above
                if j == i:
                    added = distance[a, p] + distance[p, d] + distance[d, b] - distance[a, b]
                else:
                    added = pick_detour + distance[cur, d] + distance[d, b] - distance[cur, b]
                if (
                    added < cap
                    and j > overloaded
                    and td + transit[d, b] <= suffix_latest[j]
                    and (blink == 0.0 or np.random.random() >= blink)  # noqa: NPY002
                    and (not exact or _fits(candidate, seq, n, i, j, p, d, start, transit, earliest, latest,
                                            ride_limit, max_duration, work, pick_position))
                ):  # fmt: skip
                    best, best_i, best_j, cap = added, i, j, added
            if j == n or (prune and pick_detour + least_drop[j + 1] >= cap):
                break  # no later drop-off place can be cheaper
            # serve seq[j] before the drop-off: move on, or stop if the rest from seq[j] cannot absorb
            # the arrival even without the drop-off (with it, later still: travel times meet the
            # triangle inequality, as Euclidean and shortest-path times do)
            x = seq[j]
            arrive = cur_t + transit[cur, x]
            if arrive > suffix_latest[j]:
                break
            cur_t = max(arrive, earliest[x])
            cur_s += seats[x]
            cur_c += chairs[x]
            if cur_s > capacity[0] or cur_c > capacity[1]:
                break
            on_board += transit[cur, x]
            cur = x
    return best, best_i, best_j


@inner_kernel
def route_open_to(r, k, lengths, open_routes, usable, vehicle_class, tied, tried_empty):  # type: ignore[no-untyped-def]
    """Whether request k may be tried in route r: a ``usable`` vehicle, k's own if tied, and if empty
    only where ``open_routes`` and the first of its class of alike vehicles (``tried_empty`` marks the
    classes whose empty route was tried; routes are looked at in index order)."""
    if not usable[r] or (tied[k] >= 0 and tied[k] != r):
        return False
    if lengths[r] == 0:
        if not open_routes or tried_empty[vehicle_class[r]]:
            return False
        tried_empty[vehicle_class[r]] = 1
    return True


@inner_kernel
def cheapest_route(  # type: ignore[no-untyped-def]
    routes,
    lengths,
    k,
    open_routes,
    usable,
    start,
    vehicle_class,
    tied,
    transit,
    distance,
    earliest,
    latest,
    seats,
    chairs,
    ride_limit,
    capacity,
    max_duration,
    prefix_time,
    prefix_s,
    prefix_c,
    suffix_latest,
    blink,
    scratch,
):
    """The cheapest feasible insertion of request k over the ``usable`` routes (and, if tied, only its
    vehicle's): (route, i, j), route -1 if none.

    Empty routes are tried only where ``open_routes``, and then one per class of alike vehicles.
    ``blink`` and ``scratch``: see ``best_insertion``.
    """
    best = -1
    best_r = -1
    best_i = -1
    best_j = -1
    tried_empty = scratch[SCRATCH_TRIED]
    tried_empty[: lengths.shape[0]] = 0
    for r in range(lengths.shape[0]):
        if not route_open_to(r, k, lengths, open_routes, usable, vehicle_class, tied, tried_empty):
            continue
        added, i, j = best_insertion(
            routes[r],
            lengths[r],
            k,
            start[r],
            transit,
            distance,
            earliest,
            latest,
            seats,
            chairs,
            ride_limit,
            capacity[r],
            max_duration[r],
            prefix_time,
            prefix_s,
            prefix_c,
            suffix_latest,
            blink,
            scratch,
        )
        if i >= 0 and (best < 0 or added < best):
            best, best_r, best_i, best_j = added, r, i, j
    return best_r, best_i, best_j


@inner_kernel
def cheapest_route_kept(  # type: ignore[no-untyped-def]
    routes,
    lengths,
    k,
    open_routes,
    usable,
    start,
    vehicle_class,
    tied,
    transit,
    distance,
    earliest,
    latest,
    seats,
    chairs,
    ride_limit,
    capacity,
    max_duration,
    kept,
    overloaded,
    stale,
    least_drop,
    blink,
    scratch,
):
    """``cheapest_route`` for a search that inserts request after request: each route's summary
    (``route_summary``) is kept in kept[:, r] and overloaded[r], and made anew only where stale[r]
    (the caller marks a route stale when it changes it; this clears the mark). ``least_drop``: a work array
    as long as a route can be, plus 2; ``scratch``: ``insertion_scratch``'s."""
    best = -1
    best_r = -1
    best_i = -1
    best_j = -1
    tried_empty = scratch[SCRATCH_TRIED]
    tried_empty[: lengths.shape[0]] = 0
    for r in range(lengths.shape[0]):
        if not route_open_to(r, k, lengths, open_routes, usable, vehicle_class, tied, tried_empty):
            continue
        if stale[r]:
            overloaded[r] = route_summary(
                routes[r], lengths[r], start[r], transit, earliest, latest, seats, chairs, capacity[r], kept[0, r],
                kept[1, r], kept[2, r], kept[3, r],
            )  # fmt: skip
            stale[r] = False
        added, i, j = insertion_below(
            routes[r], lengths[r], k, start[r], transit, distance, earliest, latest, seats, chairs, ride_limit,
            capacity[r], max_duration[r], kept[0, r], kept[1, r], kept[2, r], kept[3, r], overloaded[r], blink, best,
            True, least_drop, scratch,
        )  # fmt: skip
        if i >= 0 and (best < 0 or added < best):
            best, best_r, best_i, best_j = added, r, i, j
    return best_r, best_i, best_j


@inner_kernel
def insert_request(seq, n, k, i, j):  # type: ignore[no-untyped-def]
    """Put request k's pickup before seq[i] and drop-off before seq[j] (of the old sequence); new length."""
    for q in range(n - 1, j - 1, -1):
        seq[q + 2] = seq[q]
    seq[j + 1] = 2 * k + 1
    for q in range(j - 1, i - 1, -1):
        seq[q + 1] = seq[q]
    seq[i] = 2 * k
    return n + 2


@inner_kernel
def remove_requests(seq, n, out, eject_a, eject_b, eject_c):  # type: ignore[no-untyped-def]
    """seq[:n] without the nodes of requests eject_a/b/c (-1: none) into ``out``; the new length."""
    m = 0
    for q in range(n):
        r = seq[q] // 2
        if r != eject_a and r != eject_b and r != eject_c:
            out[m] = seq[q]
            m += 1
    return m


@njit(cache=True)
def seed_numba(seed):  # type: ignore[no-untyped-def]
    """Seed numba's global random generator (the kernels' only one), so a seeded search repeats."""
    np.random.seed(seed)  # noqa: NPY002 (numba has only the global RNG)


def routes_as_arrays(
    problem: Problem, compiled: CompiledFleetProblem, plan: RoutePlan
) -> tuple[np.ndarray, np.ndarray] | None:
    """``plan``'s routes as (routes, lengths) with a row per vehicle, or None if ``route_feasible``
    rejects one. With identical vehicles the routes take the first rows in the plan's order; otherwise
    each its vehicle's row."""
    index_of = {r.id: k for k, r in enumerate(problem.requests)}
    row_of = {v.id: k for k, v in enumerate(problem.vehicles)}
    routes = np.zeros((len(problem.vehicles), 2 * len(problem.requests) + 2), dtype=np.int64)
    lengths = np.zeros(len(problem.vehicles), dtype=np.int64)
    uniform = compiled.uniform
    for position, route in enumerate(plan.routes):
        r = position if uniform else row_of[route.vehicle]
        nodes = [2 * index_of[v.request] + v.dropoff for v in route.visits]
        routes[r, : len(nodes)] = nodes
        lengths[r] = len(nodes)
    c = compiled
    scratch = insertion_scratch(routes.shape[1], c.ride_limit, len(lengths))
    for r in range(len(lengths)):
        if lengths[r] == 0:
            continue
        tied = c.tied[routes[r, : lengths[r]] // 2]
        if ((tied >= 0) & (tied != r)).any() or not route_feasible(
            routes[r],
            lengths[r],
            c.start[r],
            c.transit,
            c.earliest,
            c.latest,
            c.seats,
            c.chairs,
            c.ride_limit,
            c.capacity[r],
            c.max_duration[r],
            scratch,
        ):
            return None
    return routes, lengths


def arrays_as_plan(
    problem: Problem, compiled: CompiledFleetProblem, routes: np.ndarray, lengths: np.ndarray
) -> RoutePlan:
    """Routes as visit orders: row r on vehicle r, or with identical vehicles on the first vehicles in order."""
    out: list[PlannedRoute] = []
    for r in range(len(lengths)):
        if lengths[r] == 0:
            continue
        visits = tuple(Visit(problem.requests[int(x) // 2].id, bool(x % 2)) for x in routes[r, : lengths[r]])
        vehicle = problem.vehicles[len(out) if compiled.uniform else r]
        out.append(PlannedRoute(vehicle.id, visits))
    return RoutePlan(tuple(out))
