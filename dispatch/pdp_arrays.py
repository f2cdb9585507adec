"""Pickup-and-delivery routes over a uniform fleet as flat integer arrays, and the numba kernels on them.

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

Request k has node 2k (pickup) and 2k + 1 (drop-off); the start depot is 2K, the end depot 2K + 1.
A route is ``seq[:n]`` of request nodes (the depots implied at both ends); a set of routes is a
2-D array with one row per route and an array of lengths. Used by ``dispatch.route_min`` (fewer
vehicles) and ``dispatch.lns`` (shorter routes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from dispatch.model import Problem, scaled_tables
from dispatch.plan import PlannedRoute, RoutePlan, Visit

BIG = np.int64(1) << 60  # no limit (window end, ride time, route duration)


@dataclass(frozen=True, slots=True)
class CompiledFleetProblem:
    """A problem with identical vehicles as flat integer arrays (see the module docstring)."""

    transit: np.ndarray  # int64 (2K+2, 2K+2): service at the origin plus travel, scaled
    distance: np.ndarray  # int64 (2K+2, 2K+2), scaled
    earliest: np.ndarray  # int64 (2K+2,)
    latest: np.ndarray  # int64 (2K+2,)
    seats: np.ndarray  # int64 (2K,): + at pickups, - at drop-offs
    chairs: np.ndarray  # int64 (2K,)
    ride_limit: np.ndarray  # int64 (K,): drop-off start minus pickup start
    capacity: np.ndarray  # int64 (2,): seats, wheelchair places
    max_duration: int  # route duration bound (BIG if none)


def compile_problem(problem: Problem, scale: int) -> CompiledFleetProblem | None:
    """The arrays for ``problem``, or None where the fleet is not uniform or a request is tied to a vehicle."""
    vehicles = problem.vehicles
    first = vehicles[0]
    uniform = all(
        (v.start, v.end, v.seats, v.wheelchair_places, v.shift, v.max_route_duration)
        == (first.start, first.end, first.seats, first.wheelchair_places, first.shift, first.max_route_duration)
        for v in vehicles
    )
    if not uniform or any(r.vehicle is not None for r in problem.requests) or not problem.requests:
        return None
    location = [x for r in problem.requests for x in (r.pickup, r.dropoff)] + [first.start, first.end]
    service = [x for r in problem.requests for x in (r.pickup_service, r.dropoff_service)] + [0.0, 0.0]
    service_scaled, travel, distance = scaled_tables(problem, location, service, scale)

    def low(x: float) -> int:
        return math.ceil(x * scale)

    def high(x: float) -> int:
        return int(BIG) if math.isinf(x) else math.floor(x * scale)

    earliest = [low(w.earliest) for r in problem.requests for w in (r.pickup_window, r.dropoff_window)]
    latest = [high(w.latest) for r in problem.requests for w in (r.pickup_window, r.dropoff_window)]
    earliest += [low(first.shift.earliest)] * 2
    latest += [high(first.shift.latest)] * 2
    ride = [
        int(BIG) if r.max_ride_time is None else math.floor(r.max_ride_time * scale) + int(service_scaled[2 * k])
        for k, r in enumerate(problem.requests)
    ]
    return CompiledFleetProblem(
        transit=travel + service_scaled[:, None],
        distance=distance,
        earliest=np.array(earliest, dtype=np.int64),
        latest=np.array(latest, dtype=np.int64),
        seats=np.array([s for r in problem.requests for s in (r.seats, -r.seats)], dtype=np.int64),
        chairs=np.array([c for r in problem.requests for c in (r.wheelchairs, -r.wheelchairs)], dtype=np.int64),
        ride_limit=np.array(ride, dtype=np.int64),
        capacity=np.array([first.seats, first.wheelchair_places], dtype=np.int64),
        max_duration=int(BIG) if first.max_route_duration is None else math.floor(first.max_route_duration * scale),
    )


# ---------------------------------------------------------------------------------------------
# numba kernels: a route is seq[:n] of request nodes; the depots are implied at both ends


@njit(cache=True)
def route_feasible(seq, n, transit, earliest, latest, seats, chairs, ride_limit, capacity, max_duration, pick_time):  # type: ignore[no-untyped-def]
    """Whether the route seq[:n] is feasible: as early as possible, or else with later starts (dial-a-ride)."""
    start = transit.shape[0] - 2
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
    work = np.empty((4, n + 2), np.int64)
    pick_position = np.empty(ride_limit.shape[0], np.int64)
    return schedule_feasible(seq, n, transit, earliest, latest, ride_limit, max_duration, work, pick_position)


@njit(cache=True)
def _forward(path, first, m, transit, earliest, arrive, begin):  # type: ignore[no-untyped-def]
    """Earliest arrival and start of service at path[first:m], after path[first - 1] served at begin[first - 1]."""
    for q in range(first, m):
        arrive[q] = begin[q - 1] + transit[path[q - 1], path[q]]
        begin[q] = max(arrive[q], earliest[path[q]])


@njit(cache=True)
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


@njit(cache=True)
def schedule_feasible(seq, n, transit, earliest, latest, ride_limit, max_duration, work, pick_position):  # type: ignore[no-untyped-def]
    """Whether seq[:n] has a schedule within windows, ride times and route duration (capacity not checked).

    Cordeau & Laporte's eight steps on work = (path, arrive, begin, spare) rows of length n + 2.
    """
    start = transit.shape[0] - 2
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


@njit(cache=True)
def _schedule_ok(path, m, latest, ride_limit, max_duration, begin, pick_position):  # type: ignore[no-untyped-def]
    for q in range(m):
        if begin[q] > latest[path[q]]:
            return False
        x = path[q]
        if 0 < q < m - 1 and x % 2 == 1 and begin[q] - begin[pick_position[x // 2]] > ride_limit[x // 2]:
            return False
    return begin[m - 1] - begin[0] <= max_duration


@njit(cache=True)
def best_insertion(  # type: ignore[no-untyped-def]
    seq,
    n,
    k,
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
):
    """Cheapest feasible insertion of request k into seq[:n]: (added distance, i, j), or (-1, -1, -1).

    The pickup goes before seq[i], the drop-off before seq[j] (j >= i; j == n: before the end depot).
    prefix_* and suffix_latest are work arrays of at least n + 1. Where ride times or the route
    duration are limited, the earliest schedule only rules out (windows, loads, the shortest
    possible ride); a place that would be the cheapest so far is then checked by ``schedule_feasible``.

    Each place costs O(1) after an O(n) pass: ``suffix_latest[q]`` is the latest arrival at seq[q]
    (q == n: the end depot) from which the rest of the route still meets its windows, so the part
    after the drop-off needs no replay (on 200-task routes the replay took most of the search's time).
    """
    exact = max_duration < BIG or ride_limit.min() < BIG
    size = n + 4 if exact else 1  # work arrays for schedule_feasible
    candidate = np.empty(size, np.int64)
    work = np.empty((4, size), np.int64)
    pick_position = np.empty(ride_limit.shape[0] if exact else 1, np.int64)
    start = transit.shape[0] - 2
    end = start + 1
    p = 2 * k
    d = p + 1
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
    best = -1
    best_i = -1
    best_j = -1
    for i in range(n + 1):
        a = start if i == 0 else seq[i - 1]
        ta = earliest[start] if i == 0 else prefix_time[i - 1]
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
        b_i = end if i == n else seq[i]
        for j in range(i, n + 1):
            b = end if j == n else seq[j]
            td = max(cur_t + transit[cur, d], earliest[d])
            if td > latest[d] or (td - tp if not exact else on_board + transit[cur, d]) > ride_limit[k]:
                break  # a later drop-off only comes later
            if j == i:
                added = distance[a, p] + distance[p, d] + distance[d, b] - distance[a, b]
            else:
                added = (
                    distance[a, p]
                    + distance[p, b_i]
                    - distance[a, b_i]
                    + distance[cur, d]
                    + distance[d, b]
                    - distance[cur, b]
                )
            if (best < 0 or added < best) and j > overloaded and td + transit[d, b] <= suffix_latest[j]:
                if exact:
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
                if not exact or schedule_feasible(
                    candidate, n + 2, transit, earliest, latest, ride_limit, max_duration, work, pick_position
                ):
                    best = added
                    best_i = i
                    best_j = j
            if j == n:
                break
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


@njit(cache=True)
def cheapest_route(  # type: ignore[no-untyped-def]
    routes,
    lengths,
    k,
    open_routes,
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
):
    """The cheapest feasible insertion of request k over all routes: (route, i, j), route -1 if none.

    Empty routes are tried only where ``open_routes``, and then only one (the vehicles are identical).
    """
    best = -1
    best_r = -1
    best_i = -1
    best_j = -1
    tried_empty = False
    for r in range(lengths.shape[0]):
        if lengths[r] == 0:
            if not open_routes or tried_empty:
                continue
            tried_empty = True
        added, i, j = best_insertion(
            routes[r],
            lengths[r],
            k,
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
        )
        if i >= 0 and (best < 0 or added < best):
            best, best_r, best_i, best_j = added, r, i, j
    return best_r, best_i, best_j


@njit(cache=True)
def insert_request(seq, n, k, i, j):  # type: ignore[no-untyped-def]
    """Put request k's pickup before seq[i] and drop-off before seq[j] (of the old sequence); new length."""
    for q in range(n - 1, j - 1, -1):
        seq[q + 2] = seq[q]
    seq[j + 1] = 2 * k + 1
    for q in range(j - 1, i - 1, -1):
        seq[q + 1] = seq[q]
    seq[i] = 2 * k
    return n + 2


@njit(cache=True)
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
    """``plan``'s routes as (routes, lengths), or None if ``route_feasible`` rejects one."""
    index_of = {r.id: k for k, r in enumerate(problem.requests)}
    n_routes = len(plan.routes)
    routes = np.zeros((n_routes, 2 * len(problem.requests) + 2), dtype=np.int64)
    lengths = np.zeros(n_routes, dtype=np.int64)
    for r, route in enumerate(plan.routes):
        nodes = [2 * index_of[v.request] + v.dropoff for v in route.visits]
        routes[r, : len(nodes)] = nodes
        lengths[r] = len(nodes)
    work = np.zeros(len(problem.requests), dtype=np.int64)
    c = compiled
    for r in range(n_routes):
        if not route_feasible(
            routes[r],
            lengths[r],
            c.transit,
            c.earliest,
            c.latest,
            c.seats,
            c.chairs,
            c.ride_limit,
            c.capacity,
            c.max_duration,
            work,
        ):
            return None
    return routes, lengths


def arrays_as_plan(problem: Problem, routes: np.ndarray, lengths: np.ndarray) -> RoutePlan:
    """Routes as visit orders on the first vehicles (identical ones)."""
    out: list[PlannedRoute] = []
    for r in range(len(lengths)):
        if lengths[r] == 0:
            continue
        visits = tuple(Visit(problem.requests[int(x) // 2].id, bool(x % 2)) for x in routes[r, : lengths[r]])
        out.append(PlannedRoute(problem.vehicles[len(out)].id, visits))
    return RoutePlan(tuple(out))
