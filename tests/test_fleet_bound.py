"""The fewest-routes bound (dispatch.fleet_bound) against a brute-force smallest fleet, and the ejection
pool stopping at it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_route_min import one_route_each, random_problem, smallest_fleet

from dispatch.budget import Budget
from dispatch.fleet_bound import fewest_routes_bound
from dispatch.model import Problem, Request, TimeWindow, Vehicle
from dispatch.pdp_arrays import compile_problem
from dispatch.route_min import eliminate_routes_by_ejection, pool_runs
from dispatch.solver import EjectionParams

pytestmark = pytest.mark.usefixtures("compiled_kernels")


def bound(problem: Problem) -> int:
    compiled = compile_problem(problem, 100)
    assert compiled is not None
    return fewest_routes_bound(compiled, len(problem.vehicles))


@pytest.mark.parametrize("n_requests", [3, 4])
def test_bound_never_exceeds_the_brute_force_fleet_and_often_meets_it(n_requests: int) -> None:
    pairs = [(bound(p), smallest_fleet(p)) for p in (random_problem(seed, n_requests) for seed in range(16))]
    assert all(b <= fleet for b, fleet in pairs), pairs
    # not the trivial bound: on these tight windows it proves the smallest fleet of more than one vehicle
    assert sum(b == fleet > 1 for b, fleet in pairs) >= 2, pairs


def line_problem(opens: list[float], width: float = 5.0, service: float = 0.0, shift_end: float = 1000.0) -> Problem:
    """Requests from 1 to 2 on a line (depot at 0, 10 minutes apart), pickups open at ``opens`` for ``width``."""
    matrix = np.abs(np.arange(3.0)[:, None] - np.arange(3.0)[None, :]) * 10
    requests = tuple(
        Request(
            str(k),
            1,
            2,
            pickup_window=TimeWindow(t, t + width),
            dropoff_window=TimeWindow(t, t + width + 30),
            pickup_service=service,
            dropoff_service=service,
        )
        for k, t in enumerate(opens)
    )
    fleet = tuple(Vehicle(str(v), 0, 0, 4, shift=TimeWindow(0, shift_end)) for v in range(len(opens)))
    return Problem("line", requests, fleet, matrix, matrix.copy(), minimize_vehicles=True)


def test_riders_at_the_same_time_in_one_seat_each_need_their_own_vehicle() -> None:
    # three pickups at once, the vehicle has room for all: one route; with one seat: three
    together = line_problem([50.0, 50.0, 50.0])
    assert bound(together) == 1
    one_seat = dataclasses.replace(together, vehicles=tuple(dataclasses.replace(v, seats=1) for v in together.vehicles))
    assert bound(one_seat) == smallest_fleet(one_seat) == 3


def test_working_time_bounds_the_fleet() -> None:
    # four riders at any time of the day, 30 minutes' service at both ends: a 200-minute shift holds
    # at most two of them (the windows bar no arc here; the working time alone proves two routes)
    problem = line_problem([0.0] * 4, width=1000.0, service=30.0, shift_end=200.0)
    assert bound(problem) == smallest_fleet(problem) == 2
    longer = line_problem([0.0] * 4, width=1000.0, service=30.0, shift_end=300.0)
    assert bound(longer) == smallest_fleet(longer) == 1


def test_mixed_fleets_are_not_bounded() -> None:
    problem = line_problem([50.0, 50.0, 50.0])
    mixed = dataclasses.replace(
        problem, vehicles=tuple(dataclasses.replace(v, seats=1 + k) for k, v in enumerate(problem.vehicles))
    )
    assert bound(mixed) == 1


def test_pool_stops_at_the_bound() -> None:
    problem = random_problem(2, 4)  # the bound proves the brute-force fleet: three
    assert bound(problem) == smallest_fleet(problem) == 3
    params = EjectionParams(restarts=4)
    runs = pool_runs(problem, one_route_each(problem), Budget(iterations=40), seed=0, params=params)
    # the first run reaches three routes; the three runs after it could not do better and are not run
    assert [len(run.routes) for run in runs] == [3]
    # from a plan at the bound the pool does not try at all
    assert eliminate_routes_by_ejection(problem, runs[0], Budget(iterations=40), params=params) is None
