"""The squeeze of Nagata & Bräysy (2009): a request that fits nowhere goes in where its route is least
infeasible, and other requests then move out of that route, while that makes it less infeasible, until
it is feasible again.

The ejection pool (``dispatch.route_min``) tries the squeeze before it ejects anything
(``EjectionParams.squeeze``): an ejection raises the penalty of the request that caused it and sends
others back to the pool, a squeeze that succeeds places the request at no such cost, and it can move
more requests than the up to three an ejection takes out.

How infeasible a route is (``route_penalty``) is counted in time warp (Nagata, Bräysy & Dullaert
2010): where a visit would start after its window closes, the vehicle is taken back to the window's end
and the difference counted, so one late visit counts once and not again at every visit after it. Ride
times and the route duration beyond their limits (on the earliest schedule, which may overstate them
where later starts would help) count the same way, and every seat or wheelchair place over capacity
after a visit counts ``load_weight``. Whether the squeezed route is feasible is decided by
``route_feasible``, not by the penalty, so a squeeze never accepts an infeasible route.

Moves out of the route go only where they fit feasibly (``best_insertion``): the other routes stay
feasible throughout, and a squeeze that finds no move lowering the penalty leaves every route as it was.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dispatch.pdp_arrays import (
    BIG,
    best_insertion,
    inner_kernel,
    insert_request,
    insertion_scratch,
    remove_requests,
    route_feasible,
)


@inner_kernel
def route_penalty(  # type: ignore[no-untyped-def]
    seq, n, start, transit, earliest, latest, seats, chairs, ride_limit, capacity, max_duration, load_weight, pick_time
):
    """How far seq[:n] from depot node ``start`` is from feasible (0: feasible as early as possible);
    see the module docstring. ``pick_time`` is a work array of a length of at least the requests'."""
    t = earliest[start]
    node = start
    load_s = 0
    load_c = 0
    warp = 0
    over = 0
    for q in range(n):
        x = seq[q]
        t = max(t + transit[node, x], earliest[x])
        if t > latest[x]:
            warp += t - latest[x]
            t = latest[x]
        load_s += seats[x]
        load_c += chairs[x]
        over += max(load_s - capacity[0], 0) + max(load_c - capacity[1], 0)
        if x % 2 == 0:
            pick_time[x // 2] = t
        else:
            warp += max(t - pick_time[x // 2] - ride_limit[x // 2], 0)
        node = x
    t = max(t + transit[node, start + 1], earliest[start + 1])
    if t > latest[start + 1]:
        warp += t - latest[start + 1]
        t = latest[start + 1]
    warp += max(t - earliest[start] - max_duration, 0)
    return warp + load_weight * over


@inner_kernel
def _joined(first, second, travel):  # type: ignore[no-untyped-def]
    """Two stretches of a route one after the other, ``travel`` apart (last of the first to first of the
    second), each as (least duration, time warp, earliest start, latest start without more warp): the
    concatenation of Vidal et al. (2013)."""
    d1, w1, e1, l1 = first
    d2, w2, e2, l2 = second
    delta = d1 - w1 + travel
    wait = max(e2 - delta - l1, 0)
    warp = max(e1 + delta - l2, 0)
    return (d1 + d2 + travel + wait, w1 + w2 + warp, max(e2 - delta, e1) - wait, min(l2 - delta, l1) + warp)


@inner_kernel
def _get(segments, side, q):  # type: ignore[no-untyped-def]
    return (segments[side, q, 0], segments[side, q, 1], segments[side, q, 2], segments[side, q, 3])


@inner_kernel
def _put(segments, side, q, segment):  # type: ignore[no-untyped-def]
    segments[side, q, 0] = segment[0]
    segments[side, q, 1] = segment[1]
    segments[side, q, 2] = segment[2]
    segments[side, q, 3] = segment[3]


@inner_kernel
def least_penalty_place(  # type: ignore[no-untyped-def]
    seq,
    n,
    k,
    start,
    transit,
    earliest,
    latest,
    seats,
    chairs,
    capacity,
    max_duration,
    load_weight,
    segments,
    excess_before,
    load_before,
):
    """The place (i, j) for request k in seq[:n] (pickup before seq[i], drop-off before seq[j]) where
    the route's penalty is least, and that penalty: (penalty, i, j).

    The penalty is ``route_penalty``'s without ride times, and with the route's least duration (the
    departure as late as the waiting allows) instead of its earliest schedule's. Each place costs O(1)
    after O(n) work (time warp of stretches joined as in Vidal et al. 2013, loads from prefix sums),
    so a route costs O(n^2) and not the O(n^3) of scoring every place with ``route_penalty``.
    ``segments`` (2, n + 2, 4), ``excess_before`` (n + 2) and ``load_before`` (n + 2, 2) are work
    arrays.
    """
    end = start + 1
    p = 2 * k
    d = p + 1
    # segments[0, q]: the depot and seq[:q]; segments[1, q]: seq[q:] and the end depot
    _put(segments, 0, 0, (0, 0, earliest[start], latest[start]))
    node = start
    load_s = 0
    load_c = 0
    excess_before[0] = 0
    load_before[0, 0] = 0
    load_before[0, 1] = 0
    for q in range(n):
        x = seq[q]
        _put(segments, 0, q + 1, _joined(_get(segments, 0, q), (0, 0, earliest[x], latest[x]), transit[node, x]))
        load_s += seats[x]
        load_c += chairs[x]
        load_before[q + 1, 0] = load_s
        load_before[q + 1, 1] = load_c
        excess_before[q + 1] = excess_before[q] + max(load_s - capacity[0], 0) + max(load_c - capacity[1], 0)
        node = x
    _put(segments, 1, n, (0, 0, earliest[end], latest[end]))
    for q in range(n - 1, -1, -1):
        x = seq[q]
        after = end if q == n - 1 else seq[q + 1]
        _put(segments, 1, q, _joined((0, 0, earliest[x], latest[x]), _get(segments, 1, q + 1), transit[x, after]))
    best = BIG
    best_i = -1
    best_j = -1
    for i in range(n + 1):
        before = start if i == 0 else seq[i - 1]
        head = _joined(_get(segments, 0, i), (0, 0, earliest[p], latest[p]), transit[before, p])
        load_s = load_before[i, 0] + seats[p]
        load_c = load_before[i, 1] + chairs[p]
        stretch = max(load_s - capacity[0], 0) + max(load_c - capacity[1], 0)  # p and seq[i:j], loaded
        last = p
        for j in range(i, n + 1):
            with_d = _joined(head, (0, 0, earliest[d], latest[d]), transit[last, d])
            first_after = end if j == n else seq[j]
            whole = _joined(with_d, _get(segments, 1, j), transit[d, first_after])
            # the drop-off leaves the load as it was after seq[j - 1]
            at_d = max(load_before[j, 0] - capacity[0], 0) + max(load_before[j, 1] - capacity[1], 0)
            # after the drop-off the loads are the route's own, and so is their excess
            over = excess_before[i] + stretch + at_d + excess_before[n] - excess_before[j]
            penalty = whole[1] + max(whole[0] - max_duration, 0) + load_weight * over
            if penalty < best:
                best = penalty
                best_i = i
                best_j = j
            if j == n:
                break
            x = seq[j]
            head = _joined(head, (0, 0, earliest[x], latest[x]), transit[last, x])
            load_s += seats[x]
            load_c += chairs[x]
            stretch += max(load_s - capacity[0], 0) + max(load_c - capacity[1], 0)
            last = x
    return best, best_i, best_j


@njit(cache=True)
def squeeze_in(  # type: ignore[no-untyped-def]
    routes,
    lengths,
    rows,
    n_rows,
    v,
    load_weight,
    start,
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
):
    """Place request v in one of the routes ``rows[:n_rows]`` by a squeeze: True with the routes changed
    in place, or False with every route as it was.

    v goes where the route's ``route_penalty`` is least (non-empty routes; its own vehicle's if tied);
    then, while that route is infeasible, the request of that route whose leaving lowers its penalty
    most, among those that fit feasibly in another route, moves there (cheapest place).
    """
    size = routes.shape[1]
    n_req = ride_limit.shape[0]
    pick_time = np.zeros(n_req, np.int64)
    scratch = insertion_scratch(size, ride_limit, routes.shape[0])
    current = np.empty(size, np.int64)
    segments = np.empty((2, size + 2, 4), np.int64)
    excess_before = np.empty(size + 2, np.int64)
    load_before = np.empty((size + 2, 2), np.int64)
    reduced = np.empty(size, np.int64)
    prefix_time = np.empty(size + 2, np.int64)
    prefix_s = np.empty(size + 2, np.int64)
    prefix_c = np.empty(size + 2, np.int64)
    suffix_latest = np.empty(size + 2, np.int64)
    # 1. the least infeasible place for v
    best_penalty = BIG
    target = -1
    # typed, not a literal 0: numba would compile every kernel it is passed to once more for a literal
    n_cur = np.int64(0)
    for row in range(n_rows):
        r = rows[row]
        n = lengths[r]
        if n == 0 or (tied[v] >= 0 and tied[v] != r):
            continue
        penalty, i, j = least_penalty_place(
            routes[r],
            n,
            v,
            start[r],
            transit,
            earliest,
            latest,
            seats,
            chairs,
            capacity[r],
            max_duration[r],
            load_weight,
            segments,
            excess_before,
            load_before,
        )
        if penalty < best_penalty:
            best_penalty = penalty
            target = r
            current[:n] = routes[r, :n]
            n_cur = insert_request(current, n, v, i, j)
    if target < 0:
        return False
    best_penalty = route_penalty(
        current,
        n_cur,
        start[target],
        transit,
        earliest,
        latest,
        seats,
        chairs,
        ride_limit,
        capacity[target],
        max_duration[target],
        load_weight,
        pick_time,
    )
    # 2. move requests out while that lowers the penalty; the routes they go to are kept to undo
    moved_to = np.empty(size, np.int64)
    moved_request = np.empty(size, np.int64)
    n_moved = 0
    penalty_now = best_penalty
    while not route_feasible(
        current,
        n_cur,
        start[target],
        transit,
        earliest,
        latest,
        seats,
        chairs,
        ride_limit,
        capacity[target],
        max_duration[target],
        scratch,
    ):
        move_penalty = penalty_now
        move_added = BIG
        move_k = -1
        move_r = -1
        move_i = -1
        move_j = -1
        for q in range(n_cur):
            if current[q] % 2 == 1:
                continue
            k = current[q] // 2
            if tied[k] >= 0:
                continue
            n_red = remove_requests(current, n_cur, reduced, k, -1, -1)
            penalty = route_penalty(
                reduced,
                n_red,
                start[target],
                transit,
                earliest,
                latest,
                seats,
                chairs,
                ride_limit,
                capacity[target],
                max_duration[target],
                load_weight,
                pick_time,
            )
            if penalty > move_penalty or penalty >= penalty_now:
                continue
            for row in range(n_rows):
                r = rows[row]
                if r == target or lengths[r] == 0:
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
                    0.0,
                    scratch,
                )
                if i < 0:
                    continue
                if penalty < move_penalty or added < move_added:
                    move_penalty = penalty
                    move_added = added
                    move_k, move_r, move_i, move_j = k, r, i, j
        if move_k < 0:
            # no move helps: take every moved request back out of the route it went to
            for e in range(n_moved - 1, -1, -1):
                r = moved_to[e]
                lengths[r] = remove_requests(routes[r], lengths[r], reduced, moved_request[e], -1, -1)
                routes[r, : lengths[r]] = reduced[: lengths[r]]
            return False
        lengths[move_r] = insert_request(routes[move_r], lengths[move_r], move_k, move_i, move_j)
        moved_to[n_moved] = move_r
        moved_request[n_moved] = move_k
        n_moved += 1
        n_cur = remove_requests(current, n_cur, reduced, move_k, -1, -1)
        current[:n_cur] = reduced[:n_cur]
        penalty_now = move_penalty
    routes[target, :n_cur] = current[:n_cur]
    lengths[target] = n_cur
    return True


def load_weight(transit: np.ndarray, n_requests: int) -> int:
    """What a seat over capacity weighs against time warp: the mean time between two request stops."""
    stops = transit[: 2 * n_requests, : 2 * n_requests]
    return max(1, int(stops.mean())) if stops.size else 1
