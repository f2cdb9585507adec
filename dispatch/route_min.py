"""Route minimisation by an ejection pool, after Nagata & Bräysy (2009); the same pool serves riders left out.

OR-Tools' local search moves one or two requests at a time and keeps every request served, so a solution with
one route too many is a deep basin: emptying a route needs many coordinated moves. The ejection pool takes a
route away and puts its requests in a pool; it then takes requests from the pool one at a time and inserts each
where it fits. When a request fits nowhere, with ``EjectionParams.squeeze`` it is first squeezed in
(``dispatch.squeeze``); otherwise, or if that fails, it goes in anyway and up to ``max_ejected`` requests leave
its route for the pool, chosen so that the sum of their *penalties* is least; a request's penalty grows every
time it could not be inserted, so the requests that are hard to place are placed first and the easy ones make
room. A request that does not fit even so ends the attempt, or with ``EjectionParams.retry_stuck`` goes back to
the bottom of the pool, and the routes are shaken (random relocations, and with
``EjectionParams.perturb_exchanges`` exchanges) before it comes up again; the attempt is then given up when the
pool has not reached a new smallest size for ``EjectionParams.patience`` of the budget (a fleet one smaller than
feasible never empties its pool, and the time is better spent shortening routes), or when the budget runs out. A
failed attempt leaves the routes as they were and the next smallest route is tried, up to
``EjectionParams.targets`` routes; then the fleet stays. When the pool is empty, the fleet is one smaller, and
the next route goes, down to the fewest routes any plan can have (``dispatch.fleet_bound``): below that the pool
could only spend its budget. ``fewest_routes`` runs the pool ``EjectionParams.restarts`` times from the same
plan with other seeds and keeps the fewest routes. Started with the riders a plan leaves out instead of a
route's, the pool places them, moving others out of the way (``serve_left_out``).

Mixed fleets work the same way: each route is its vehicle's (seats, wheelchair places, depots,
shift), and a rider tied to a vehicle is only placed in that vehicle's route (a route holding one is
never taken away).

The routes are the flat integer arrays of ``dispatch.pdp_arrays`` (feasible in the OR-Tools
model as they stand); the numba kernel ``_ejection_steps`` changes the search state in place, and
``eliminate_routes_by_ejection`` keeps the budget and returns a route plan.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
from numba import njit

from dispatch.budget import Budget, steps_for_call
from dispatch.fleet_bound import fewest_routes_bound
from dispatch.model import Problem
from dispatch.pdp_arrays import (
    CompiledFleetProblem,
    arrays_as_plan,
    best_insertion,
    cheapest_route,
    compile_problem,
    inner_kernel,
    insert_request,
    insertion_scratch,
    remove_requests,
    route_feasible,
    routes_as_arrays,
    seed_numba,
)
from dispatch.plan import RoutePlan
from dispatch.solver_params import EjectionParams
from dispatch.squeeze import load_weight, squeeze_in

log = logging.getLogger(__name__)

RESTART_SEED = 104729  # the seeds of ``fewest_routes``' runs: apart from the callers' own seed offsets


@njit(cache=True)
def _ejection_steps(  # type: ignore[no-untyped-def]
    routes,
    lengths,
    usable,
    pool,
    pool_size,
    penalty,
    steps,
    max_ejected,
    perturb_moves,
    exchange_share,
    retry_stuck,
    squeeze,
    weight,
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
):
    """Up to ``steps`` insertions from the pool (LIFO) into the ``usable`` routes (with ``squeeze``, a
    request that fits nowhere is squeezed in before anything is ejected; ``weight``: the squeeze's
    ``load_weight``); returns (pool size
    left, -1), or (pool size left, request) when that request fits nowhere even with ejections (it is
    then out of the pool, and the routes are as they were before it was tried). With ``retry_stuck``
    such a request goes back to the bottom of the pool instead, and the search goes on.

    The state (routes, lengths, pool, penalty) lives in the caller's arrays and is changed in place.
    """
    size = routes.shape[1]
    rows = np.empty(lengths.shape[0], np.int64)
    # typed, not a literal 0: numba would compile every kernel it is passed to once more for a literal
    n_rows = np.int64(0)
    for r in range(lengths.shape[0]):
        if usable[r]:
            rows[n_rows] = r
            n_rows += 1
    prefix_time = np.empty(size + 2, np.int64)
    prefix_s = np.empty(size + 2, np.int64)
    prefix_c = np.empty(size + 2, np.int64)
    suffix_latest = np.empty(size + 2, np.int64)
    scratch = insertion_scratch(size, ride_limit, lengths.shape[0])
    reduced = np.empty(size + 2, np.int64)
    best_seq = np.empty(size + 2, np.int64)
    members = np.empty(size, np.int64)
    for _ in range(steps):
        if pool_size == 0:
            return 0, -1
        pool_size -= 1
        v = pool[pool_size]
        # 1. a feasible insertion anywhere (cheapest)
        best_r, best_i, best_j = cheapest_route(
            routes,
            lengths,
            v,
            True,
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
            0.0,
            scratch,
        )
        if best_r >= 0:
            lengths[best_r] = insert_request(routes[best_r], lengths[best_r], v, best_i, best_j)
        elif squeeze and squeeze_in(
            routes,
            lengths,
            rows,
            n_rows,
            v,
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
        ):
            pass  # 2. in by a squeeze: others moved out of its route to where they fit
        else:
            # 3. insert anyway and eject up to max_ejected requests of that route, least penalty first
            penalty[v] += 1
            best_sum = np.int64(1) << 62
            best_added = np.int64(1) << 62
            best_r = -1
            best_len = 0
            e_a = -1
            e_b = -1
            e_c = -1
            for row in range(n_rows):
                r = rows[row]
                if tied[v] >= 0 and tied[v] != r:
                    continue
                n = lengths[r]
                m = 0
                for q in range(n):
                    if routes[r, q] % 2 == 0:
                        members[m] = routes[r, q] // 2
                        m += 1
                for x in range(m):
                    a = members[x]
                    for y in range(x, m if max_ejected >= 2 else x + 1):
                        b = members[y] if y > x else -1
                        for z in range(y, m if (max_ejected >= 3 and y > x) else y + 1):
                            c = members[z] if z > y else -1
                            total = penalty[a] + (penalty[b] if b >= 0 else 0) + (penalty[c] if c >= 0 else 0)
                            if total > best_sum:
                                continue
                            n_red = remove_requests(routes[r], n, reduced, a, b, c)
                            if not route_feasible(
                                reduced,
                                n_red,
                                start[r],
                                transit,
                                earliest,
                                latest,
                                seats,
                                chairs,
                                ride_limit,
                                capacity[r],
                                max_duration[r],
                                scratch,
                            ):
                                continue
                            added, i, j = best_insertion(
                                reduced,
                                n_red,
                                v,
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
                            if total < best_sum or (total == best_sum and added < best_added):
                                best_sum = total
                                best_added = added
                                best_r = r
                                e_a, e_b, e_c = a, b, c
                                best_len = insert_request(reduced, n_red, v, i, j)
                                best_seq[:best_len] = reduced[:best_len]
            if best_r < 0:
                if not retry_stuck:
                    return pool_size, v
                # back in at the bottom of the pool: the others go first, and the shaking below
                # changes the routes it will meet next time
                for q in range(pool_size, 0, -1):
                    pool[q] = pool[q - 1]
                pool[0] = v
                pool_size += 1
            else:
                routes[best_r, :best_len] = best_seq[:best_len]
                lengths[best_r] = best_len
                for e in (e_a, e_b, e_c):
                    if e >= 0:
                        pool[pool_size] = e
                        pool_size += 1
            # 4. shake the routes a little (random feasible relocations and exchanges) so that the next
            # ejections differ
            _shake(
                routes,
                lengths,
                rows,
                n_rows,
                perturb_moves,
                exchange_share,
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
                reduced,
                best_seq,
                scratch,
                prefix_time,
                prefix_s,
                prefix_c,
                suffix_latest,
            )
    return pool_size, -1


@inner_kernel
def _shake(  # type: ignore[no-untyped-def]
    routes,
    lengths,
    rows,
    n_rows,
    moves,
    exchange_share,
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
    first,
    second,
    scratch,
    prefix_time,
    prefix_s,
    prefix_c,
    suffix_latest,
):
    """``moves`` random tries between two of the ``usable`` routes (``rows[:n_rows]``): a request of one
    goes to its cheapest feasible place in the other or, with probability ``exchange_share``, two
    requests trade routes (each at its cheapest place in the other's route, both feasible or neither);
    ``first``/``second``: scratch sequences as long as a route plus two; ``scratch``: ``insertion_scratch``'s."""
    for _move in range(moves):
        r1 = rows[np.random.randint(n_rows)]  # noqa: NPY002 (numba has only the global RNG)
        r2 = rows[np.random.randint(n_rows)]  # noqa: NPY002 (numba has only the global RNG)
        if r1 == r2 or lengths[r1] == 0:
            continue
        k = routes[r1, np.random.randint(lengths[r1])] // 2  # noqa: NPY002 (numba has only the global RNG)
        if tied[k] >= 0:
            continue
        # draw only when exchanges are asked for: without them a seed gives the relocations it always gave
        exchange = exchange_share > 0.0 and np.random.random() < exchange_share  # noqa: NPY002
        other = -1
        if exchange:
            if lengths[r2] == 0:
                continue
            other = routes[r2, np.random.randint(lengths[r2])] // 2  # noqa: NPY002
            if tied[other] >= 0:
                continue
        n1 = remove_requests(routes[r1], lengths[r1], first, k, -1, -1)
        if not _feasible(
            first, n1, r1, start, transit, earliest, latest, seats, chairs, ride_limit, capacity, max_duration,
            scratch,
        ):  # fmt: skip
            continue
        # the second route is copied only once the first is known to stay feasible without k
        n2 = remove_requests(routes[r2], lengths[r2], second, other, -1, -1)
        if exchange and not _feasible(
            second, n2, r2, start, transit, earliest, latest, seats, chairs, ride_limit, capacity, max_duration,
            scratch,
        ):  # fmt: skip
            continue
        n2 = _insert_cheapest(
            second, n2, k, r2, start, transit, distance, earliest, latest, seats, chairs, ride_limit, capacity,
            max_duration, prefix_time, prefix_s, prefix_c, suffix_latest, scratch,
        )  # fmt: skip
        if n2 < 0:
            continue
        if exchange:
            n1 = _insert_cheapest(
                first, n1, other, r1, start, transit, distance, earliest, latest, seats, chairs, ride_limit,
                capacity, max_duration, prefix_time, prefix_s, prefix_c, suffix_latest, scratch,
            )  # fmt: skip
            if n1 < 0:
                continue
        # element by element: a slice assignment may copy through a temporary array, which this kernel
        # cannot allocate (``inner_kernel``)
        for q in range(n1):
            routes[r1, q] = first[q]
        lengths[r1] = n1
        for q in range(n2):
            routes[r2, q] = second[q]
        lengths[r2] = n2


@inner_kernel
def _feasible(  # type: ignore[no-untyped-def]
    seq, n, r, start, transit, earliest, latest, seats, chairs, ride_limit, capacity, max_duration, scratch
):  # fmt: skip
    """Whether seq[:n] is a feasible route for vehicle row r (``route_feasible`` with that row's tables)."""
    return route_feasible(
        seq, n, start[r], transit, earliest, latest, seats, chairs, ride_limit, capacity[r], max_duration[r],
        scratch,
    )  # fmt: skip


@inner_kernel
def _insert_cheapest(  # type: ignore[no-untyped-def]
    seq, n, k, r, start, transit, distance, earliest, latest, seats, chairs, ride_limit, capacity, max_duration,
    prefix_time, prefix_s, prefix_c, suffix_latest, scratch,
):  # fmt: skip
    """Request k put at its cheapest feasible place in seq[:n], the route of vehicle row r: the new length,
    or -1 (seq unchanged) where it fits nowhere."""
    _added, i, j = best_insertion(
        seq, n, k, start[r], transit, distance, earliest, latest, seats, chairs, ride_limit, capacity[r],
        max_duration[r], prefix_time, prefix_s, prefix_c, suffix_latest, 0.0, scratch,
    )  # fmt: skip
    if i < 0:
        return -1
    return insert_request(seq, n, k, i, j)


# ---------------------------------------------------------------------------------------------


def _steps(
    c: CompiledFleetProblem,
    routes: np.ndarray,
    lengths: np.ndarray,
    usable: np.ndarray,
    pool: np.ndarray,
    pool_size: int,
    penalty: np.ndarray,
    params: EjectionParams,
    weight: int,
    steps: int | None = None,
    retry_stuck: bool = False,
) -> tuple[int, int]:
    """One call of the kernel (``steps`` insertions, default ``params.steps_per_call``; ``weight``: the
    squeeze's ``load_weight``, computed once per pool run): (pool size, stuck request or -1)."""
    left, stuck = _ejection_steps(
        routes,
        lengths,
        usable,
        pool,
        pool_size,
        penalty,
        steps or params.steps_per_call,
        params.max_ejected,
        params.perturb_moves,
        params.perturb_exchanges,
        retry_stuck,
        params.squeeze,
        weight,
        c.start,
        c.vehicle_class,
        c.tied,
        *c.kernel_tables,
    )
    return int(left), int(stuck)


def eliminate_routes_by_ejection(
    problem: Problem,
    plan: RoutePlan,
    budget: Budget,
    scale: int = 100,
    seed: int = 0,
    params: EjectionParams | None = None,
    floor: int | None = None,
) -> RoutePlan | None:
    """Routes of ``plan`` with as few vehicles as the ejection pool reaches within ``budget`` (an
    iteration: ``params.steps_per_call`` insertions).

    None where no route went (or ``plan`` leaves riders out, or is at ``floor``, by default ``fewest_routes_bound``).
    """
    params = params or EjectionParams()
    compiled = compile_problem(problem, scale)
    if compiled is None or plan.unserved(problem) or len(plan.routes) < 2:
        return None
    c = compiled
    weight = load_weight(c.transit, len(problem.requests)) if params.squeeze else 1
    arrays = routes_as_arrays(problem, c, plan)
    if arrays is None:
        return None  # the start itself needs later starts than earliest-possible (ride times): leave it
    routes, lengths = arrays
    usable = lengths > 0
    seed_numba(seed)
    rng = np.random.default_rng(seed)
    meter = budget.start()
    patience = budget.share(params.patience)  # an attempt's time without a new smallest pool
    best_routes: np.ndarray | None = None
    best_lengths: np.ndarray | None = None
    failed: set[int] = set()  # routes the pool could not take away from the current plan
    floor = fewest_routes_bound(c, int(usable.sum())) if floor is None else floor
    while usable.sum() > floor and not meter.exhausted():
        # take away the route with fewest requests (ties at random) not tried yet; never one holding a
        # tied rider
        rows = np.flatnonzero(usable)
        order = rows[np.lexsort((rng.random(len(rows)), lengths[rows]))]
        movable = [
            int(r) for r in order if int(r) not in failed and not (c.tied[routes[r, : lengths[r]] // 2] >= 0).any()
        ]
        if not movable or len(failed) >= params.targets:
            break
        target = movable[0]
        trial, trial_lengths, trial_usable = routes.copy(), lengths.copy(), usable.copy()
        trial_usable[target] = False
        trial_lengths[target] = 0
        pool = np.zeros(len(problem.requests), dtype=np.int64)
        members = [int(x) // 2 for x in routes[target, : lengths[target]] if x % 2 == 0]
        rng.shuffle(members)
        pool[: len(members)] = members
        pool_size = len(members)
        penalty = np.ones(len(problem.requests), dtype=np.int64)
        stuck, smallest, stall = -1, pool_size, patience.start()
        while pool_size > 0 and not meter.exhausted() and not stall.exhausted():
            pool_size, stuck = _steps(
                c,
                trial,
                trial_lengths,
                trial_usable,
                pool,
                pool_size,
                penalty,
                params,
                weight,
                retry_stuck=params.retry_stuck,
            )
            meter.charge(1)
            stall.charge(1)
            if stuck >= 0:
                break
            if pool_size < smallest:
                smallest, stall = pool_size, patience.start()
        if pool_size != 0 or stuck >= 0:
            # another route may go where this one would not: the next smallest, from the same plan
            failed.add(target)
            log.debug("ejection pool: route %d stays (pool %d) after %.1f s", target, pool_size, meter.seconds_used())
            continue
        log.debug("ejection pool: %d routes after %.1f s", int(trial_usable.sum()), meter.seconds_used())
        failed.clear()
        routes, lengths, usable = trial, trial_lengths, trial_usable
        best_routes, best_lengths = trial.copy(), trial_lengths.copy()
    if best_routes is None or best_lengths is None:
        return None
    return arrays_as_plan(problem, c, best_routes, best_lengths)


def fewest_routes(
    problem: Problem,
    plan: RoutePlan,
    budget: Budget,
    scale: int = 100,
    seed: int = 0,
    params: EjectionParams | None = None,
) -> RoutePlan | None:
    """The plan with fewest routes (then the shortest) of ``pool_runs``, or None where no run took a route away."""
    runs = pool_runs(problem, plan, budget, scale, seed, params)
    return runs[0] if runs else None


def pool_runs(
    problem: Problem,
    plan: RoutePlan,
    budget: Budget,
    scale: int = 100,
    seed: int = 0,
    params: EjectionParams | None = None,
    report: Callable[[list[RoutePlan]], None] | None = None,
) -> list[RoutePlan]:
    """``params.restarts`` runs of ``eliminate_routes_by_ejection`` from ``plan``, the r-th with seed
    ``seed + RESTART_SEED * r`` and an equal share of what ``budget`` has left (time a run leaves
    passes on), ending early at a run that reaches the fewest routes any plan can have
    (``dispatch.fleet_bound``); the plans of the runs that took a route away, best first by ``RoutePlan.rank``
    (also handed to ``report`` after each such run)."""
    params = params or EjectionParams()
    meter = budget.start()
    runs: list[RoutePlan] = []
    compiled = compile_problem(problem, scale)
    floor = 1 if compiled is None else fewest_routes_bound(compiled, len(plan.routes))
    for r in range(params.restarts):
        if r > 0 and meter.exhausted():
            break
        piece = meter.left().share(1 / (params.restarts - r))
        meter.charge(piece)
        fewer = eliminate_routes_by_ejection(problem, plan, piece, scale, seed + RESTART_SEED * r, params, floor)
        log.debug("ejection pool run %d: %s routes after %.1f s", r, fewer and len(fewer.routes), meter.seconds_used())
        if fewer is not None:
            runs.append(fewer)
            if report is not None:
                report(sorted(runs, key=lambda run: run.rank(problem)))
            if len(fewer.routes) <= floor:
                break  # no run can do better; further starts at this fleet are the LNS stage's to make
    # stable: of equal plans the earlier run's comes first
    return sorted(runs, key=lambda run: run.rank(problem))


def serve_left_out(
    problem: Problem,
    plan: RoutePlan,
    budget: Budget,
    scale: int = 100,
    seed: int = 0,
    params: EjectionParams | None = None,
    new_routes: bool = True,
) -> RoutePlan | None:
    """``plan`` with the requests it leaves out placed by the ejection pool, within ``budget``: each goes
    where it fits, or in anyway with up to ``params.max_ejected`` others moved out to the pool. Any
    vehicle may be used (with ``new_routes`` False, only those ``plan`` already uses). A request that
    fits nowhere even so is set aside, and tried again once the pool is empty (the routes have changed
    by then), up to ``ROUNDS`` times.

    Returns the plan serving the most requests found (None if it serves no more than ``plan``). An
    iteration of ``budget`` is ``SERVE_STEPS`` insertions.
    """
    params = params or EjectionParams()
    compiled = compile_problem(problem, scale)
    left_out = plan.unserved(problem)
    if compiled is None or not left_out:
        return None
    c = compiled
    weight = load_weight(c.transit, len(problem.requests)) if params.squeeze else 1
    arrays = routes_as_arrays(problem, c, plan)
    if arrays is None:
        return None
    routes, lengths = arrays
    usable = np.ones(len(lengths), np.bool_) if new_routes else lengths > 0
    index_of = {r.id: k for k, r in enumerate(problem.requests)}
    seed_numba(seed)
    rng = np.random.default_rng(seed)
    waiting = [index_of[r] for r in left_out]
    rng.shuffle(waiting)
    pool = np.zeros(len(problem.requests), dtype=np.int64)
    pool[: len(waiting)] = waiting
    pool_size = len(waiting)
    penalty = np.ones(len(problem.requests), dtype=np.int64)
    aside: list[int] = []
    best_count = pool_size
    best: tuple[np.ndarray, np.ndarray] | None = None
    rounds = 0
    meter = budget.start()
    steps = SERVE_STEPS if budget.seconds is None else 1  # timed: the first call measures a step
    while pool_size > 0 and not meter.exhausted():
        began = time.perf_counter()
        pool_size, stuck = _steps(c, routes, lengths, usable, pool, pool_size, penalty, params, weight, steps)
        meter.charge(1)
        if budget.seconds is not None:
            # the clock is read between calls only: on routes of hundreds of stops one insertion with
            # ejections takes seconds, so calls shrink to about SERVE_CALL_S (an iteration budget keeps
            # SERVE_STEPS, the same on every machine)
            steps = steps_for_call(steps, time.perf_counter() - began, SERVE_STEPS, SERVE_CALL_S)
        if stuck >= 0:
            aside.append(stuck)
        if pool_size + len(aside) < best_count:
            best_count = pool_size + len(aside)
            best = routes.copy(), lengths.copy()
        if pool_size == 0 and aside and rounds < ROUNDS:
            rounds += 1
            pool[: len(aside)] = aside
            pool_size, aside = len(aside), []
    log.debug("left out: %d -> %d after %.1f s", len(left_out), best_count, meter.seconds_used())
    return None if best is None else arrays_as_plan(problem, c, *best)


ROUNDS = 5  # times the requests set aside are tried again
SERVE_STEPS = 50  # insertions per call of the kernel (an iteration) when placing riders left out
SERVE_CALL_S = 0.2  # under a time budget, about this long per call (fewer insertions where they are slow)
