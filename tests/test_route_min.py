"""The ejection pool (dispatch.route_min) against a brute-force smallest fleet, and on a Li & Lim instance."""

from __future__ import annotations

import itertools
import math
import time
from pathlib import Path

import numpy as np
import pytest
from budgets import work_budget

from dispatch.budget import Budget
from dispatch.model import DispatchError, Problem, Request, TimeWindow, Vehicle
from dispatch.ortools_search import schedule, search
from dispatch.pdp_arrays import arrays_as_plan, insertion_scratch, routes_as_arrays, seed_numba
from dispatch.plan import PlannedRoute, RoutePlan, Visit
from dispatch.readers import read_li_lim
from dispatch.route_min import (
    RESTART_SEED,
    _shake,
    compile_problem,
    eliminate_routes_by_ejection,
    fewest_routes,
    pool_runs,
    serve_left_out,
)
from dispatch.solver import EjectionParams, SolverParams, solve
from dispatch.validate import validate

# lc103's budgets: OR-Tools' start uses ten or more vehicles, the ejection pool reaches nine
LC103_START_ITERATIONS = 20
LC103_EJECTION_ITERATIONS = 50

# numba compiles before the clocks start: several tests give a search one second
pytestmark = pytest.mark.usefixtures("compiled_kernels")


def random_problem(seed: int, n_requests: int = 4, seats: int = 2) -> Problem:
    """Requests on a 100 x 100 plane with windows tight enough that the smallest fleet varies."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (2 * n_requests + 1, 2)).round(0)
    matrix = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)).round(1)
    requests = []
    for k in range(n_requests):
        p, d = 2 * k + 1, 2 * k + 2
        open_at = float(rng.uniform(matrix[0, p], 250))
        width = float(rng.uniform(15, 60))
        drop_open = open_at + matrix[p, d]
        requests.append(
            Request(
                str(k),
                p,
                d,
                pickup_window=TimeWindow(open_at, open_at + width),
                dropoff_window=TimeWindow(drop_open, drop_open + width + 40),
                pickup_service=5,
                dropoff_service=5,
            )
        )
    vehicles = tuple(Vehicle(str(v), 0, 0, seats, shift=TimeWindow(0, 600)) for v in range(n_requests))
    return Problem(f"random-{seed}", tuple(requests), vehicles, matrix, matrix.copy(), minimize_vehicles=True)


def fits_one_vehicle(problem: Problem, group: tuple[Request, ...]) -> bool:
    """Some order of the group's stops is feasible for one vehicle (every visit as early as possible)."""
    vehicle = problem.vehicles[0]
    stops = [(r, kind) for r in group for kind in ("pickup", "dropoff")]
    for order in itertools.permutations(stops):
        t, here, load, picked, ok = vehicle.shift.earliest, vehicle.start, 0, set(), True
        for r, kind in order:
            node, window, service = (
                (r.pickup, r.pickup_window, r.pickup_service)
                if kind == "pickup"
                else (r.dropoff, r.dropoff_window, r.dropoff_service)
            )
            if kind == "dropoff" and r.id not in picked:
                ok = False
                break
            t = max(t + problem.travel_time[here, node], window.earliest)
            load += r.seats if kind == "pickup" else -r.seats
            if t > window.latest + 1e-9 or load > vehicle.seats:
                ok = False
                break
            picked.add(r.id)
            t += service
            here = node
        if ok and t + problem.travel_time[here, vehicle.end] <= vehicle.shift.latest + 1e-9:
            return True
    return False


def smallest_fleet(problem: Problem) -> int:
    """Brute force over every partition of the requests into vehicle groups."""
    requests = list(problem.requests)
    fits: dict[frozenset[str], bool] = {}

    def partitions(items: list[Request]) -> list[list[list[Request]]]:
        if not items:
            return [[]]
        first, rest = items[0], items[1:]
        out = []
        for part in partitions(rest):
            out.append([[first], *part])
            for i in range(len(part)):
                out.append([*part[:i], [first, *part[i]], *part[i + 1 :]])
        return out

    best = math.inf
    for partition in partitions(requests):
        if len(partition) >= best:
            continue
        ok = True
        for group in partition:
            key = frozenset(r.id for r in group)
            if key not in fits:
                fits[key] = fits_one_vehicle(problem, tuple(group))
            ok = ok and fits[key]
        if ok:
            best = len(partition)
    return int(best)


def one_route_each(problem: Problem) -> RoutePlan:
    """One vehicle per request: the plan the ejection pool starts from."""
    return RoutePlan(
        tuple(
            PlannedRoute(vehicle.id, (Visit(r.id, False), Visit(r.id, True)))
            for vehicle, r in zip(problem.vehicles, problem.requests, strict=False)
        )
    )


@pytest.mark.parametrize("seed", range(8))
def test_ejection_pool_reaches_the_brute_force_fleet(seed: int) -> None:
    problem = random_problem(seed)
    expected = smallest_fleet(problem)
    assert expected <= len(problem.requests), "every request alone fits a vehicle in these instances"
    fewer = eliminate_routes_by_ejection(problem, one_route_each(problem), Budget(iterations=200), seed=seed)
    if expected == len(problem.requests):
        assert fewer is None  # nothing to take away
        return
    assert fewer is not None and len(fewer.routes) == expected
    # the routes are feasible: OR-Tools reads them as they are and the independent validator agrees
    scheduled = schedule(problem, fewer)
    assert not scheduled.unserved and scheduled.vehicles_used == expected
    report = validate(problem, scheduled)
    assert report.ok, report.violations


def test_solver_uses_the_smallest_fleet_on_random_instances() -> None:
    """Through solve(): the smallest fleet (vehicles first), checked by brute force and the validator."""
    for seed in range(3):
        problem = random_problem(100 + seed, n_requests=5)
        solution = solve(problem, work_budget(200))
        assert validate(problem, solution).ok and not solution.unserved
        assert solution.vehicles_used == smallest_fleet(problem)


@pytest.mark.parametrize("seed", range(3))
def test_a_retrying_pool_gives_up_a_fleet_too_small_and_returns_the_time(seed: int) -> None:
    """With retry_stuck the pool keeps trying a fleet one smaller than feasible; after ``patience`` of
    the budget without the pool shrinking it stops, with the brute-force fleet, long before the budget
    ends (the rest is for shortening routes)."""
    problem = random_problem(seed)
    params = EjectionParams(retry_stuck=True, patience=0.02)
    started = time.perf_counter()
    fewer = eliminate_routes_by_ejection(problem, one_route_each(problem), Budget(seconds=60), seed=seed, params=params)
    assert time.perf_counter() - started < 15
    expected = smallest_fleet(problem)
    assert (fewer is None and expected == len(problem.requests)) or len(fewer.routes) == expected


def _one_lonely_route() -> tuple[Problem, RoutePlan]:
    """Three routes on a line: A serves one rider far out late (no one else fits beside it), B and C
    three riders each near the depot; B's riders fit into C's route and C's into B's, A's into neither
    (not even with two riders moved out: no route empties)."""
    positions = np.array([0.0, 280, 285, 5, 8, 10, 13, 15, 18, 20, 23, 25, 28, 30, 33])  # depot, X, Y1..Y3, Z1..Z3
    matrix = np.abs(positions[:, None] - positions[None, :])
    lonely = Request("X", 1, 2, pickup_window=TimeWindow(290, 300), dropoff_window=TimeWindow(290, 320))
    near = [
        Request(name, 3 + 2 * k, 4 + 2 * k, pickup_window=TimeWindow(100, 200), dropoff_window=TimeWindow(100, 220))
        for k, name in enumerate(["Y1", "Y2", "Y3", "Z1", "Z2", "Z3"])
    ]
    vehicles = tuple(Vehicle(v, 0, 0, 2, shift=TimeWindow(0, 600)) for v in "ABC")
    problem = Problem("lonely", (lonely, *near), vehicles, matrix, matrix.copy(), minimize_vehicles=True)

    def route(vehicle: str, riders: list[str]) -> PlannedRoute:
        return PlannedRoute(vehicle, tuple(Visit(r, drop) for r in riders for drop in (False, True)))

    plan = RoutePlan((route("A", ["X"]), route("B", ["Y1", "Y2", "Y3"]), route("C", ["Z1", "Z2", "Z3"])))
    return problem, plan


def test_a_pool_with_more_targets_takes_away_a_route_that_is_not_the_smallest() -> None:
    """The smallest route (A) cannot go; a pool that gives a route up at the first rider that fits
    nowhere stops there with one target and leaves three routes; with two it goes on to B or C and ends
    with two, valid by the independent validator. (A retrying pool gets there in one attempt: its
    random relocations empty B or C for A's rider.)"""
    problem, plan = _one_lonely_route()
    assert validate(problem, schedule(problem, plan)).ok
    one = EjectionParams(patience=0.2)
    assert eliminate_routes_by_ejection(problem, plan, Budget(iterations=50), params=one) is None
    two = EjectionParams(patience=0.2, targets=2)
    fewer = eliminate_routes_by_ejection(problem, plan, Budget(iterations=50), params=two)
    assert fewer is not None and len(fewer.routes) == 2
    solution = schedule(problem, fewer)
    assert not solution.unserved and validate(problem, solution).ok


@pytest.mark.parametrize("seed", range(4))
def test_pool_restarts_keep_the_best_run_and_repeat(seed: int) -> None:
    """Four runs of the pool from one start: the plan kept is the best of the four runs made alone with
    their seeds and shares of the budget, it has the brute-force fleet, it is valid by the independent
    validator, and the same seed gives the same plan; one run is the pool alone."""
    problem = random_problem(seed, n_requests=5)
    start = one_route_each(problem)
    params = EjectionParams(restarts=4, steps_per_call=5)
    kept = fewest_routes(problem, start, Budget(iterations=40), seed=seed, params=params)
    assert kept is not None and kept == fewest_routes(problem, start, Budget(iterations=40), seed=seed, params=params)
    runs = [
        eliminate_routes_by_ejection(problem, start, Budget(iterations=10), seed=seed + RESTART_SEED * r, params=params)
        for r in range(4)
    ]
    assert kept.rank(problem) == min(run.rank(problem) for run in runs if run is not None)
    assert len(kept.routes) == smallest_fleet(problem)
    solution = schedule(problem, kept)
    assert not solution.unserved and validate(problem, solution).ok
    single = EjectionParams(steps_per_call=5, restarts=1)
    alone = eliminate_routes_by_ejection(problem, start, Budget(iterations=40), seed=seed, params=single)
    assert fewest_routes(problem, start, Budget(iterations=40), seed=seed, params=single) == alone


def test_mixed_fleets_compile_with_a_row_and_depot_per_kind_of_vehicle() -> None:
    problem = random_problem(0)
    mixed = tuple(Vehicle(v.id, v.start, v.end, v.seats + int(v.id == "0"), shift=v.shift) for v in problem.vehicles)
    compiled = compile_problem(Problem("mixed", problem.requests, mixed, problem.travel_time, problem.distance), 100)
    assert compiled is not None and not compiled.uniform
    assert compiled.capacity[:, 0].tolist() == [v.seats for v in mixed]
    # the larger vehicle is a class of its own, with its own depot nodes after the requests'
    k = 2 * len(problem.requests)
    assert sorted(set(compiled.start.tolist())) == [k, k + 2]
    same = compile_problem(problem, 100)
    assert same is not None and same.uniform and set(same.start.tolist()) == {k}
    with pytest.raises(DispatchError) as info:
        EjectionParams(
            max_ejected=4, perturb_moves=-1, perturb_exchanges=1.5, steps_per_call=0, patience=0, targets=0, restarts=0
        )
    for word in (
        "max_ejected",
        "perturb_moves",
        "perturb_exchanges",
        "steps_per_call",
        "patience",
        "targets",
        "restarts",
    ):
        assert word in str(info.value)


def test_ejection_pool_reaches_the_best_known_fleet_on_lc103(shared_data: Path) -> None:
    """lc103: OR-Tools' own moves stayed at 10 vehicles in every 60 s run; the best known uses 9."""
    problem = read_li_lim(shared_data / "dispatch" / "lilim" / "lc103.txt")
    start = search(problem, SolverParams(), Budget(iterations=LC103_START_ITERATIONS))
    assert start.vehicles_used >= 10
    fewer = eliminate_routes_by_ejection(problem, RoutePlan.of(start), Budget(iterations=LC103_EJECTION_ITERATIONS))
    assert fewer is not None and len(fewer.routes) == 9
    scheduled = schedule(problem, fewer)
    assert scheduled.vehicles_used == 9 and not scheduled.unserved
    assert validate(problem, scheduled).ok


@pytest.mark.parametrize("seed", range(3))
def test_pool_runs_come_best_first_and_each_serves_everyone(seed: int) -> None:
    """Every run of the pool that took a route away is handed back (for the LNS's probes to start from),
    best first; the first is the plan ``fewest_routes`` keeps, and every one is valid and serves all."""
    problem = random_problem(seed, n_requests=6)
    start = one_route_each(problem)
    params = EjectionParams(restarts=4, steps_per_call=5)
    runs = pool_runs(problem, start, Budget(iterations=40), seed=seed, params=params)
    assert 1 <= len(runs) <= 4
    assert [run.rank(problem) for run in runs] == sorted(run.rank(problem) for run in runs)
    assert runs[0] == fewest_routes(problem, start, Budget(iterations=40), seed=seed, params=params)
    for run in runs:
        solution = schedule(problem, run)
        assert not solution.unserved and validate(problem, solution).ok


def test_placing_riders_on_long_routes_keeps_to_a_time_budget() -> None:
    # one vehicle whose shift holds about half of 400 riders: a route of hundreds of stops, where one
    # insertion with ejections takes a noticeable time; the clock is read between kernel calls, so
    # calls must shrink (a fixed 50 insertions per call overran a 0.5 s budget six times over)
    rng = np.random.default_rng(0)
    n = 400
    xs = np.concatenate([[0.0], rng.uniform(0, 100, 2 * n)])
    matrix = np.abs(xs[:, None] - xs[None, :])
    wide = TimeWindow(0, 30000)
    riders = tuple(Request(f"r{k}", 1 + 2 * k, 2 + 2 * k, pickup_window=wide, dropoff_window=wide) for k in range(n))
    problem = Problem("long", riders, (Vehicle("v", 0, 0, 4, shift=TimeWindow(0, 6000)),), matrix, matrix.copy())
    from dispatch.construct import insertion_plan

    plan = insertion_plan(problem, 100)
    assert plan is not None and plan.unserved(problem)
    began = time.perf_counter()
    more = serve_left_out(problem, plan, Budget(seconds=0.5))
    assert time.perf_counter() - began < 2.0
    assert more is not None and len(more.served()) > len(plan.served())
    assert validate(problem, schedule(problem, more)).ok


def _route_members(routes: np.ndarray, lengths: np.ndarray) -> list[set[int]]:
    return [{int(x) // 2 for x in routes[r, : lengths[r]]} for r in range(len(lengths))]


@pytest.mark.parametrize("seed", [0, 1])  # instances whose windows leave room for trades (seed 2's do not)
def test_pool_exchanges_trade_requests_between_routes_and_keep_every_route_feasible(seed: int) -> None:
    """The pool's shake with exchanges only: requests trade routes (each route keeps its number of
    requests), every request stays served once, and the independent validator accepts the routes."""
    problem = random_problem(seed, n_requests=12, seats=3)
    start = eliminate_routes_by_ejection(problem, one_route_each(problem), Budget(iterations=200), seed=seed)
    assert start is not None
    c = compile_problem(problem, 100)
    assert c is not None
    arrays = routes_as_arrays(problem, c, start)
    assert arrays is not None
    routes, lengths = arrays
    before = _route_members(routes, lengths)
    rows = np.flatnonzero(lengths > 0)
    width = routes.shape[1] + 2
    work = [np.empty(width, np.int64) for _ in range(6)]
    seed_numba(seed)
    _shake(
        routes, lengths, rows, len(rows), 300, 1.0, c.start, c.tied, *c.kernel_tables, work[0], work[1],
        insertion_scratch(routes.shape[1], c.ride_limit, len(lengths)), *work[2:],
    )  # fmt: skip
    after = _route_members(routes, lengths)
    assert [len(m) for m in after] == [len(m) for m in before]
    assert after != before
    assert sorted(k for m in after for k in m) == list(range(len(problem.requests)))
    scheduled = schedule(problem, arrays_as_plan(problem, c, routes, lengths))
    assert not scheduled.unserved
    report = validate(problem, scheduled)
    assert report.ok, report.violations
