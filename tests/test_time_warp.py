"""Time warp (dispatch.time_warp) against plain forward passes and exhaustive search, and the LNS that
passes through late plans (``LnsParams.time_warp``)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_dispatch import line_problem

from dispatch.budget import Budget
from dispatch.lns import _warp_applies, shorten_routes, start_temperature
from dispatch.ortools_search import schedule
from dispatch.pdp_arrays import (
    BIG,
    compile_problem,
    insert_request,
    insertion_scratch,
    route_feasible,
    routes_as_arrays,
)
from dispatch.plan import PlannedRoute, RoutePlan, Visit
from dispatch.solver import LnsParams
from dispatch.stages import relatedness
from dispatch.time_warp import route_warp, warp_insertion
from dispatch.validate import validate

pytestmark = pytest.mark.usefixtures("compiled_kernels")


def grid_tables(rng: np.random.Generator, n_req: int, service: int = 5) -> tuple[np.ndarray, ...]:
    """Requests 0..n_req-1 (nodes 2k, 2k + 1) and one depot (nodes 2 n_req, 2 n_req + 1) on an integer
    grid, Manhattan distances (the triangle inequality holds exactly), windows that often bind."""
    m = 2 * n_req + 2
    xy = rng.integers(0, 60, (m, 2))
    xy[m - 1] = xy[m - 2]
    distance = np.abs(xy[:, None, :] - xy[None, :, :]).sum(-1).astype(np.int64)
    transit = distance + service
    transit[m - 2 :, :] = distance[m - 2 :, :]  # no service at the depot
    earliest = rng.integers(0, 100, m).astype(np.int64)
    latest = earliest + rng.integers(30, 300, m)
    earliest[m - 2], latest[m - 2] = 0, 0
    earliest[m - 1], latest[m - 1] = 0, 10_000
    return transit, distance, earliest, latest


def forward_lateness(seq: list[int], start: int, transit: np.ndarray, earliest, latest) -> int:  # type: ignore[no-untyped-def]
    """Leave the depot at its opening, wait where early, and where late go back to the window's end,
    adding what was gone back."""
    t, node, warp = int(earliest[start]), start, 0
    for x in [*seq, start + 1]:
        t = max(t + int(transit[node, x]), int(earliest[x]))
        if t > latest[x]:
            warp += t - int(latest[x])
            t = int(latest[x])
        node = x
    return warp


def random_route(rng: np.random.Generator, requests: list[int]) -> list[int]:
    """The requests' pickups and drop-offs in a random order with each pickup before its drop-off."""
    seq: list[int] = []
    for k in requests:
        i = int(rng.integers(0, len(seq) + 1))
        j = int(rng.integers(i, len(seq) + 1))
        seq = [*seq[:i], 2 * k, *seq[i:j], 2 * k + 1, *seq[j:]]
    return seq


def test_route_warp_is_the_lateness_of_a_forward_pass_and_zero_only_when_on_time() -> None:
    n_req = 5
    seats = np.tile(np.array([1, -1], np.int64), n_req)
    chairs = np.zeros(2 * n_req, np.int64)
    ride = np.full(n_req, BIG, np.int64)
    start = 2 * n_req
    on_time = 0
    for seed in range(400):
        rng = np.random.default_rng(seed)
        transit, _, earliest, latest = grid_tables(rng, n_req)
        seq = random_route(rng, list(rng.permutation(n_req)[: int(rng.integers(1, n_req + 1))]))
        arr = np.array([*seq, 0, 0], np.int64)
        warp = route_warp(arr, len(seq), start, transit, earliest, latest)
        assert warp == forward_lateness(seq, start, transit, earliest, latest)
        feasible = route_feasible(
            arr, len(seq), start, transit, earliest, latest, seats, chairs, ride, np.array([9, 9]), BIG,
            insertion_scratch(2 * n_req, ride, 1),
        )  # fmt: skip
        assert (warp == 0) == feasible
        on_time += feasible
    assert 40 < on_time < 360  # both kinds of route were tried


@pytest.mark.parametrize("seed", range(20))
def test_warp_insertion_is_the_cheapest_of_every_place(seed: int) -> None:
    """A request put into a random route (some late already): the place and cost ``warp_insertion``
    returns are the least added distance plus penalty times added time warp over every (i, j), each
    place's route rebuilt and its warp computed from scratch; seats limit the places."""
    rng = np.random.default_rng(seed)
    n_req = 6
    transit, distance, earliest, latest = grid_tables(rng, n_req)
    start = 2 * n_req
    seats = np.tile(np.array([1, -1], np.int64), n_req)
    chairs = np.zeros(2 * n_req, np.int64)
    capacity = np.array([int(rng.integers(1, 4)), 0], np.int64)
    penalty = float(rng.choice([0.1, 1.0, 7.0]))
    seq = random_route(rng, list(range(n_req - 1)))
    n = len(seq)
    arr = np.array([*seq, 0, 0], np.int64)
    before = route_warp(arr, n, start, transit, earliest, latest)
    loads = np.cumsum(seats[np.array(seq)])
    if loads.max() > capacity[0]:
        capacity[0] = int(loads.max())  # the route itself fits its vehicle
    k = n_req - 1
    expected, places = np.inf, set()
    for i in range(n + 1):
        for j in range(i, n + 1):
            cand = arr.copy()
            m = insert_request(cand, n, k, i, j)
            if np.cumsum(seats[cand[:m]]).max() > capacity[0]:
                continue
            path = [start, *cand[:m].tolist(), start + 1]
            added = sum(int(distance[a, b]) for a, b in itertools.pairwise(path))
            added -= sum(int(distance[a, b]) for a, b in itertools.pairwise([start, *seq, start + 1]))
            cost = added + penalty * (route_warp(cand, m, start, transit, earliest, latest) - before)
            if cost < expected - 1e-9:
                expected, places = cost, {(i, j)}
            elif abs(cost - expected) <= 1e-9:
                places.add((i, j))
    work = [np.empty((4, n + 2), np.int64), np.empty((4, n + 2), np.int64)]
    prefix = [np.empty(n + 1, np.int64), np.empty(n + 1, np.int64)]
    cost, i, j = warp_insertion(
        arr, n, k, start, transit, distance, earliest, latest, seats, chairs, capacity, penalty, before, *work,
        *prefix, 0.0, np.inf,
    )  # fmt: skip
    assert cost == pytest.approx(expected) and (i, j) in places
    # a bound at or below the cheapest place: no place is returned
    _, i, _ = warp_insertion(
        arr, n, k, start, transit, distance, earliest, latest, seats, chairs, capacity, penalty, before, *work,
        *prefix, 0.0, expected,
    )  # fmt: skip
    assert i == -1


def brute_force_with_windows(problem) -> float:  # type: ignore[no-untyped-def]
    """Shortest tour of the single vehicle over every order of the stops that meets the windows
    (waiting where early) and the seats."""
    owner = {n: r for r in problem.requests for n in (r.pickup, r.dropoff)}
    vehicle = problem.vehicles[0]
    best = float("inf")
    for order in itertools.permutations(owner):
        t, here, load, picked, dist, ok = 0.0, 0, 0, set(), 0.0, True
        for node in order:
            r = owner[node]
            window = r.pickup_window if node == r.pickup else r.dropoff_window
            t = max(t + problem.travel_time[here, node], window.earliest)
            dist += problem.distance[here, node]
            here = node
            if node == r.pickup:
                picked.add(r.id)
                load += r.seats
            elif r.id not in picked:
                ok = False
            else:
                load -= r.seats
            if not ok or t > window.latest + 1e-9 or load > vehicle.seats:
                ok = False
                break
        if ok:
            best = min(best, dist + problem.distance[here, 0])
    return best


@pytest.mark.parametrize("warp_share", [1.0, 0.5])
@pytest.mark.parametrize("seed", range(10))
def test_lns_through_late_plans_reaches_the_brute_force_tour(seed: int, warp_share: float) -> None:
    """One vehicle, three requests on a line, windows around a random planted tour: from that tour,
    the LNS with time warp (all the budget, or half and then on time only) ends at the shortest tour
    meeting every window, valid and on time."""
    rng = np.random.default_rng(seed)
    positions = [0.0, *rng.uniform(-50, 50, 6).round(0)]
    order = random_route(rng, [0, 1, 2])  # request k: nodes 2k + 1, 2k + 2 of the line
    t, here, windows = 0.0, 0, {}
    for x in order:
        node = x + 1
        t += abs(positions[node] - positions[here])
        slack = float(rng.uniform(5, 40))
        windows[node] = (max(t - slack, 0.0), t + slack)
        here = node
    problem = line_problem(positions, [(1, 2), (3, 4), (5, 6)], seats=3, windows=windows)
    start = RoutePlan((PlannedRoute(problem.vehicles[0].id, tuple(Visit(str(x // 2), x % 2 == 1) for x in order)),))
    assert validate(problem, schedule(problem, start)).ok
    expected = brute_force_with_windows(problem)
    params = LnsParams(time_warp=True, warp_min_requests_per_route=0, warp_share=warp_share)
    shorter = shorten_routes(problem, start, Budget(iterations=20), relatedness(problem), seed=seed, params=params)
    again = shorten_routes(problem, start, Budget(iterations=20), relatedness(problem), seed=seed, params=params)
    assert shorter is not None and shorter == again
    solution = schedule(problem, shorter)
    assert not solution.unserved and validate(problem, solution).ok
    assert solution.distance == pytest.approx(expected, abs=0.05)


def test_short_routes_get_the_search_without_time_warp() -> None:
    """Time warp costs distance where routes are short: below ``warp_min_requests_per_route`` requests
    a route (or with ``warp_share`` 0) the LNS asked for time warp runs exactly as without it (same plan
    for the same seed)."""
    rng = np.random.default_rng(3)
    positions = [0.0, *rng.uniform(-50, 50, 6).round(0)]
    windows = {node: (0.0, 400.0) for node in range(1, 7)}
    problem = line_problem(positions, [(1, 2), (3, 4), (5, 6)], seats=3, windows=windows)
    start = RoutePlan(
        (PlannedRoute(problem.vehicles[0].id, tuple(Visit(r.id, d) for r in problem.requests for d in (False, True))),)
    )
    related = relatedness(problem)
    runs = {
        name: shorten_routes(problem, start, Budget(iterations=3), related, seed=1, params=params)
        for name, params in {
            "plain": LnsParams(),
            "short": LnsParams(time_warp=True),  # 3 requests a route, under the default 15
            "warped": LnsParams(time_warp=True, warp_min_requests_per_route=3),
            # routes this long start hotter: as hot as the plain search, so only the warp share differs
            "none of the time": LnsParams(
                time_warp=True,
                warp_min_requests_per_route=3,
                warp_share=0.0,
                long_route_start_temperature=LnsParams().start_temperature,
            ),
        }.items()
    }
    assert runs["short"] == runs["plain"]
    assert runs["none of the time"] == runs["plain"]
    # the case is one where time warp is asked for and applies (the windows here never bind, so both
    # searches may well end at the same plan)
    compiled = compile_problem(problem, 100)
    assert compiled is not None
    arrays = routes_as_arrays(problem, compiled, start)
    assert arrays is not None
    assert _warp_applies(compiled, arrays[1], LnsParams(time_warp=True, warp_min_requests_per_route=3))
    assert not _warp_applies(compiled, arrays[1], LnsParams(time_warp=True))
    assert runs["warped"] is not None and validate(problem, schedule(problem, runs["warped"])).ok


def test_long_routes_start_the_annealing_hotter() -> None:
    """Routes of ``warp_min_requests_per_route`` requests or more on average start at
    ``long_route_start_temperature``; shorter ones at ``start_temperature``; empty routes do not count."""
    params = LnsParams(start_temperature=1.5, long_route_start_temperature=7.0, warp_min_requests_per_route=4)
    assert start_temperature(np.array([8, 8, 0]), params) == 7.0  # 4 requests a route in use
    assert start_temperature(np.array([8, 6, 0]), params) == 1.5  # 3.5
    assert start_temperature(np.array([0, 0]), params) == 1.5
