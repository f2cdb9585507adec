"""Shorter routes by ruin and recreate with simulated annealing.

After the ejection pool has taken routes away, the routes are feasible but long, and OR-Tools'
guided local search, whose moves are nearly all infeasible on so few, so full routes, hardly
shortens them (lc103 with 9 vehicles stayed 26 % over the best known after 35 s). Here each step
removes a group of requests -- close in space and time to each other (Shaw removal), those whose
visits cost the longest detours (worst removal), or picked at random -- and puts them back one by
one, each at its cheapest feasible place (the order shuffled, the cheapest place now and then passed
over: SISR's blinks, so that rebuilding the same group can end differently); the result is kept by
the simulated-annealing rule, with a temperature falling from two average arcs
to a fiftieth of one over the time given. Where vehicles count first no route is ever added,
so the fleet never grows and a route emptied on the way stays empty; otherwise one empty route
is among the places tried. Ride-time and route-duration limits (dial-a-ride) are met with the
later starts of ``pdp_arrays.schedule_feasible``. Riders the plan leaves out wait in a bank (the
request bank of adaptive LNS): each step also tries a few of them, so a rider the first plan could
not place gets thousands of chances as the routes change around them. Two options
(``LnsParams.string_share``, ``LnsParams.regret_share``, off by default: no gain measured,
benchmarks/results/solver-tuning.md) ruin strings of neighbouring visits (SISR) and recreate by
regret-2 insertion (Ropke & Pisinger); a third (``LnsParams.recreate_attempts``, off by default)
tries a step whose greedy recreate left a rider out again with that rider first. In
``LnsParams.tail_share`` of the steps (on by default) the ruin swaps the tails of two routes, each
cut at a visit near the other's (2-opt*, the move of vehicle-routing local search that hands a whole
stretch of riders to another vehicle at once), and takes out only the riders a cut parts from their
drop-off; the recreate puts them back. Where few long routes serve everyone the gap lies in which
riders share a route, and one tail swap reassigns dozens of them where a ruin of related riders
moves a handful. With
``LnsParams.time_warp`` (on by default, where routes are long and only windows limit time) the
recreate may make routes late for the first ``warp_share`` of the budget, at a penalty per unit of
lateness that adapts to how many steps end on time (``dispatch.time_warp``); only a plan on time
becomes the best, and the rest of the budget searches on time only from the best. With
``LnsParams.bank_relax`` (off by default) a step whose greedy recreate leaves riders out is not
given up: they wait in the bank at a penalty per rider that adapts as the time warp's does, so that
a reassignment of many riders can pass through plans serving fewer; only a plan serving everyone
becomes the best.

Works on the arrays of ``dispatch.pdp_arrays``; the numba kernel ``_lns_steps`` changes the state
in place, ``shorten_routes`` keeps the budget.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
from numba import njit

from dispatch.budget import Budget, steps_for_call
from dispatch.model import Problem
from dispatch.pdp_arrays import (
    BIG,
    CompiledFleetProblem,
    arrays_as_plan,
    best_insertion,
    cheapest_route_kept,
    compile_problem,
    inner_kernel,
    insert_request,
    insertion_scratch,
    route_feasible,
    route_open_to,
    routes_as_arrays,
    seed_numba,
)
from dispatch.plan import RoutePlan
from dispatch.solver_params import LnsParams
from dispatch.squeeze import load_weight, squeeze_in
from dispatch.time_warp import route_warp, warp_insertion_kept, warp_summary

# a step's ruin: related requests (Shaw), the costliest ones (worst removal), else random ones
RELATED_SHARE = 0.5
WORST_SHARE = 0.2
RELATED_BIAS = 6  # the larger, the nearer the requests a related ruin takes (Ropke & Pisinger's p)
WORST_BIAS = 3  # the same for the costliest
BANK_PICKS = 3  # riders left out that each step tries to place (a few: some may fit nowhere at all)
# string ruins (SISR, Christiaens & Vanden Berghe 2020): the longest string in visits, and the mean
# number of visits a string ruin takes, from which the number of strings follows
STRING_MAX = 10
STRING_MEAN_REMOVED = 10
SPLIT_SHARE = 0.5  # of string ruins: a string with a stretch in it kept (the split string)
SPLIT_STOP = 0.01  # the kept stretch grows by one visit until a draw falls below this
TAIL_RELATED = 5  # a tail swap's second route: that of one of this many riders most related to the cut's
# time warp (LnsParams.time_warp): the penalty per unit of lateness, in distance units per time unit,
# starts at 1 and moves by this factor after each call of the kernel, within these bounds
WARP_PENALTY_START = 1.0
WARP_STEP = 1.2
WARP_PENALTY_LOW = 0.01
WARP_PENALTY_HIGH = 1000.0
RELAX_LOW, RELAX_HIGH = 0.1, 1000.0  # bounds of the relaxed bank's penalty, in average arcs
WARP_PATIENCE = 30  # calls in a row without a step on time, after which the search goes back to the best plan


@inner_kernel
def _total_distance(routes, lengths, distance, start):  # type: ignore[no-untyped-def]
    total = 0
    for r in range(lengths.shape[0]):
        n = lengths[r]
        if n == 0:
            continue
        node = start[r]
        for q in range(n):
            total += distance[node, routes[r, q]]
            node = routes[r, q]
        total += distance[node, start[r] + 1]
    return total


@inner_kernel
def _related_group(seed, q, related, chosen):  # type: ignore[no-untyped-def]
    """``q`` requests around ``seed`` into chosen[:q] (Shaw removal as in Ropke & Pisinger): each next one is
    drawn, with a strong bias to the nearest, from the requests nearest to one already taken; not
    always the same group around the same request, so rebuilding it can end elsewhere."""
    n_req = related.shape[0]
    chosen[0] = seed
    taken = 1
    while taken < q:
        base = chosen[np.random.randint(taken)]  # noqa: NPY002
        rank = int(np.random.random() ** RELATED_BIAS * (n_req - taken))  # noqa: NPY002
        # the rank-th request nearest to base that is not taken yet
        for x in range(n_req):
            k = related[base, x]
            already = False
            for y in range(taken):
                if chosen[y] == k:
                    already = True
                    break
            if already:
                continue
            if rank == 0:
                chosen[taken] = k
                taken += 1
                break
            rank -= 1


@njit(cache=True)
def _costliest_group(routes, lengths, distance, start, q, chosen, saving, order):  # type: ignore[no-untyped-def]
    """``q`` requests into chosen[:q] (-1: none), drawn with a bias to those whose visits cost the most
    detour in their routes (worst removal as in Ropke & Pisinger)."""
    n_served = 0
    for r in range(lengths.shape[0]):
        n = lengths[r]
        for p in range(n):
            x = routes[r, p]
            before = start[r] if p == 0 else routes[r, p - 1]
            after = start[r] + 1 if p == n - 1 else routes[r, p + 1]
            detour = distance[before, x] + distance[x, after] - distance[before, after]
            if x % 2 == 0:
                order[n_served] = x // 2
                n_served += 1
                saving[x // 2] = detour
            else:
                saving[x // 2] += detour
    for x in range(q):
        chosen[x] = -1
    if n_served == 0:
        return
    ranked = order[:n_served][np.argsort(-saving[order[:n_served]])]
    left = n_served
    for x in range(min(q, n_served)):
        pick = int(np.random.random() ** WORST_BIAS * left)  # noqa: NPY002
        chosen[x] = ranked[pick]
        ranked[pick : left - 1] = ranked[pick + 1 : left]
        left -= 1


@inner_kernel
def _index_visits(routes, lengths, route_of, position_of):  # type: ignore[no-untyped-def]
    """route_of[node] and position_of[node]: the route serving each visit and its place there (route_of
    -1 for the visits of riders no route serves, whose position_of is left as it was)."""
    route_of[:] = -1
    for r in range(lengths.shape[0]):
        for p in range(lengths[r]):
            route_of[routes[r, p]] = r
            position_of[routes[r, p]] = p


@inner_kernel
def _string_ruin(routes, lengths, seed, related, removed, route_of, position_of, ruined):  # type: ignore[no-untyped-def]
    """Strings of consecutive visits out of routes near ``seed`` (SISR's ruin): removed[k] set for each
    request with a visit in one; route_of, position_of and ruined are work arrays.

    Going down the requests nearest to ``seed``, the route serving one (at its pickup or its drop-off,
    drawn) loses a string around that visit, until as many routes are ruined as drawn; with
    ``SPLIT_SHARE`` the string keeps a stretch of visits in it. Unlike removing related requests one
    by one, a string takes the visits next to each other in a route, so the route can be rebuilt in
    another order.
    """
    n_routes = lengths.shape[0]
    _index_visits(routes, lengths, route_of, position_of)
    visits = 0
    used = 0
    for r in range(n_routes):
        ruined[r] = False
        visits += lengths[r]
        if lengths[r] > 0:
            used += 1
    if used == 0:
        return
    longest = min(STRING_MAX, visits / used)
    strings = int(np.random.random() * (4 * STRING_MEAN_REMOVED / (1 + longest) - 1)) + 1  # noqa: NPY002
    done = 0
    for x in range(related.shape[0]):
        if done >= strings:
            break
        node = 2 * related[seed, x] + np.random.randint(2)  # noqa: NPY002
        r = route_of[node]
        if r < 0 or ruined[r]:
            continue
        ruined[r] = True
        done += 1
        n = lengths[r]
        size = int(np.random.random() * min(n, longest)) + 1  # noqa: NPY002
        kept = 0
        if size < n and np.random.random() < SPLIT_SHARE:  # noqa: NPY002
            kept = 1
            while kept < n - size and np.random.random() >= SPLIT_STOP:  # noqa: NPY002
                kept += 1
        span = size + kept
        # a string of span visits with the drawn one in it, inside the route
        p = position_of[node]
        low = max(0, p - span + 1)
        high = min(p, n - span)
        first = low + np.random.randint(high - low + 1)  # noqa: NPY002
        keep_from = first + np.random.randint(span - kept + 1)  # noqa: NPY002
        for y in range(first, first + span):
            if kept == 0 or y < keep_from or y >= keep_from + kept:
                removed[routes[r, y] // 2] = True


@inner_kernel
def _tail_cut(routes, lengths, usable, tied, related, removed, route_of, position_of):  # type: ignore[no-untyped-def]
    """A cut for swapping two routes' tails (2-opt*): returns (r1, p1, r2, p2), route r1 to go on after
    its first p1 visits with route r2's visits from p2 on, and r2 after its first p2 with r1's from p1
    on (r1 = -1: no cut found). removed[k] is set for every rider the cuts part (picked up before a
    cut, dropped off after it): the recreate puts them back. route_of and position_of are work arrays.

    r1's visit at p1 is a random rider's pickup or drop-off; r2 is the route of one of that rider's
    ``TAIL_RELATED`` most related riders, cut at that rider's visit: each tail then follows a visit near
    the one it used to follow, in space and time.
    """
    n_req = related.shape[0]
    _index_visits(routes, lengths, route_of, position_of)
    node = 2 * np.random.randint(n_req) + np.random.randint(2)  # noqa: NPY002
    r1 = route_of[node]
    if r1 < 0 or not usable[r1]:
        return -1, 0, -1, 0
    p1 = position_of[node]
    r2 = -1
    p2 = 0
    hits = 0
    wanted = 1 + np.random.randint(TAIL_RELATED)  # noqa: NPY002
    for x in range(n_req):
        other = 2 * related[node // 2, x] + np.random.randint(2)  # noqa: NPY002
        r = route_of[other]
        if r < 0 or r == r1 or not usable[r]:
            continue
        hits += 1
        r2, p2 = r, position_of[other]
        if hits == wanted:
            break
    if r2 < 0:
        return -1, 0, -1, 0
    # riders tied to their vehicle stay with it: no cut that would move one
    for r, cut in ((r1, p1), (r2, p2)):
        for p in range(cut, lengths[r]):
            if tied[routes[r, p] // 2] >= 0:
                return -1, 0, -1, 0
    for r, cut in ((r1, p1), (r2, p2)):
        for p in range(cut, lengths[r]):
            x = routes[r, p]
            if x % 2 == 1 and position_of[x - 1] < cut:
                removed[x // 2] = True
    return r1, p1, r2, p2


@njit(cache=True, inline="always")
def _append_kept(seq, first, end, removed, out, m):  # type: ignore[no-untyped-def]
    """The visits of seq[first:end] whose riders are not removed, appended to out[:m]; the new length."""
    for p in range(first, end):
        node = seq[p]
        if not removed[node // 2]:
            out[m] = node
            m += 1
    return m


@inner_kernel
def _kept_visits(routes, lengths, removed, work, work_lengths, r1, p1, r2, p2):  # type: ignore[no-untyped-def]
    """work: the routes without the removed requests' visits, and with r1 >= 0 the tails of r1 (from
    p1) and r2 (from p2) swapped (see ``_tail_cut``)."""
    for r in range(lengths.shape[0]):
        own_end = lengths[r]
        other = -1
        other_from = 0
        if r1 >= 0 and r == r1:
            own_end, other, other_from = p1, r2, p2
        elif r1 >= 0 and r == r2:
            own_end, other, other_from = p2, r1, p1
        m = _append_kept(routes[r], 0, own_end, removed, work[r], 0)
        if other >= 0:
            m = _append_kept(routes[other], other_from, lengths[other], removed, work[r], m)
        work_lengths[r] = m


@inner_kernel
def _swapped_fit(  # type: ignore[no-untyped-def]
    work,
    work_lengths,
    r1,
    r2,
    warped,
    start,
    transit,
    earliest,
    latest,
    seats,
    chairs,
    ride_limit,
    capacity,
    max_duration,
    scratch,
):
    """Whether routes r1 and r2 of ``work``, after a tail swap, may go to the recreate: feasible, or with
    time warp (lateness priced, not forbidden) within their vehicles' seats and wheelchair places
    (``scratch``: ``pdp_arrays.insertion_scratch``'s)."""
    for r in (r1, r2):
        n = work_lengths[r]
        if warped:
            load_s = 0
            load_c = 0
            for q in range(n):
                load_s += seats[work[r, q]]
                load_c += chairs[work[r, q]]
                if load_s > capacity[r, 0] or load_c > capacity[r, 1]:
                    return False
        elif not route_feasible(
            work[r], n, start[r], transit, earliest, latest, seats, chairs, ride_limit, capacity[r],
            max_duration[r], scratch,
        ):  # fmt: skip
            return False
    return True


@inner_kernel
def _sort_by_deadline(chosen, count, latest):  # type: ignore[no-untyped-def]
    """chosen[:count] (requests) by their drop-off window's end, earliest first, in place."""
    for x in range(1, count):
        k = chosen[x]
        y = x
        while y > 0 and latest[2 * chosen[y - 1] + 1] > latest[2 * k + 1]:
            chosen[y] = chosen[y - 1]
            y -= 1
        chosen[y] = k


@inner_kernel
def _regret_place(  # type: ignore[no-untyped-def]
    x,
    r,
    chosen,
    work,
    work_lengths,
    usable,
    tied,
    representative,
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
    added,
    at_i,
    at_j,
):
    """added[x, r], at_i[x, r], at_j[x, r]: request chosen[x]'s cheapest place in route r (-1: none, also
    where the route may not take it, see ``_open_to``)."""
    added[x, r] = -1
    if not _open_to(r, chosen[x], work_lengths, usable, tied, representative):
        return
    added[x, r], at_i[x, r], at_j[x, r] = best_insertion(
        work[r],
        work_lengths[r],
        chosen[x],
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


@inner_kernel
def _open_to(r, k, work_lengths, usable, tied, representative):  # type: ignore[no-untyped-def]
    """Whether route r may take request k: usable, k's own vehicle if tied, and, if empty, the one
    empty route tried for its class of alike vehicles."""
    if not usable[r] or (tied[k] >= 0 and tied[k] != r):
        return False
    return work_lengths[r] > 0 or representative[r]


@njit(cache=True)
def _greedy_recreate(  # type: ignore[no-untyped-def]
    chosen,
    count,
    work,
    work_lengths,
    work_bank,
    picks,
    open_routes,
    usable,
    rows,
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
    squeeze,
    weight,
    relax,
):
    """chosen[:count] put back in that order, each at its cheapest feasible place (with ``squeeze``, a
    request that fits nowhere is squeezed in first); one that fits nowhere goes to ``work_bank``.
    Returns (failures, index in ``chosen`` of the one that made them exceed ``picks``, else -1): past
    ``picks`` failures the step cannot be kept (the bank's penalty outweighs any distance), so it stops.
    ``kept``, ``overloaded``, ``stale``, ``least_drop`` and ``scratch``: see ``pdp_arrays.cheapest_route_kept``."""
    failures = 0
    stale[:] = True
    for x in range(count):
        k = chosen[x]
        # where vehicles count, never open a route the solution does not use
        best_r, best_i, best_j = cheapest_route_kept(
            work, work_lengths, k, open_routes, usable, start, vehicle_class, tied, transit, distance, earliest,
            latest, seats, chairs, ride_limit, capacity, max_duration, kept, overloaded, stale, least_drop, blink,
            scratch,
        )  # fmt: skip
        if best_r >= 0:
            work_lengths[best_r] = insert_request(work[best_r], work_lengths[best_r], k, best_i, best_j)
            stale[best_r] = True
        elif not (
            squeeze
            and squeeze_in(
                work,
                work_lengths,
                rows,
                rows.shape[0],
                k,
                weight,
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
            )
        ):
            failures += 1
            work_bank[k] = True
            if failures > picks and not relax:
                return failures, x
        else:
            stale[:] = True  # squeezed in: routes moved requests among them
    return failures, -1


@njit(cache=True)
def _warp_recreate(  # type: ignore[no-untyped-def]
    chosen,
    count,
    work,
    work_lengths,
    work_warp,
    work_bank,
    picks,
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
    capacity,
    penalty,
    pre,
    suf,
    prefix_s,
    prefix_c,
    overloaded,
    stale,
    least_drop,
    blink,
):
    """chosen[:count] put back in that order, each where its added distance plus ``penalty`` times the
    time warp it adds is least (``time_warp.warp_insertion``); ``work_warp`` holds each route's time
    warp. Only seats and wheelchair places can leave a request out (to ``work_bank``). Returns how many
    were left out, stopping once more than ``picks`` were. ``pre``, ``suf``, ``prefix_s``, ``prefix_c`` and
    ``overloaded`` keep each route's summary (``time_warp.warp_summary``; per route, the first index),
    made anew where ``stale``; ``least_drop`` a float work array as long as a route can be, plus 2."""
    failures = 0
    stale[:] = True
    tried_empty = np.zeros(work_lengths.shape[0], np.int64)
    for x in range(count):
        k = chosen[x]
        tried_empty[:] = 0
        best, best_r, best_i, best_j = np.inf, -1, -1, -1
        for r in range(work_lengths.shape[0]):
            if not route_open_to(r, k, work_lengths, open_routes, usable, vehicle_class, tied, tried_empty):
                continue
            if stale[r]:
                overloaded[r] = warp_summary(
                    work[r], work_lengths[r], start[r], transit, earliest, latest, seats, chairs, capacity[r], pre[r],
                    suf[r], prefix_s[r], prefix_c[r],
                )  # fmt: skip
                stale[r] = False
            cost, i, j = warp_insertion_kept(
                work[r], work_lengths[r], k, start[r], transit, distance, earliest, latest, seats, chairs,
                capacity[r], penalty, work_warp[r], pre[r], suf[r], prefix_s[r], prefix_c[r], overloaded[r], blink,
                best, least_drop,
            )  # fmt: skip
            if i >= 0:
                best, best_r, best_i, best_j = cost, r, i, j
        if best_r < 0:
            failures += 1
            work_bank[k] = True
            if failures > picks:
                return failures
            continue
        work_lengths[best_r] = insert_request(work[best_r], work_lengths[best_r], k, best_i, best_j)
        stale[best_r] = True
        work_warp[best_r] = route_warp(work[best_r], work_lengths[best_r], start[best_r], transit, earliest, latest)
    return failures


@njit(cache=True)
def _regret_recreate(  # type: ignore[no-untyped-def]
    chosen,
    count,
    work,
    work_lengths,
    work_bank,
    picks,
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
    added,
    at_i,
    at_j,
    pending,
    representative,
):
    """Requests chosen[:count] put back by regret-2 insertion (Ropke & Pisinger): each time the request
    whose cheapest place is worth most over its second cheapest in another route (one with a single
    route left first), at its cheapest place. Returns how many fit nowhere (each marked in
    ``work_bank``); stops once more than ``picks`` do.

    Greedy insertion in random order fails when the first requests take the places the last ones
    needed; on long routes with tight windows most such steps are lost. Only the column of the route
    that changed is evaluated again after each insertion.
    """
    n_routes = work_lengths.shape[0]
    for r in range(n_routes):
        representative[r] = False
    if open_routes:
        seen = np.zeros(n_routes, np.bool_)
        for r in range(n_routes):
            if usable[r] and work_lengths[r] == 0 and not seen[vehicle_class[r]]:
                seen[vehicle_class[r]] = True
                representative[r] = True
    for x in range(count):
        pending[x] = True
        for r in range(n_routes):
            _regret_place(
                x,
                r,
                chosen,
                work,
                work_lengths,
                usable,
                tied,
                representative,
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
                added,
                at_i,
                at_j,
            )
    failures = 0
    for _ in range(count):
        pick = -1
        pick_route = -1
        pick_regret = -1
        pick_added = 0
        for x in range(count):
            if not pending[x]:
                continue
            first = -1
            second = -1
            route = -1
            for r in range(n_routes):
                a = added[x, r]
                if a < 0:
                    continue
                if first < 0 or a < first:
                    second = first
                    first = a
                    route = r
                elif second < 0 or a < second:
                    second = a
            if route < 0:
                pending[x] = False
                failures += 1
                work_bank[chosen[x]] = True
                if failures > picks:
                    return failures
                continue
            regret = int(BIG) if second < 0 else int(second - first)
            if regret > pick_regret or (regret == pick_regret and first < pick_added):
                pick, pick_route, pick_regret, pick_added = x, route, regret, first
        if pick < 0:
            break
        pending[pick] = False
        r = pick_route
        was_empty = work_lengths[r] == 0
        work_lengths[r] = insert_request(work[r], work_lengths[r], chosen[pick], at_i[pick, r], at_j[pick, r])
        changed = r
        refill = -1
        if was_empty and representative[r]:
            representative[r] = False
            for q in range(n_routes):
                if q != r and usable[q] and work_lengths[q] == 0 and vehicle_class[q] == vehicle_class[r]:
                    representative[q] = True
                    refill = q
                    break
        for x in range(count):
            if not pending[x]:
                continue
            for q in (changed, refill):
                if q < 0:
                    continue
                _regret_place(
                    x,
                    q,
                    chosen,
                    work,
                    work_lengths,
                    usable,
                    tied,
                    representative,
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
                    added,
                    at_i,
                    at_j,
                )
    return failures


@njit(cache=True)
def _lns_steps(  # type: ignore[no-untyped-def]
    routes,
    lengths,
    cost,
    best_routes,
    best_lengths,
    best_cost,
    temperature,
    steps,
    max_removed,
    related,
    transit,
    distance,
    earliest,
    latest,
    seats,
    chairs,
    ride_limit,
    capacity,
    max_duration,
    open_routes,
    usable,
    start,
    vehicle_class,
    tied,
    bank,
    bank_penalty,
    blink,
    string_share,
    tail_share,
    regret_share,
    squeeze,
    weight,
    attempts,
    warp_penalty,
    relax_penalty,
):
    """``steps`` ruin-and-recreate steps at one temperature; returns (cost, best cost, steps that ended
    at a plan without time warp), state changed in place.

    ``open_routes``: a request may also go into an empty route of a ``usable`` vehicle (one per class
    of alike vehicles is tried). With ``squeeze`` a request that fits nowhere in the greedy recreate is
    squeezed in (``dispatch.squeeze``; ``weight``: its ``load_weight``). ``bank`` marks the requests no
    route serves; the cost counts ``bank_penalty`` for each, and every step also tries to place up to
    ``BANK_PICKS`` of them.

    ``warp_penalty`` > 0: a recreate may make routes late (``dispatch.time_warp``), and the current
    plan's cost counts that many distance units per unit of time warp; only a plan without time warp
    can become the best. ``cost`` is then computed anew (the penalty changes between calls).
    """
    n_routes, size = routes.shape
    n_req = ride_limit.shape[0]
    work = np.empty_like(routes)
    work_lengths = np.empty_like(lengths)
    removed = np.zeros(n_req, np.bool_)
    chosen = np.empty(n_req, np.int64)
    prefix_time = np.empty(size + 2, np.int64)
    prefix_s = np.empty(size + 2, np.int64)
    prefix_c = np.empty(size + 2, np.int64)
    suffix_latest = np.empty(size + 2, np.int64)
    kept = np.empty((4, n_routes, size + 2), np.int64)
    overloaded = np.empty(n_routes, np.int64)
    stale = np.empty(n_routes, np.bool_)
    least_drop = np.empty(size + 2, np.int64)
    scratch = insertion_scratch(size, ride_limit, n_routes)
    work_bank = np.empty(n_req, np.bool_)
    banked = np.empty(n_req, np.int64)
    saving = np.empty(n_req, np.float64)
    order = np.empty(n_req, np.int64)
    route_of = np.empty(2 * n_req, np.int64)
    position_of = np.empty(2 * n_req, np.int64)
    ruined = np.empty(n_routes, np.bool_)
    added = np.empty((n_req, n_routes) if regret_share > 0 else (1, 1), np.int64)
    at_i = np.empty_like(added)
    at_j = np.empty_like(added)
    pending = np.empty(n_req, np.bool_)
    representative = np.empty(n_routes, np.bool_)
    rows = np.flatnonzero(usable)
    warped = warp_penalty > 0
    warp_now = np.zeros(n_routes, np.int64)
    work_warp = np.zeros(n_routes, np.int64)
    warp_pre = np.empty((n_routes if warped else 1, 4, size + 2), np.int64)
    warp_suf = np.empty_like(warp_pre)
    warp_least_drop = np.empty(size + 2, np.float64)
    # what a rider left waiting costs: the relaxed bank's penalty where it is on
    rider_penalty = relax_penalty if relax_penalty > 0 else bank_penalty
    if warped or relax_penalty > 0:
        # the penalties change between calls: the cost anew
        cost = _total_distance(routes, lengths, distance, start) + rider_penalty * bank.sum()
        if warped:
            for r in range(n_routes):
                warp_now[r] = route_warp(routes[r], lengths[r], start[r], transit, earliest, latest)
            cost += warp_penalty * warp_now.sum()
    feasible_steps = 0
    for _ in range(steps):
        if (warped and warp_now.sum() == 0) or (not warped and relax_penalty > 0 and not bank.any()):
            feasible_steps += 1
        # riders no route serves: a few of them try their luck in every step, placed first, and half the
        # related ruins open room around one of them (none waiting: no random draw, so a plan serving
        # everyone is searched exactly as without a bank)
        n_banked = 0
        for k in range(n_req):
            if bank[k]:
                banked[n_banked] = k
                n_banked += 1
        # ruin: strings of visits, related requests (close to ones already taken), the costliest ones,
        # or random ones
        q = 1 + np.random.randint(max_removed)  # noqa: NPY002 (numba has only the global RNG)
        removed[:] = False
        kind = np.random.random()  # noqa: NPY002
        cut_r1, cut_p1, cut_r2, cut_p2 = -1, 0, -1, 0
        if tail_share > 0 and np.random.random() < tail_share:  # noqa: NPY002
            # two routes' tails swapped; the riders the cuts part are put back by the recreate (no cut, as
            # with a single route: one of the other ruins instead)
            cut_r1, cut_p1, cut_r2, cut_p2 = _tail_cut(
                routes, lengths, usable, tied, related, removed, route_of, position_of
            )
        if cut_r1 >= 0:
            q = 0
        elif string_share > 0 and np.random.random() < string_share:  # noqa: NPY002
            _string_ruin(routes, lengths, np.random.randint(n_req), related, removed, route_of, position_of, ruined)  # noqa: NPY002
            q = 0
        elif kind < RELATED_SHARE:
            if n_banked > 0 and np.random.random() < 0.5:  # noqa: NPY002
                seed = banked[np.random.randint(n_banked)]  # noqa: NPY002
            else:
                seed = np.random.randint(n_req)  # noqa: NPY002
            _related_group(seed, q, related, chosen)
        elif kind < RELATED_SHARE + WORST_SHARE:
            _costliest_group(routes, lengths, distance, start, q, chosen, saving, order)
        else:
            for x in range(q):
                chosen[x] = np.random.randint(n_req)  # noqa: NPY002 (repeats only make the group smaller)
        for x in range(q):
            if chosen[x] >= 0 and not bank[chosen[x]]:
                removed[chosen[x]] = True
        picks = min(n_banked, BANK_PICKS)
        for x in range(picks):
            y = x + np.random.randint(n_banked - x)  # noqa: NPY002
            banked[x], banked[y] = banked[y], banked[x]
        # typed, not a literal 0: numba would compile every kernel it is passed to once more for a literal
        count = np.int64(0)
        for x in range(picks):
            chosen[count] = banked[x]
            count += 1
        for k in range(n_req):
            if removed[k]:
                chosen[count] = k
                count += 1
        fail_at = -1
        greedy = False  # greedy recreate: the only one that banks riders when relaxed
        # a step whose recreate leaves a rider out is tried again (``attempts`` in all) with that rider
        # put back first: it then fits, and large ruins, which fail most often, get through
        for attempt in range(attempts):
            if attempt > 0:
                k = chosen[fail_at]
                for z in range(fail_at, 0, -1):
                    chosen[z] = chosen[z - 1]
                chosen[0] = k
            # the routes without the removed requests (tails swapped), the bank without the riders picked from it
            _kept_visits(routes, lengths, removed, work, work_lengths, cut_r1, cut_p1, cut_r2, cut_p2)
            work_bank[:] = bank
            for x in range(picks):
                work_bank[banked[x]] = False
            if cut_r1 >= 0 and not _swapped_fit(
                work, work_lengths, cut_r1, cut_r2, warped, start, transit, earliest, latest, seats, chairs,
                ride_limit, capacity, max_duration, scratch,
            ):  # fmt: skip
                failures = n_req + 1  # the step is given up
                break
            if attempt == 0:
                # recreate: the waiting riders first, then the others in random order, each at its
                # cheapest feasible place in a route in use
                for x in range(count - 1, picks, -1):
                    y = picks + np.random.randint(x - picks + 1)  # noqa: NPY002
                    chosen[x], chosen[y] = chosen[y], chosen[x]
                if picks > 0 and np.random.random() < 0.5:  # noqa: NPY002
                    # around a waiting rider the routes must often be rebuilt in time order: by drop-off deadline
                    _sort_by_deadline(chosen, count, latest)
            if warped:
                for r in range(n_routes):
                    work_warp[r] = route_warp(work[r], work_lengths[r], start[r], transit, earliest, latest)
                failures = _warp_recreate(
                    chosen, count, work, work_lengths, work_warp, work_bank, picks, open_routes, usable, start,
                    vehicle_class, tied, transit, distance, earliest, latest, seats, chairs, capacity, warp_penalty,
                    warp_pre, warp_suf, kept[1], kept[2], overloaded, stale, warp_least_drop, blink,
                )  # fmt: skip
                break
            regret = regret_share > 0 and np.random.random() < regret_share  # noqa: NPY002
            if regret:
                failures = _regret_recreate(
                    chosen,
                    count,
                    work,
                    work_lengths,
                    work_bank,
                    picks,
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
                    added,
                    at_i,
                    at_j,
                    pending,
                    representative,
                )
                break
            greedy = True
            failures, fail_at = _greedy_recreate(
                chosen,
                count,
                work,
                work_lengths,
                work_bank,
                picks,
                open_routes,
                usable,
                rows,
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
                squeeze,
                weight,
                relax_penalty > 0,
            )
            if failures <= picks:
                break
        if failures > picks and not (relax_penalty > 0 and greedy):
            continue
        # the bank lost its picks and gained every failure
        waiting = n_banked - picks + failures
        plain_cost = _total_distance(work, work_lengths, distance, start) + rider_penalty * waiting
        new_cost = plain_cost + warp_penalty * work_warp.sum() if warped else plain_cost
        if new_cost < cost or (temperature > 0 and np.random.random() < math.exp((cost - new_cost) / temperature)):  # noqa: NPY002
            cost = new_cost
            for r in range(n_routes):
                routes[r, : work_lengths[r]] = work[r, : work_lengths[r]]
            lengths[:] = work_lengths
            bank[:] = work_bank
            if warped:
                warp_now[:] = work_warp
            if (
                plain_cost < best_cost
                and not (warped and work_warp.sum() > 0)
                and not (relax_penalty > 0 and waiting > 0)
            ):
                best_cost = plain_cost
                best_routes[:] = routes
                best_lengths[:] = lengths
    return cost, best_cost, feasible_steps


def _bank_of(routes: np.ndarray, lengths: np.ndarray, n_req: int) -> np.ndarray:
    """Which requests no route serves."""
    bank = np.ones(n_req, np.bool_)
    for r in range(len(lengths)):
        bank[routes[r, : lengths[r]] // 2] = False
    return bank


def _adapted_penalty(penalty: float, share_allowed: float, low: float, high: float, params: LnsParams) -> float:
    """A relaxation's penalty after a call (time warp, relaxed bank): fewer steps than
    ``warp_feasible_share`` ending at a plan the relaxation does not touch (on time, serving everyone),
    the relaxed limit costs more; more, it costs less; kept within [``low``, ``high``]."""
    factor = WARP_STEP if share_allowed < params.warp_feasible_share else 1 / WARP_STEP
    return min(max(penalty * factor, low), high)


def _back_to_best(
    routes: np.ndarray, lengths: np.ndarray, bank: np.ndarray, best_routes: np.ndarray, best_lengths: np.ndarray
) -> None:
    """The current plan set back to the best, in place (the bank too)."""
    routes[:] = best_routes
    lengths[:] = best_lengths
    bank[:] = _bank_of(routes, lengths, bank.shape[0])


def _temperature(hot: float, cold: float, done: float, warp_until: float, warping: bool) -> float:
    """The annealing temperature with ``done`` of the budget used: from ``hot`` to ``cold`` over the
    part with time warp (the first ``warp_until``), then again over the part without."""
    if warp_until > 0:
        done = done / warp_until if warping else (done - warp_until) / max(1 - warp_until, 1e-9)
    done = min(max(done, 0.0), 1.0)
    return hot * (cold / hot) ** done if cold > 0 else hot * (1 - done)  # hot > 0 where cold > 0


def _warp_applies(c: CompiledFleetProblem, lengths: np.ndarray, params: LnsParams) -> bool:
    """Whether the LNS may pass through late plans: asked for, windows the only limits on time (the O(1)
    joins do not model ride limits or route durations), and routes long enough on average."""
    if not params.time_warp or int(c.ride_limit.min()) < BIG or int(c.max_duration.min()) < BIG:
        return False
    return _long_routes(lengths, params)


def start_temperature(lengths: np.ndarray, params: LnsParams) -> float:
    """The annealing's start temperature, in average arcs, for routes of ``lengths`` visits: hotter
    where they are long (``_long_routes``)."""
    return params.long_route_start_temperature if _long_routes(lengths, params) else params.start_temperature


def _long_routes(lengths: np.ndarray, params: LnsParams) -> bool:
    """Whether the routes in use hold at least ``params.warp_min_requests_per_route`` requests each on average."""
    used = int((lengths > 0).sum())
    return used > 0 and int(lengths.sum()) / 2 / used >= params.warp_min_requests_per_route


def shorten_routes(
    problem: Problem,
    plan: RoutePlan,
    budget: Budget,
    relatedness: np.ndarray,
    scale: int = 100,
    seed: int = 0,
    params: LnsParams | None = None,
    on_best: Callable[[RoutePlan], None] | None = None,
) -> RoutePlan | None:
    """``plan``'s routes made shorter within ``budget`` (an iteration: ``params.steps_per_call`` steps),
    or None if it does not apply. ``on_best``, if given, is shown the best plan when it has improved,
    every ``REPORT_EVERY_S`` seconds at most (a long run is seen to move; the search does not change).

    Where vehicles count first (``Problem.minimize_vehicles``) no route is ever added; otherwise
    any vehicle of the fleet may be used. Riders ``plan`` leaves out wait in a bank: every step tries
    to place a few of them, and a plan serving more is always kept (then the shorter one).

    ``relatedness`` is the request-by-request dissimilarity (smaller: more related). None where a
    route has no schedule the kernels find (should not happen: same integers as OR-Tools).
    """
    params = params or LnsParams()
    # the budget covers the tables below too: on thousands of requests they take seconds
    meter = budget.start()
    compiled = compile_problem(problem, scale)
    if compiled is None or not plan.routes:
        return None
    arrays = routes_as_arrays(problem, compiled, plan)
    if arrays is None:
        return None
    routes, lengths = arrays
    open_routes = not problem.minimize_vehicles
    usable = np.ones(len(lengths), np.bool_) if open_routes else lengths > 0
    c = compiled
    n_req = len(problem.requests)
    related = np.argsort(relatedness, axis=1).astype(np.int64, copy=False)
    max_removed = max(2, min(30, round(params.removed_share * n_req), n_req))
    distance = int(_total_distance(routes, lengths, c.distance, c.start))
    bank = _bank_of(routes, lengths, n_req)
    # more than any plan's whole distance: serving one more rider is worth any detour
    bank_penalty = int(c.distance.max()) * (2 * n_req + len(lengths) + 1) + 1
    # a float from the start, as the kernel returns it: one compiled signature, not a second one compiled
    # within some search's budget
    cost = float(distance + bank_penalty * int(bank.sum()))
    best_routes, best_lengths, best_cost = routes.copy(), lengths.copy(), cost
    arc = distance / max(int(lengths.sum()) + int((lengths > 0).sum()), 1)
    hot, cold = start_temperature(lengths, params) * arc, params.end_temperature * arc
    # the share of the budget that may pass through late plans (0: none)
    warp_until = params.warp_share if _warp_applies(c, lengths, params) else 0.0
    warp_penalty = WARP_PENALTY_START if warp_until > 0 else 0.0
    late_calls = 0  # calls in a row without a step on time
    # the relaxed bank (off where the plan already leaves riders out: those keep the full penalty)
    relax_penalty = max(int(params.bank_relax * arc), 1) if params.bank_relax > 0 and not bank.any() else 0
    seed_numba(seed)
    steps = params.steps_per_call
    shown = _Shown(on_best, best_cost)
    while not meter.exhausted():
        began = time.perf_counter()
        done = meter.fraction_used()
        if warp_penalty > 0 and done >= warp_until:
            # the rest on time only, from the best plan, annealed anew
            _back_to_best(routes, lengths, bank, best_routes, best_lengths)
            cost, warp_penalty = float(best_cost), 0.0
        temperature = _temperature(hot, cold, done, warp_until, warp_penalty > 0)
        cost, best_cost, on_time = _lns_steps(  # type: ignore[call-arg]
            routes, lengths, cost, best_routes, best_lengths, best_cost, temperature, steps,
            max_removed, related, *c.kernel_tables, open_routes, usable, c.start, c.vehicle_class, c.tied, bank,
            bank_penalty, params.blink, params.string_share, params.tail_share, params.regret_share, params.squeeze,
            load_weight(c.transit, n_req) if params.squeeze else 1, params.recreate_attempts, warp_penalty,
            relax_penalty,
        )  # fmt: skip
        share = on_time / steps
        if warp_penalty == 0 and relax_penalty > 0:
            # at least 1, so the relaxation stays on
            relax = _adapted_penalty(relax_penalty, share, RELAX_LOW * arc, RELAX_HIGH * arc, params)
            relax_penalty = max(int(relax), 1)
        if warp_penalty > 0:
            warp_penalty = _adapted_penalty(warp_penalty, share, WARP_PENALTY_LOW, WARP_PENALTY_HIGH, params)
            late_calls = late_calls + 1 if on_time == 0 else 0
            if late_calls >= WARP_PATIENCE:
                # late too long: the plan has drifted where recreates cannot make it punctual again
                _back_to_best(routes, lengths, bank, best_routes, best_lengths)
                late_calls = 0
        meter.charge(1)
        if budget.seconds is not None:
            steps = steps_for_call(steps, time.perf_counter() - began, params.steps_per_call, LNS_CALL_S)
        if shown.due(best_cost):
            shown.show(arrays_as_plan(problem, c, best_routes, best_lengths), best_cost)
    return arrays_as_plan(problem, c, best_routes, best_lengths)


REPORT_EVERY_S = 10.0  # at most this often a long run shows its best plan (``on_best``)


class _Shown:
    """When ``shorten_routes`` last showed its best plan to ``on_best``, and at what cost."""

    def __init__(self, on_best: Callable[[RoutePlan], None] | None, cost: float) -> None:
        self._on_best = on_best
        self._cost = cost
        self._at = time.perf_counter()

    def due(self, best_cost: float) -> bool:
        return self._on_best is not None and best_cost < self._cost and time.perf_counter() - self._at >= REPORT_EVERY_S

    def show(self, plan: RoutePlan, cost: float) -> None:
        assert self._on_best is not None
        self._on_best(plan)
        self._cost = cost
        self._at = time.perf_counter()


# under a time budget, calls of the kernel last at most about this long: the clock is read between
# calls only, and a step on routes of hundreds of stops with a large bank takes tens of milliseconds
LNS_CALL_S = 1.0
