"""The fewest routes any feasible plan can have: a lower bound by an assignment relaxation.

Where vehicles count first, the ejection pool tries to take one more route away until its budget
ends; at a fleet that cannot be smaller that time is lost to the distance search. A plan with m
routes gives every stop one successor (a stop, or the end of its route) and every route start one
first stop; the time of each route is at least the sum of the service-plus-travel times on its arcs
and at most the vehicles' working time. Dropping everything else (loads, ride limits, route
connectivity, waiting) leaves an assignment problem: the least total arc time over all ways to give
every stop and every route start one successor. When it exceeds m times the working time, no plan
with m routes exists. Arcs no schedule can use (the next stop's window closes before the vehicle
can arrive even leaving at the earliest) are left out, which is what makes the bound bite on
instances with time windows.

The relaxation only grows easier with more routes (one more route start may idle at no cost), so
the least m it admits is found by bisection. Only fleets of alike vehicles without tied riders are
bounded (one working time, one depot); for others the bound is one route.
"""

from __future__ import annotations

import numpy as np

from dispatch.pdp_arrays import CompiledFleetProblem

# above this many stops the assignment's cubic time is more than the pool time it could save
MAX_BOUNDED_STOPS = 1200
_NO_ARC = 1e15  # an arc the relaxation may not use (finite: the solver needs a full assignment)


def fewest_routes_bound(compiled: CompiledFleetProblem, routes: int) -> int:
    """The least number of routes, at most ``routes`` (a feasible plan's), that the relaxation of the
    module docstring admits; 1 where it does not apply (mixed fleets, tied riders, too many stops)."""
    stops = 2 * len(compiled.ride_limit)
    if routes <= 1 or not compiled.uniform or stops > MAX_BOUNDED_STOPS:
        return 1
    arcs, start_arcs, end_arcs, working_time = _relaxation_tables(compiled)
    low, high = 1, routes  # admitted at high (the plan itself), unknown below
    while low < high:
        middle = (low + high) // 2
        if _admits(arcs, start_arcs, end_arcs, working_time, middle):
            high = middle
        else:
            low = middle + 1
    return low


def _relaxation_tables(c: CompiledFleetProblem) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Stop-to-stop arc times, depot-to-stop and stop-to-depot times (arcs no feasible route uses
    barred), and a vehicle's working time."""
    stops = 2 * len(c.ride_limit)
    start, end = int(c.start[0]), int(c.start[0]) + 1
    transit = c.transit
    arcs = transit[:stops, :stops].astype(np.float64)
    arcs[c.earliest[:stops, None] + transit[:stops, :stops] > c.latest[None, :stops]] = _NO_ARC
    np.fill_diagonal(arcs, _NO_ARC)
    pickups = np.arange(0, stops, 2)
    arcs[pickups + 1, pickups] = _NO_ARC  # a rider's drop-off before their pickup
    over = (c.seats[pickups, None] + c.seats[None, pickups] > c.capacity[0, 0]) | (
        c.chairs[pickups, None] + c.chairs[None, pickups] > c.capacity[0, 1]
    )
    first, second = np.nonzero(over)  # two riders that do not fit on board together
    arcs[pickups[first], pickups[second]] = _NO_ARC
    start_arcs = transit[start, :stops].astype(np.float64)
    start_arcs[c.earliest[start] + transit[start, :stops] > c.latest[:stops]] = _NO_ARC
    start_arcs[pickups + 1] = _NO_ARC  # a route cannot begin with a drop-off
    end_arcs = transit[:stops, end].astype(np.float64)
    end_arcs[c.earliest[:stops] + transit[:stops, end] > c.latest[end]] = _NO_ARC
    end_arcs[pickups] = _NO_ARC  # nor end with a pickup
    working_time = float(min(c.latest[end] - c.earliest[start], c.max_duration[0]))
    return arcs, start_arcs, end_arcs, working_time


def _admits(arcs: np.ndarray, start_arcs: np.ndarray, end_arcs: np.ndarray, working_time: float, routes: int) -> bool:
    """Whether some assignment of successors with ``routes`` route starts fits in their working time."""
    from scipy.optimize import linear_sum_assignment

    stops = len(start_arcs)
    size = stops + routes
    cost = np.full((size, size), _NO_ARC)
    cost[:stops, :stops] = arcs
    cost[:stops, stops:] = end_arcs[:, None]  # a stop followed by the end of some route
    cost[stops:, :stops] = start_arcs[None, :]  # a route start followed by its first stop
    cost[np.arange(stops, size), np.arange(stops, size)] = 0.0  # a route left unused
    rows, columns = linear_sum_assignment(cost)
    total = float(cost[rows, columns].sum())
    return total <= routes * working_time
