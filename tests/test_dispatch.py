"""Dispatch core: tiny instances solvable by hand or by brute force, the validator, readers, determinism."""

from __future__ import annotations

import dataclasses
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from budgets import work_budget

from dispatch.bench import solution_json
from dispatch.budget import Budget
from dispatch.model import DispatchError, Problem, Request, Route, Solution, TimeWindow, Unserved, Vehicle
from dispatch.ortools_search import schedule
from dispatch.plan import RoutePlan
from dispatch.readers import read_cordeau, read_li_lim
from dispatch.solver import LnsParams, OrtoolsParams, SolverParams, StageShares, solve
from dispatch.validate import validate

# numba compiles before the clocks start: several tests give a search one second
pytestmark = pytest.mark.usefixtures("compiled_kernels")

FAST = work_budget(100)  # tiny instances: a work budget, the same answer on any machine


def line_problem(
    positions: list[float],
    requests: list[tuple[int, int]],
    *,
    max_ride: float | None = None,
    seats: int = 3,
    windows: dict[int, tuple[float, float]] | None = None,
    route_limit: float | None = None,
) -> Problem:
    """Nodes on a line at ``positions`` (node 0 the depot); travel time = distance = |a - b|."""
    xs = np.array(positions, dtype=float)
    matrix = np.abs(xs[:, None] - xs[None, :])
    windows = windows or {}
    reqs = tuple(
        Request(
            str(i),
            p,
            d,
            max_ride_time=max_ride,
            pickup_window=TimeWindow(*windows.get(p, (0.0, 1000.0))),
            dropoff_window=TimeWindow(*windows.get(d, (0.0, 1000.0))),
        )
        for i, (p, d) in enumerate(requests)
    )
    vehicle = Vehicle("0", 0, 0, seats, shift=TimeWindow(0, 1000), max_route_duration=route_limit)
    return Problem("line", reqs, (vehicle,), matrix, matrix.copy())


def test_single_request_by_hand() -> None:
    problem = line_problem([0, 10, 30], [(1, 2)], windows={1: (20, 25)})
    solution = solve(problem, FAST)
    assert validate(problem, solution).ok
    assert solution.distance == pytest.approx(60)  # 0 -> 10 -> 30 -> 0
    stops = solution.routes[0].stops
    assert [s.kind for s in stops] == ["start", "pickup", "dropoff", "end"]
    # inside its window; the vehicle leaves the depot as late as it can, so it does not idle there
    assert 20 - 1e-6 <= stops[1].start_service <= 25 + 1e-6
    assert stops[1].arrival == pytest.approx(stops[1].start_service)
    assert stops[2].start_service == pytest.approx(stops[1].start_service + 20)


def brute_force_single_vehicle(problem: Problem) -> float:
    """Shortest feasible single-vehicle tour (no windows bind, so the schedule follows the order)."""
    nodes = [n for r in problem.requests for n in (r.pickup, r.dropoff)]
    owner = {n: r for r in problem.requests for n in (r.pickup, r.dropoff)}
    vehicle = problem.vehicles[0]
    best = float("inf")
    for order in itertools.permutations(nodes):
        t, pos, load, picked, ok = 0.0, 0, 0, {}, True
        dist = 0.0
        for n in order:
            r = owner[n]
            t += problem.travel_time[pos, n]
            dist += problem.distance[pos, n]
            pos = n
            if n == r.pickup:
                picked[r.id] = t
                load += r.seats
            else:
                if r.id not in picked or (r.max_ride_time is not None and t - picked[r.id] > r.max_ride_time + 1e-9):
                    ok = False
                    break
                load -= r.seats
            if load > vehicle.seats:
                ok = False
                break
        if ok:
            best = min(best, dist + problem.distance[pos, 0])
    return best


@pytest.mark.parametrize("seed", range(8))
def test_matches_brute_force_with_ride_time_and_capacity(seed: int) -> None:
    rng = np.random.default_rng(seed)
    positions = [0.0, *rng.uniform(-50, 50, 6).round(1)]
    requests = [(1, 2), (3, 4), (5, 6)]
    problem = line_problem(positions, requests, max_ride=float(rng.uniform(20, 80)), seats=int(rng.integers(1, 3)))
    solution = solve(problem, FAST)
    report = validate(problem, solution)
    assert report.ok, report.violations
    expected = brute_force_single_vehicle(problem)
    if np.isinf(expected):
        assert solution.unserved
    else:
        assert not solution.unserved
        assert solution.distance == pytest.approx(expected, abs=0.05)


def test_ride_time_limit_is_exact() -> None:
    # Pooling both (0 -> 1 -> 2 -> 3 -> 4) would give request A a 30-unit ride; with L = 25 the solver
    # must not pool, and the validator confirms every ride stays within 25.
    problem = line_problem([0, 10, 20, 30, 40], [(1, 3), (2, 4)], max_ride=20)
    solution = solve(problem, FAST)
    report = validate(problem, solution)
    assert report.ok
    for stop in solution.routes[0].stops:
        if stop.kind == "dropoff":
            pickup = next(s for s in solution.routes[0].stops if s.kind == "pickup" and s.request == stop.request)
            assert stop.start_service - pickup.departure <= 20 + 1e-6


def test_infeasible_request_is_unserved_with_a_reason() -> None:
    problem = line_problem([0, 10, 90], [(1, 2)], windows={1: (0, 5), 2: (0, 20)})
    solution = solve(problem, FAST)
    assert [u.request for u in solution.unserved] == ["0"]
    assert "closes before it can arrive" in solution.unserved[0].reason
    assert validate(problem, solution).ok


def test_wheelchair_needs_a_wheelchair_place() -> None:
    base = line_problem([0, 10, 20], [(1, 2)])
    request = dataclasses.replace(base.requests[0], wheelchairs=1)
    vehicles = (Vehicle("van", 0, 0, 4, 0), Vehicle("ez10", 0, 0, 4, 1))
    problem = dataclasses.replace(base, requests=(request,), vehicles=vehicles)
    solution = solve(problem, FAST)
    assert [r.vehicle for r in solution.routes] == ["ez10"]
    assert validate(problem, solution).ok


def valid_solution() -> tuple[Problem, Solution]:
    problem = line_problem([0, 10, 20, 30], [(1, 2), (1, 3)], max_ride=50, seats=2, route_limit=100)
    return problem, solve(problem, FAST)


def mutate_stop(solution: Solution, index: int, **changes: object) -> Solution:
    stops = list(solution.routes[0].stops)
    stops[index] = dataclasses.replace(stops[index], **changes)
    return dataclasses.replace(solution, routes=(Route(solution.routes[0].vehicle, tuple(stops)),))


@pytest.mark.parametrize(
    "kind",
    [
        "time window",
        "capacity",
        "ride time",
        "pairing",
        "route duration",
        "timing",
        "accounting",
        "cost",
        "depot",
        "load",
    ],
)
def test_validator_catches_each_kind_of_violation(kind: str) -> None:
    problem, solution = valid_solution()
    assert validate(problem, solution).ok
    stops = solution.routes[0].stops
    if kind == "time window":
        tight = dataclasses.replace(problem.requests[0], dropoff_window=TimeWindow(0, 1))
        problem = dataclasses.replace(problem, requests=(tight, problem.requests[1]))
    elif kind == "capacity":
        problem = dataclasses.replace(problem, vehicles=(dataclasses.replace(problem.vehicles[0], seats=1),))
    elif kind == "ride time":
        short = [dataclasses.replace(r, max_ride_time=1) for r in problem.requests]
        problem = dataclasses.replace(problem, requests=tuple(short))
    elif kind == "pairing":
        drop = next(i for i, s in enumerate(stops) if s.kind == "dropoff")
        swapped = list(stops)
        first_pick = next(i for i, s in enumerate(stops) if s.kind == "pickup" and s.request == stops[drop].request)
        swapped[first_pick], swapped[drop] = swapped[drop], swapped[first_pick]
        solution = dataclasses.replace(solution, routes=(Route("0", tuple(swapped)),))
    elif kind == "route duration":
        problem = dataclasses.replace(
            problem, vehicles=(dataclasses.replace(problem.vehicles[0], max_route_duration=5),)
        )
    elif kind == "timing":
        solution = mutate_stop(solution, 1, arrival=0.0, start_service=0.0, departure=0.0)
    elif kind == "accounting":
        solution = dataclasses.replace(solution, unserved=(Unserved("0", "x"),))
    elif kind == "cost":
        solution = dataclasses.replace(solution, distance=solution.distance + 5)
    elif kind == "depot":
        solution = mutate_stop(solution, len(stops) - 1, node=3)
    elif kind == "load":
        solution = mutate_stop(solution, 1, load_seats=7)
    report = validate(problem, solution)
    assert not report.ok
    assert kind in {v.kind for v in report.violations}, report.violations


def random_vehicles_first(
    seed: int, *, side: float, requests: int, every: float, width: float, seats: int, fleet: int, shift_end: float
) -> Problem:
    """Random points in a square of ``side`` (node 0 the depot), request i's pickup window opening at
    ``every`` × i for ``width``; identical vehicles; vehicles count first."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, side, (2 * requests + 1, 2))
    matrix = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    riders = tuple(
        Request(str(i), 1 + 2 * i, 2 + 2 * i, pickup_window=TimeWindow(every * i, every * i + width))
        for i in range(requests)
    )
    vehicles = tuple(Vehicle(str(v), 0, 0, seats, shift=TimeWindow(0, shift_end)) for v in range(fleet))
    return Problem("vehicles-first", riders, vehicles, matrix, matrix.copy(), minimize_vehicles=True)


def test_same_input_same_solution_under_an_iteration_budget() -> None:
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 50, (13, 2))
    matrix = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    requests = tuple(Request(str(i), 1 + 2 * i, 2 + 2 * i, max_ride_time=60) for i in range(6))
    vehicles = tuple(Vehicle(str(v), 0, 0, 3, shift=TimeWindow(0, 500)) for v in range(2))
    problem = Problem("random", requests, vehicles, matrix, matrix.copy())
    params = work_budget(200)  # every stage runs, counting iterations instead of seconds
    first, second = solve(problem, params), solve(problem, params)
    assert first.routes == second.routes and first.distance == second.distance
    assert validate(problem, first).ok
    # two workers in parallel processes, searching differently: still deterministic
    parallel = dataclasses.replace(params, workers=2)
    one, other = solve(problem, parallel), solve(problem, parallel)
    assert one.routes == other.routes and validate(problem, one).ok
    # without diversification worker 0 runs the single search itself, so two are never worse than one
    both = solve(problem, dataclasses.replace(parallel, diversify=False))
    assert (len(both.unserved), both.distance) <= (len(first.unserved), first.distance)


def test_parallel_workers_search_differently_and_stay_deterministic_where_vehicles_count() -> None:
    from dispatch.solver import _worker_settings

    # the first worker's pool retries a stuck rider, the second gives the route up: each reached
    # best-known fleets the other missed (benchmarks/results/solver-tuning.md)
    params = dataclasses.replace(work_budget(120), workers=1)
    first, second = _worker_settings(params, 0)[0], _worker_settings(params, 1)[0]
    assert first.ejection.retry_stuck and not second.ejection.retry_stuck
    # the first makes fewer, longer pool runs (a fleet one smaller can need a long run), the second many short ones
    assert first.ejection.restarts < second.ejection.restarts
    assert first.seed != second.seed
    problem = random_vehicles_first(8, side=40, requests=8, every=10.0, width=60, seats=3, fleet=4, shift_end=400)
    parallel = dataclasses.replace(params, workers=2)
    one, other = solve(problem, parallel), solve(problem, parallel)
    assert one.routes == other.routes and one.distance == other.distance
    assert validate(problem, one).ok and not one.unserved


def test_params_check_themselves_and_load_from_toml(tmp_path: Path) -> None:
    with pytest.raises(DispatchError) as info:
        SolverParams(time_limit_s=0, iterations=0, scale=0, workers=0)
    for word in ("time_limit_s", "iterations", "scale", "workers"):
        assert word in str(info.value)
    with pytest.raises(DispatchError, match="route_elimination"):
        StageShares(route_elimination=1.5)
    with pytest.raises(DispatchError, match="pool_construction"):
        StageShares(pool_construction=0.0)  # no time for a first plan
    with pytest.raises(DispatchError, match="first_solution"):
        OrtoolsParams(first_solution="MAGIC")
    with pytest.raises(DispatchError, match="long_route_start_temperature"):
        LnsParams(long_route_start_temperature=0.001)  # colder than the end
    toml = tmp_path / "solver.toml"
    toml.write_text(
        '[solver]\ntime_limit_s = 5\n[solver.ortools]\nmetaheuristic = "TABU_SEARCH"\n[solver.lns]\nremoved_share = 0.2\n',
        encoding="utf-8",
    )
    loaded = SolverParams.from_toml(toml)
    assert (loaded.time_limit_s, loaded.ortools.metaheuristic, loaded.lns.removed_share) == (5, "TABU_SEARCH", 0.2)
    # every problem of the file at once, each named by its table
    toml.write_text(
        "[solver]\ntime_limt_s = 5\n[solver.ortools]\nportfolio = 3\n[solver.shares]\nlns = 2.0\nsplit = 1\n"
        '[solver.lns]\nremoved_share = 0.0\n[solver.ruin]\nenabled = "yes"\n',
        encoding="utf-8",
    )
    with pytest.raises(DispatchError) as info:
        SolverParams.from_toml(toml)
    for word in ("time_limt_s", "solver.ortools.portfolio", "split", "removed_share", "solver.ruin.enabled"):
        assert word in str(info.value)
    # a misspelt name and a bad value in the same table, both named
    toml.write_text("[solver.lns]\nstart_temperatur = 3.0\nlong_route_start_temperature = -1.0\n", encoding="utf-8")
    with pytest.raises(DispatchError) as info:
        SolverParams.from_toml(toml)
    assert "start_temperatur;" in str(info.value) and "long_route_start_temperature >=" in str(info.value)


def test_a_first_plan_serves_riders_where_the_constructions_run_out_of_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import dispatch.stages as stages

    problem = random_vehicles_first(5, side=60, requests=20, every=15.0, width=90, seats=4, fleet=6, shift_end=2000)
    params = SolverParams(time_limit_s=1.0)
    real_search = stages.search

    def out_of_time(*args: object, **kwargs: object) -> Solution:
        # what OR-Tools returns when its time ends before a construction does: a plan serving nobody
        solution = real_search(*args, **kwargs)  # type: ignore[arg-type]
        return dataclasses.replace(solution, routes=())

    monkeypatch.setattr(stages, "search", out_of_time)
    plan = stages.construct(problem, params, Budget(seconds=0.5))
    assert plan.routes and not plan.unserved(problem)  # cheapest insertion's plan, not an empty one
    assert validate(problem, schedule(problem, plan, params.scale)).ok

    def failing(*args: object, **kwargs: object) -> Solution:
        raise DispatchError("no solution")

    monkeypatch.setattr(stages, "search", failing)
    assert not stages.construct(problem, params, Budget(seconds=0.5)).unserved(problem)


def test_problem_checks_itself() -> None:
    with pytest.raises(DispatchError, match="outside the matrices"):
        Problem("bad", (Request("a", 1, 9),), (Vehicle("0", 0, 0, 3),), np.zeros((3, 3)), np.zeros((3, 3)))


def test_readers_reject_broken_files(tmp_path: Path) -> None:
    bad = tmp_path / "x.txt"
    bad.write_text(
        "2 4 480 3 30\n0 0 0 0 0 0 1440\n1 1 1 3 1 0 1440\n2 2 2 3 1 0 1440\n3 1 2 3 -1 0 1440\n4 3 3 3 -1 0 1440\n",
        encoding="utf-8",
    )
    assert len(read_cordeau(bad).requests) == 2
    bad.write_text("2 4 480 3 30\n0 0 0 0 0 0 1440\n1 1 1 3 1 0 1440\n2 2 2 3 x 0 1440\n", encoding="utf-8")
    with pytest.raises(DispatchError, match="line 4"):
        read_cordeau(bad)
    with pytest.raises(DispatchError, match="does not exist"):
        read_li_lim(tmp_path / "missing.txt")


@pytest.mark.realdata
def test_benchmark_readers_and_exchange_json(shared_data: Path) -> None:
    a216 = read_cordeau(shared_data / "dispatch" / "cordeau" / "a2-16.txt")
    assert (len(a216.requests), len(a216.vehicles)) == (16, 2)
    assert a216.requests[0].max_ride_time == 30 and a216.vehicles[0].max_route_duration == 480
    lc101 = read_li_lim(shared_data / "dispatch" / "lilim" / "lc101.txt")
    assert len(lc101.requests) == 53 and lc101.minimize_vehicles
    solution = solve(a216, work_budget(200))
    assert validate(a216, solution).ok
    data = json.loads(json.dumps(solution_json(a216, solution)))
    assert data["instance"] == "a2-16"
    for route in data["routes"]:
        assert route["stops"][0]["node"] == 0 and route["stops"][-1]["node"] == 0
        inner = [s["node"] for s in route["stops"][1:-1]]
        assert all(1 <= n <= 32 for n in inner)


def test_route_elimination_frees_vehicles_a_wasteful_plan_uses() -> None:
    """From a plan with one vehicle per request, the smaller-fleet search packs them into one route."""
    from dispatch.stages import eliminate_routes

    base = line_problem([0, 10, 20, 30, 40, 50, 60, 70, 80], [(1, 2), (3, 4), (5, 6), (7, 8)], seats=1)
    vehicles = tuple(Vehicle(str(v), 0, 0, 1, shift=TimeWindow(0, 1000)) for v in range(4))
    problem = dataclasses.replace(base, vehicles=vehicles, minimize_vehicles=True)
    one_each = dataclasses.replace(
        problem, requests=tuple(dataclasses.replace(r, vehicle=str(i)) for i, r in enumerate(problem.requests))
    )
    wasteful = solve(one_each, work_budget(5, ortools=OrtoolsParams(portfolio=False)))
    assert wasteful.vehicles_used == 4 and validate(problem, wasteful).ok
    params = work_budget(100)
    plan = eliminate_routes(problem, RoutePlan.of(wasteful), Budget(iterations=100), params)
    packed = schedule(problem, plan)
    assert packed.vehicles_used == 1 and not packed.unserved
    assert validate(problem, packed).ok
    assert packed.distance == pytest.approx(160)  # out along the line and back, one rider at a time


def test_a_vehicle_free_only_after_every_window_does_not_break_the_search() -> None:
    """A shuttle charging until after every request's window (its start past the latest window) once made
    OR-Tools fail while building the model; the other vehicle serves the rider, the plan validates."""
    travel = np.array([[0, 60, 60], [60, 0, 60], [60, 60, 0]], float)
    request = Request("r", 1, 2, 1, 0, TimeWindow(0, 100), TimeWindow(0, 400), 0.0, 0.0, 1000.0)
    vehicles = (
        Vehicle("free", 0, 0, 4, 0, TimeWindow(0, float("inf"))),
        Vehicle("charging", 0, 0, 4, 0, TimeWindow(5000, float("inf"))),
    )
    problem = Problem("late-start", (request,), vehicles, travel, travel)
    solution = solve(problem, SolverParams(time_limit_s=5, iterations=10))
    assert not solution.unserved
    assert validate(problem, solution).ok
