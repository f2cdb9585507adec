"""Routes that may arrive late, for a search that passes through infeasible plans: time warp.

A late arrival is counted as time warp (Nagata et al. 2010; Vidal et al. 2013): the vehicle travels
back in time to the window's end, and the route's time warp is the total it went back. A plan with
no time warp meets every window; a search that weighs time warp against distance instead of
refusing it can cross from one basin of feasible plans to another through plans that are a few
minutes late (on long Li & Lim routes, ruin and recreate with hard windows stays in the basin it
starts in; see benchmarks/results/solver-tuning.md).

A stretch of visits is summed up in four integers (Vidal et al.'s concatenation): its duration, its
time warp, and the earliest and latest start at its first visit for which it has no more waiting nor
time warp than it must. Two stretches join in O(1), so every place (i, j) of a pickup and drop-off
in a route costs O(1) after O(n) sums over the route's prefixes and suffixes. Service times are in
``transit`` (from a visit to the next), as in ``dispatch.pdp_arrays``; capacity stays a hard limit,
and ride-time and route-duration limits are not modelled (the LNS uses time warp only without them).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from dispatch.pdp_arrays import inner_kernel, least_drop_detours


@inner_kernel
def join(d1, w1, e1, l1, travel, d2, w2, e2, l2):  # type: ignore[no-untyped-def]
    """Stretch 1 then stretch 2, ``travel`` from the last visit of 1 to the first of 2:
    (duration, time warp, earliest, latest)."""
    delta = d1 - w1 + travel
    wait = max(e2 - delta - l1, 0)
    warp = max(e1 + delta - l2, 0)
    return d1 + d2 + travel + wait, w1 + w2 + warp, max(e2 - delta, e1) - wait, min(l2 - delta, l1) + warp


@inner_kernel
def route_warp(seq, n, start, transit, earliest, latest):  # type: ignore[no-untyped-def]
    """Time warp of the route seq[:n] from depot node ``start`` to its end depot ``start + 1``."""
    d, w, e, lt = 0, 0, earliest[start], latest[start]
    node = start
    for q in range(n + 1):
        x = seq[q] if q < n else start + 1
        d, w, e, lt = join(d, w, e, lt, transit[node, x], 0, 0, earliest[x], latest[x])
        node = x
    return w


@njit(cache=True)
def warp_insertion(  # type: ignore[no-untyped-def]
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
    capacity,
    penalty,
    warp_before,
    pre,
    suf,
    prefix_s,
    prefix_c,
    blink,
    bound,
):
    """Cheapest insertion of request k into seq[:n] where each unit of time warp it adds costs
    ``penalty`` (in distance units), if it costs less than ``bound`` (the best place in other routes;
    inf: any): (cost, i, j), or (bound, -1, -1) where there is none (the seats or wheelchair places
    leave no place, or every place costs more). The pickup goes before seq[i], the drop-off before
    seq[j] (j >= i; j == n: before the end depot), as in ``pdp_arrays.best_insertion``;
    ``warp_before`` is the route's time warp now.

    ``pre`` and ``suf`` are (4, n + 2) work arrays: the stretches from the start depot to seq[q - 1]
    and from seq[q] to the end depot; ``prefix_s``, ``prefix_c`` at least n + 1. ``blink``: each
    place that would be the cheapest so far is passed over with that probability.
    """
    overloaded = warp_summary(
        seq, n, start, transit, earliest, latest, seats, chairs, capacity, pre, suf, prefix_s, prefix_c
    )
    return warp_insertion_kept(
        seq, n, k, start, transit, distance, earliest, latest, seats, chairs, capacity, penalty, warp_before, pre, suf,
        prefix_s, prefix_c, overloaded, blink, bound, np.empty(n + 2, np.float64),
    )  # fmt: skip


@njit(cache=True, inline="always")
def warp_summary(seq, n, start, transit, earliest, latest, seats, chairs, capacity, pre, suf, prefix_s, prefix_c):  # type: ignore[no-untyped-def]
    """What every insertion into seq[:n] (from depot node ``start``) needs of the route as it is: ``pre``,
    ``suf``, ``prefix_s`` and ``prefix_c`` as in ``warp_insertion``; returns the position of the last visit
    after which the load exceeds ``capacity`` (-1: none). Depends on the route only, so a search may
    keep it while the route stays."""
    end = start + 1
    pre[0, 0], pre[1, 0], pre[2, 0], pre[3, 0] = 0, 0, earliest[start], latest[start]
    node = start
    ls = 0
    lc = 0
    for q in range(n):
        x = seq[q]
        pre[0, q + 1], pre[1, q + 1], pre[2, q + 1], pre[3, q + 1] = join(
            pre[0, q], pre[1, q], pre[2, q], pre[3, q], transit[node, x], 0, 0, earliest[x], latest[x]
        )
        ls += seats[x]
        lc += chairs[x]
        prefix_s[q] = ls
        prefix_c[q] = lc
        node = x
    suf[0, n], suf[1, n], suf[2, n], suf[3, n] = 0, 0, earliest[end], latest[end]
    for q in range(n - 1, -1, -1):
        x = seq[q]
        after = end if q == n - 1 else seq[q + 1]
        suf[0, q], suf[1, q], suf[2, q], suf[3, q] = join(
            0, 0, earliest[x], latest[x], transit[x, after], suf[0, q + 1], suf[1, q + 1], suf[2, q + 1], suf[3, q + 1]
        )
    overloaded = -1
    for q in range(n):
        if prefix_s[q] > capacity[0] or prefix_c[q] > capacity[1]:
            overloaded = q
    return overloaded


@njit(cache=True, inline="always")
def warp_insertion_kept(  # type: ignore[no-untyped-def]
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
    capacity,
    penalty,
    warp_before,
    pre,
    suf,
    prefix_s,
    prefix_c,
    overloaded,
    blink,
    bound,
    least_drop,
):
    """``warp_insertion`` with the route's summary given (``warp_summary``); ``least_drop`` a float work
    array of at least n + 2."""
    end = start + 1
    p = 2 * k
    d = p + 1
    least_drop_detours(seq, n, d, end, distance, least_drop, np.inf)  # for the bounds below
    best = bound
    best_i = -1
    best_j = -1
    # first the drop-off right after the pickup, everywhere (O(n)): a low bound early cuts most of the
    # places below short
    for i in range(n + 1):
        a = start if i == 0 else seq[i - 1]
        b = end if i == n else seq[i]
        if i <= overloaded or (0 if i == 0 else prefix_s[i - 1]) + seats[p] > capacity[0]:
            continue
        if (0 if i == 0 else prefix_c[i - 1]) + chairs[p] > capacity[1]:
            continue
        added = distance[a, p] + distance[p, d] + distance[d, b] - distance[a, b]
        if added >= best:
            continue
        td, tw, te, tl = join(pre[0, i], pre[1, i], pre[2, i], pre[3, i], transit[a, p], 0, 0, earliest[p], latest[p])
        td, tw, te, tl = join(td, tw, te, tl, transit[p, d], 0, 0, earliest[d], latest[d])
        td, tw, te, tl = join(td, tw, te, tl, transit[d, b], suf[0, i], suf[1, i], suf[2, i], suf[3, i])
        cost = added + penalty * (tw - warp_before)
        if cost < best and (blink == 0.0 or np.random.random() >= blink):  # noqa: NPY002
            best = cost
            best_i = i
            best_j = i
    for i in range(n + 1):
        a = start if i == 0 else seq[i - 1]
        b_i = end if i == n else seq[i]
        # every place with the pickup here and the drop-off later costs at least the pickup's detour, the
        # least drop-off detour after it and the warp added up to the pickup, which only grows (a visit
        # put in never makes a route less late: travel times meet the triangle inequality)
        detour = distance[a, p] + distance[p, b_i] - distance[a, b_i]
        if detour + least_drop[i + 1] >= best:
            continue
        cur_s = (0 if i == 0 else prefix_s[i - 1]) + seats[p]
        cur_c = (0 if i == 0 else prefix_c[i - 1]) + chairs[p]
        if cur_s > capacity[0] or cur_c > capacity[1]:
            continue
        # the stretch from the start depot through the pickup and on to cur (before the drop-off)
        sd, sw, se, sl = join(pre[0, i], pre[1, i], pre[2, i], pre[3, i], transit[a, p], 0, 0, earliest[p], latest[p])
        cur = p
        if detour + least_drop[i + 1] + penalty * max(sw - warp_before, 0) >= best:
            continue
        for j in range(i, n + 1):
            b = end if j == n else seq[j]
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
            if j > i and j > overloaded and added + penalty * max(sw - warp_before, 0) < best:
                td, tw, te, tl = join(sd, sw, se, sl, transit[cur, d], 0, 0, earliest[d], latest[d])
                td, tw, te, tl = join(td, tw, te, tl, transit[d, b], suf[0, j], suf[1, j], suf[2, j], suf[3, j])
                cost = added + penalty * (tw - warp_before)
                if cost < best and (blink == 0.0 or np.random.random() >= blink):  # noqa: NPY002
                    best = cost
                    best_i = i
                    best_j = j
            if j == n:
                break
            x = seq[j]
            cur_s += seats[x]
            cur_c += chairs[x]
            if cur_s > capacity[0] or cur_c > capacity[1]:
                break
            sd, sw, se, sl = join(sd, sw, se, sl, transit[cur, x], 0, 0, earliest[x], latest[x])
            cur = x
            # the warp so far only grows as the drop-off moves later: no later place can be cheaper
            if detour + least_drop[j + 1] + penalty * max(sw - warp_before, 0) >= best:
                break
    return best, best_i, best_j
