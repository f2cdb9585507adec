"""Route exchange between two plans (dispatch.route_exchange) and the probes' children in the solver."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest
from budgets import work_budget
from test_route_min import one_route_each, random_problem

from dispatch.model import Problem
from dispatch.ortools_search import schedule
from dispatch.plan import PlannedRoute, RoutePlan, Visit
from dispatch.route_exchange import exchange_routes, exchanges_routes
from dispatch.stages import eject_routes, shorten_from_new_starts
from dispatch.validate import validate


def grouped(problem: Problem, groups: list[list[int]]) -> RoutePlan:
    """Each group of requests on one route, picked up in order and then dropped off in reverse."""
    routes = []
    for vehicle, group in zip(problem.vehicles, groups, strict=False):
        ids = [problem.requests[k].id for k in group]
        visits = tuple(Visit(i, False) for i in ids) + tuple(Visit(i, True) for i in reversed(ids))
        routes.append(PlannedRoute(vehicle.id, visits))
    return RoutePlan(tuple(routes))


@pytest.mark.parametrize("seed", range(20))
def test_a_child_takes_whole_donor_routes_and_serves_no_rider_twice(seed: int) -> None:
    """Twelve requests in four routes in each parent, grouped differently: the child visits each rider's
    pickup once and before the drop-off, holds some donor routes exactly as they are, keeps the rest of
    the receiver's routes in their order (riders the donor routes carry taken out), gives each route its
    own vehicle and never has more routes than the receiver."""
    problem = random_problem(seed, n_requests=12)
    rng = np.random.default_rng(seed)
    receiver = grouped(problem, [g.tolist() for g in np.array_split(rng.permutation(12), 4)])
    donor = grouped(problem, [g.tolist() for g in np.array_split(rng.permutation(12), 4)])
    child = exchange_routes(problem, receiver, donor, rng)
    seen: list[tuple[str, bool]] = [(v.request, v.dropoff) for route in child.routes for v in route.visits]
    assert len(seen) == len(set(seen))
    for route in child.routes:
        order = [(v.request, v.dropoff) for v in route.visits]
        for request, dropoff in order:
            if dropoff:
                assert order.index((request, False)) < order.index((request, True))
    donor_visits = {route.visits for route in donor.routes}
    taken = [route for route in child.routes if route.visits in donor_visits]
    assert 1 <= len(taken) <= 2
    arriving = {v.request for route in taken for v in route.visits}
    kept = {tuple(v for v in route.visits if v.request not in arriving) for route in receiver.routes} - {()}
    assert all(route.visits in kept for route in child.routes if route not in taken)
    assert len({route.vehicle for route in child.routes}) == len(child.routes) <= len(receiver.routes)


def test_route_exchange_only_where_routes_may_change_vehicle() -> None:
    """A fleet of alike vehicles without tied riders exchanges routes; one vehicle with other seats, or
    a rider tied to a vehicle, stops it (a route would change vehicle)."""
    problem = random_problem(0, n_requests=6)
    assert exchanges_routes(problem)
    bigger = dataclasses.replace(problem.vehicles[0], seats=problem.vehicles[0].seats + 2)
    assert not exchanges_routes(dataclasses.replace(problem, vehicles=(bigger, *problem.vehicles[1:])))
    tied = dataclasses.replace(problem.requests[0], vehicle=problem.vehicles[0].id)
    assert not exchanges_routes(dataclasses.replace(problem, requests=(tied, *problem.requests[1:])))


@pytest.mark.usefixtures("compiled_kernels")
@pytest.mark.parametrize("seed", range(3))
def test_probes_with_route_exchange_keep_every_rider_and_repeat(seed: int, caplog: pytest.LogCaptureFixture) -> None:
    """Vehicles first, probes and then their children by route exchange under a work budget: children
    are made, and the plan is never worse than the start, serves every rider, is valid by the
    independent validator and is the same for the same seed."""
    caplog.set_level(logging.DEBUG, logger="dispatch.stages")
    # thirty requests: on fourteen every probe ends at one plan, and a plan is not bred with itself
    problem = random_problem(seed, n_requests=30)
    first = one_route_each(problem)
    params = work_budget(400, seed=seed).with_changes(lns={"probes": 3, "exchanges": 4})
    start = eject_routes(problem, first, params.budget.share(0.3), params)
    plan = shorten_from_new_starts(problem, start, params.budget.share(0.6), params, first=first)
    again = shorten_from_new_starts(problem, start, params.budget.share(0.6), params, first=first)
    assert plan == again
    assert any("route exchange" in r.getMessage() for r in caplog.records)
    assert plan.rank(problem) <= start.rank(problem)
    assert not plan.unserved(problem)
    assert validate(problem, schedule(problem, plan)).ok


@pytest.mark.usefixtures("compiled_kernels")
def test_probes_that_all_end_at_one_plan_breed_no_children(caplog: pytest.LogCaptureFixture) -> None:
    """Fourteen requests: every probe ends at the same plan, and a plan bred with itself only gives itself
    back, so the exchanges' time goes to the last run instead."""
    caplog.set_level(logging.DEBUG, logger="dispatch.stages")
    problem = random_problem(0, n_requests=14)
    first = one_route_each(problem)
    params = work_budget(400, seed=0).with_changes(lns={"probes": 3, "exchanges": 4})
    start = eject_routes(problem, first, params.budget.share(0.3), params)
    plan = shorten_from_new_starts(problem, start, params.budget.share(0.6), params, first=first)
    probes = {r.getMessage().split(": ", 1)[1] for r in caplog.records if r.getMessage().startswith("probe ")}
    assert len(probes) == 1
    assert not any("route exchange" in r.getMessage() for r in caplog.records)
    assert plan.rank(problem) <= start.rank(problem) and not plan.unserved(problem)
    assert validate(problem, schedule(problem, plan)).ok
