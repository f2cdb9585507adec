"""Children of two route plans by selective route exchange (SREX, Nagata & Kobayashi 2010).

On long routes the LNS settles in the basin its start lies in; probes from several ejection-pool
starts end in different basins, each with some routes better than the others'. A child takes one
plan (the receiver), swaps a few of its routes for the routes of the other plan (the donor) that
share the most requests with them, and takes the donor routes' requests out of the receiver's other
routes; requests that were only on the swapped-out routes are left out, for the LNS's bank to put
back. The child is a start no ruin of at most thirty requests reaches from either parent.

Only where every vehicle is alike and no request is tied to one, so that routes can change vehicle.
Taking visits out of a route keeps it on time where travel times obey the triangle inequality (Li &
Lim's do); the LNS refuses a start whose routes have no schedule.
"""

from __future__ import annotations

import numpy as np

from dispatch.model import Problem
from dispatch.plan import PlannedRoute, RoutePlan


def exchanges_routes(problem: Problem) -> bool:
    """Whether routes of ``problem`` may change vehicle: vehicles all of one kind, no request tied to one."""
    one_kind = len({v.kind() for v in problem.vehicles}) == 1
    return one_kind and all(r.vehicle is None for r in problem.requests)


def exchange_routes(problem: Problem, receiver: RoutePlan, donor: RoutePlan, rng: np.random.Generator) -> RoutePlan:
    """``receiver`` with one to half of its routes (at random) replaced by as many routes of ``donor``,
    those sharing the most requests with them; the donor routes' requests are taken out of the
    receiver's other routes, and requests on no route are left unserved.

    ``problem`` must pass ``exchanges_routes``; routes are given the fleet's vehicles in order.
    """
    if not receiver.routes or not donor.routes:
        return receiver
    most = max(1, min(len(receiver.routes), len(donor.routes)) // 2)
    swapped = int(rng.integers(1, most + 1))
    out = {int(k) for k in rng.choice(len(receiver.routes), size=swapped, replace=False)}
    leaving = {v.request for k in out for v in receiver.routes[k].visits}

    def overlap(route: PlannedRoute) -> tuple[int, float]:
        shared = sum(1 for v in route.visits if not v.dropoff and v.request in leaving)
        return shared, float(rng.random())

    coming = sorted(donor.routes, key=overlap, reverse=True)[:swapped]
    arriving = {v.request for route in coming for v in route.visits}
    kept = [
        tuple(v for v in route.visits if v.request not in arriving)
        for k, route in enumerate(receiver.routes)
        if k not in out
    ]
    visits = [v for v in kept if v] + [route.visits for route in coming]
    return RoutePlan(tuple(PlannedRoute(problem.vehicles[i].id, vs) for i, vs in enumerate(visits)))
