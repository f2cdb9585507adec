"""A first plan by cheapest insertion in time order, on the flat arrays of ``dispatch.pdp_arrays``.

OR-Tools' construction heuristics build a first solution for every request at once; on batches
of a thousand real requests they run out of time and leave most riders unplanned. Inserting the
requests one by one, in order of their earliest pickup, each at its cheapest feasible place in any
vehicle's route (an empty vehicle included), is what the online service does all day; here it runs
in numba on the solver's own scaled integers, so every route it returns is one OR-Tools accepts.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

from dispatch.model import Problem
from dispatch.pdp_arrays import arrays_as_plan, cheapest_route, compile_problem, insert_request, insertion_scratch
from dispatch.plan import RoutePlan


@njit(cache=True)
def _insert_in_order(  # type: ignore[no-untyped-def]
    order,
    routes,
    lengths,
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
    """Each request of ``order`` at its cheapest feasible place in ``routes`` (changed in place)."""
    n_routes = start.shape[0]
    size = routes.shape[1]
    usable = np.ones(n_routes, np.bool_)
    prefix_time = np.empty(size + 2, np.int64)
    prefix_s = np.empty(size + 2, np.int64)
    prefix_c = np.empty(size + 2, np.int64)
    suffix_latest = np.empty(size + 2, np.int64)
    scratch = insertion_scratch(size, ride_limit, n_routes)
    for x in range(order.shape[0]):
        k = order[x]
        best_r, best_i, best_j = cheapest_route(
            routes,
            lengths,
            k,
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
            lengths[best_r] = insert_request(routes[best_r], lengths[best_r], k, best_i, best_j)


# requests inserted between two looks at the clock: a few milliseconds on short routes, under a
# second on routes of hundreds of stops
CHUNK = 64


def insertion_plan(problem: Problem, scale: int, seconds: float | None = None) -> RoutePlan | None:
    """Routes from cheapest insertion in order of earliest pickup (the requests that fit nowhere left
    unserved); None where there is no request.

    With ``seconds``, the insertion stops once they have passed (the requests not reached yet left
    unserved, for the solver's next stages); without, every request is tried, so the plan depends on
    the input alone.
    """
    started = time.perf_counter()
    compiled = compile_problem(problem, scale)
    if compiled is None:
        return None
    c = compiled
    order = np.argsort(
        np.array([r.pickup_window.earliest for r in problem.requests]) + 1e-9 * np.arange(len(problem.requests)),
        kind="stable",
    ).astype(np.int64)
    routes = np.zeros((c.start.shape[0], 2 * len(problem.requests) + 2), np.int64)
    lengths = np.zeros(c.start.shape[0], np.int64)
    for first in range(0, order.shape[0], CHUNK):
        if seconds is not None and first > 0 and time.perf_counter() - started > seconds:
            break
        _insert_in_order(
            order[first : first + CHUNK], routes, lengths, c.start, c.vehicle_class, c.tied, *c.kernel_tables
        )
    return arrays_as_plan(problem, c, routes, lengths)
