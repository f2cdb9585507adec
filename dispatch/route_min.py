"""Route minimisation by an ejection pool, after Nagata & Bräysy (2009), for fleets of identical vehicles.

OR-Tools' local search moves one or two requests at a time and keeps every request served, so a
solution with one route too many is a deep basin: emptying a route needs many coordinated moves.
The ejection pool takes a route away and puts its requests in a pool; it then takes requests from
the pool one at a time and inserts each where it fits. When a request fits nowhere, it goes in
anyway and up to ``max_ejected`` requests leave its route for the pool, chosen so that the sum of
their *penalties* is least; a request's penalty grows every time it could not be inserted, so the
requests that are hard to place are placed first and the easy ones make room. When the pool is
empty, the fleet is one smaller, and the next route goes.

The routes are the flat integer arrays of ``dispatch.pdp_arrays`` (feasible in the OR-Tools
model as they stand); the numba kernel ``_ejection_steps`` changes the search state in place, and
``eliminate_routes_by_ejection`` keeps the budget and returns a route plan.
"""

from __future__ import annotations

import logging

import numpy as np
from numba import njit

from dispatch.budget import Budget
from dispatch.model import Problem
from dispatch.pdp_arrays import (
    arrays_as_plan,
    best_insertion,
    cheapest_route,
    compile_problem,
    insert_request,
    remove_requests,
    route_feasible,
    routes_as_arrays,
    seed_numba,
)
from dispatch.plan import RoutePlan
from dispatch.solver_params import EjectionParams

log = logging.getLogger(__name__)


@njit(cache=True)
def _ejection_steps(  # type: ignore[no-untyped-def]
    routes,
    lengths,
    n_routes,
    pool,
    pool_size,
    penalty,
    steps,
    max_ejected,
    perturb_moves,
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
    """Up to ``steps`` insertions from the pool (LIFO); returns the pool size left, or -1 when stuck.

    The state (routes, lengths, pool, penalty) lives in the caller's arrays and is changed in place.
    """
    size = routes.shape[1]
    n_req = ride_limit.shape[0]
    prefix_time = np.empty(size + 2, np.int64)
    prefix_s = np.empty(size + 2, np.int64)
    prefix_c = np.empty(size + 2, np.int64)
    suffix_latest = np.empty(size + 2, np.int64)
    pick_time = np.zeros(n_req, np.int64)
    reduced = np.empty(size + 2, np.int64)
    best_seq = np.empty(size + 2, np.int64)
    members = np.empty(size, np.int64)
    for _ in range(steps):
        if pool_size == 0:
            return 0
        pool_size -= 1
        v = pool[pool_size]
        # 1. a feasible insertion anywhere (cheapest)
        best_r, best_i, best_j = cheapest_route(
            routes,
            lengths,
            v,
            True,
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
        if best_r >= 0:
            lengths[best_r] = insert_request(routes[best_r], lengths[best_r], v, best_i, best_j)
        else:
            # 2. insert anyway and eject up to max_ejected requests of that route, least penalty first
            penalty[v] += 1
            best_sum = np.int64(1) << 62
            best_added = np.int64(1) << 62
            best_r = -1
            best_len = 0
            e_a = -1
            e_b = -1
            e_c = -1
            for r in range(n_routes):
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
                                transit,
                                earliest,
                                latest,
                                seats,
                                chairs,
                                ride_limit,
                                capacity,
                                max_duration,
                                pick_time,
                            ):
                                continue
                            added, i, j = best_insertion(
                                reduced,
                                n_red,
                                v,
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
                pool[pool_size] = v
                return -1
            routes[best_r, :best_len] = best_seq[:best_len]
            lengths[best_r] = best_len
            for e in (e_a, e_b, e_c):
                if e >= 0:
                    pool[pool_size] = e
                    pool_size += 1
            # 3. shake the routes a little (random feasible relocations) so that the next ejections differ
            for _move in range(perturb_moves):
                r1 = np.random.randint(n_routes)  # noqa: NPY002 (numba has only the global RNG)
                r2 = np.random.randint(n_routes)  # noqa: NPY002 (numba has only the global RNG)
                if r1 == r2 or lengths[r1] == 0:
                    continue
                k = routes[r1, np.random.randint(lengths[r1])] // 2  # noqa: NPY002 (numba has only the global RNG)
                n_red = remove_requests(routes[r1], lengths[r1], reduced, k, -1, -1)
                if not route_feasible(
                    reduced,
                    n_red,
                    transit,
                    earliest,
                    latest,
                    seats,
                    chairs,
                    ride_limit,
                    capacity,
                    max_duration,
                    pick_time,
                ):
                    continue
                added, i, j = best_insertion(
                    routes[r2],
                    lengths[r2],
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
                if i < 0:
                    continue
                lengths[r2] = insert_request(routes[r2], lengths[r2], k, i, j)
                routes[r1, :n_red] = reduced[:n_red]
                lengths[r1] = n_red
    return pool_size


# ---------------------------------------------------------------------------------------------


def eliminate_routes_by_ejection(
    problem: Problem,
    plan: RoutePlan,
    budget: Budget,
    scale: int = 100,
    seed: int = 0,
    params: EjectionParams | None = None,
) -> RoutePlan | None:
    """Routes of ``plan`` with as few vehicles as the ejection pool reaches within ``budget`` (an
    iteration: ``params.steps_per_call`` insertions).

    Returns None when it could not take a single route away (or the problem does not suit it: a
    mixed fleet, requests tied to vehicles, unserved requests).
    """
    params = params or EjectionParams()
    compiled = compile_problem(problem, scale)
    if compiled is None or plan.unserved(problem) or len(plan.routes) < 2:
        return None
    c = compiled
    arrays = routes_as_arrays(problem, c, plan)
    if arrays is None:
        return None  # the start itself needs later starts than earliest-possible (ride times): leave it
    routes, lengths = arrays
    n_routes = len(lengths)
    seed_numba(seed)
    rng = np.random.default_rng(seed)
    meter = budget.start()
    best_routes: np.ndarray | None = None
    best_lengths: np.ndarray | None = None
    while n_routes > 1 and not meter.exhausted():
        # take away the route with fewest requests (ties at random)
        order = np.lexsort((rng.random(n_routes), lengths[:n_routes]))
        target = int(order[0])
        trial = np.delete(routes[:n_routes], target, axis=0).copy()
        trial_lengths = np.delete(lengths[:n_routes], target).copy()
        pool = np.zeros(len(problem.requests), dtype=np.int64)
        members = [int(x) // 2 for x in routes[target, : lengths[target]] if x % 2 == 0]
        rng.shuffle(members)
        pool[: len(members)] = members
        pool_size = len(members)
        penalty = np.ones(len(problem.requests), dtype=np.int64)
        while pool_size > 0 and not meter.exhausted():
            pool_size = _ejection_steps(
                trial,
                trial_lengths,
                n_routes - 1,
                pool,
                pool_size,
                penalty,
                params.steps_per_call,
                params.max_ejected,
                params.perturb_moves,
                c.transit,
                c.distance,
                c.earliest,
                c.latest,
                c.seats,
                c.chairs,
                c.ride_limit,
                c.capacity,
                c.max_duration,
            )
            meter.charge(1)
            if pool_size < 0:
                break
        if pool_size != 0:
            break
        n_routes -= 1
        log.debug("ejection pool: %d routes after %.1f s", n_routes, meter.seconds_used())
        routes, lengths = trial, trial_lengths
        best_routes, best_lengths = trial.copy(), trial_lengths.copy()
    if best_routes is None or best_lengths is None:
        return None
    return arrays_as_plan(problem, best_routes, best_lengths)
