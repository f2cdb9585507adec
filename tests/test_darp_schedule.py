"""Dial-a-ride schedules in the numba kernels (dispatch.pdp_arrays.schedule_feasible and its callers).

The oracle is independent of the kernels: for a fixed stop order, every constraint on the starts
of service is a difference constraint (windows, travel, ride time, route duration), so a schedule
exists exactly when the constraint graph has no negative cycle, which Bellman-Ford decides.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from budgets import work_budget

from dispatch.budget import Budget
from dispatch.lns import shorten_routes
from dispatch.model import Problem, Request, TimeWindow, Vehicle
from dispatch.ortools_search import schedule, search
from dispatch.pdp_arrays import (
    BIG,
    best_insertion,
    cheapest_route_kept,
    insert_request,
    insertion_scratch,
    route_feasible,
    schedule_feasible,
)
from dispatch.plan import RoutePlan
from dispatch.solver import SolverParams, StageShares, solve
from dispatch.stages import relatedness
from dispatch.validate import validate

# numba compiles before the clocks start: several tests give a search one second
pytestmark = pytest.mark.usefixtures("compiled_kernels")

HORIZON = 200


def has_schedule(
    path: list[int],
    transit: np.ndarray,
    earliest: np.ndarray,
    latest: np.ndarray,
    ride_limit: np.ndarray,
    max_duration: int,
) -> bool:
    """Bellman-Ford on the difference constraints of the stop order ``path`` (depots included)."""
    m = len(path)
    source = m
    edges: list[tuple[int, int, int]] = []  # (u, v, w): start[v] - start[u] <= w
    for q, x in enumerate(path):
        edges.append((source, q, int(latest[x])))
        edges.append((q, source, -int(earliest[x])))
    for q in range(1, m):
        edges.append((q, q - 1, -int(transit[path[q - 1], path[q]])))
    position = {x: q for q, x in enumerate(path)}
    for q in range(1, m - 1):
        if path[q] % 2 == 1:
            edges.append((position[path[q] - 1], q, int(ride_limit[path[q] // 2])))
    edges.append((0, m - 1, max_duration))
    dist = [0] * (m + 1)
    for _ in range(m + 1):
        changed = False
        for u, v, w in edges:
            if dist[u] + w < dist[v]:
                dist[v] = dist[u] + w
                changed = True
        if not changed:
            return True
    return False


def random_route(rng: np.random.Generator) -> tuple[np.ndarray, int, tuple[np.ndarray, ...], int]:
    """A random order of 2-4 requests with Cordeau-like windows (one end tight), ride and duration limits."""
    k_count = int(rng.integers(2, 5))
    points = rng.uniform(0, 20, size=(2 * k_count + 1, 2))[[*range(2 * k_count), 2 * k_count, 2 * k_count]]
    travel = np.ceil(np.linalg.norm(points[:, None] - points[None], axis=2)).astype(np.int64)
    service = np.concatenate([rng.integers(0, 4, 2 * k_count), [0, 0]]).astype(np.int64)
    transit = travel + service[:, None]
    earliest = np.zeros(2 * k_count + 2, np.int64)
    latest = np.full(2 * k_count + 2, HORIZON, np.int64)
    for k in range(k_count):
        t = int(rng.integers(0, 120))
        if rng.random() < 0.5:
            earliest[2 * k], latest[2 * k] = t, t + 15
        else:
            earliest[2 * k + 1], latest[2 * k + 1] = t + 20, t + 35
    direct = [int(travel[2 * k, 2 * k + 1] + service[2 * k]) for k in range(k_count)]
    ride_limit = np.array([d + int(rng.integers(0, 30)) for d in direct], np.int64)
    max_duration = int(rng.integers(60, 250))
    waiting, aboard, seq = list(range(k_count)), [], []
    while waiting or aboard:
        choice = int(rng.integers(len(waiting) + len(aboard)))
        if choice < len(waiting):
            k = waiting.pop(choice)
            aboard.append(k)
            seq.append(2 * k)
        else:
            seq.append(2 * aboard.pop(choice - len(waiting)) + 1)
    arrays = (transit, earliest, latest, ride_limit)
    return np.array(seq, np.int64), max_duration, arrays, k_count


def earliest_schedule_ok(
    seq: np.ndarray,
    transit: np.ndarray,
    earliest: np.ndarray,
    latest: np.ndarray,
    ride_limit: np.ndarray,
    max_duration: int,
) -> bool:
    """Every visit as early as possible (what the kernels did before dial-a-ride schedules)."""
    start = transit.shape[0] - 2
    path = [start, *seq.tolist(), start + 1]
    begin = [int(earliest[start])]
    for q in range(1, len(path)):
        begin.append(max(begin[-1] + int(transit[path[q - 1], path[q]]), int(earliest[path[q]])))
    if any(b > latest[x] for b, x in zip(begin, path, strict=True)):
        return False
    rides_ok = all(
        begin[q] - begin[path.index(x - 1)] <= ride_limit[x // 2] for q, x in enumerate(path[1:-1], 1) if x % 2
    )
    return rides_ok and begin[-1] - begin[0] <= max_duration


def test_schedule_feasible_agrees_with_bellman_ford() -> None:
    rng = np.random.default_rng(7)
    feasible = needs_later_starts = 0
    for _ in range(3000):
        seq, max_duration, (transit, earliest, latest, ride_limit), k_count = random_route(rng)
        path = [2 * k_count, *seq.tolist(), 2 * k_count + 1]
        expected = has_schedule(path, transit, earliest, latest, ride_limit, max_duration)
        work = np.empty((4, len(seq) + 2), np.int64)
        found = schedule_feasible(
            seq,
            len(seq),
            2 * k_count,
            transit,
            earliest,
            latest,
            ride_limit,
            max_duration,
            work,
            np.empty(k_count, np.int64),
        )
        assert found == expected, (seq, max_duration)
        feasible += expected
        needs_later_starts += expected and not earliest_schedule_ok(
            seq, transit, earliest, latest, ride_limit, max_duration
        )
    # the draw must exercise both verdicts and the later starts, or the test proves little
    assert feasible >= 150
    assert needs_later_starts >= 100


def test_route_feasible_uses_later_starts_and_checks_capacity() -> None:
    # depot at 0, pickup at 10 opening at 100, drop-off at 20; ride limit 15, duration 40
    xs = np.array([10.0, 20.0, 0.0, 0.0])
    transit = np.abs(xs[:, None] - xs[None, :]).astype(np.int64)
    earliest = np.array([100, 0, 0, 0], np.int64)
    latest = np.array([110, HORIZON, HORIZON, HORIZON], np.int64)
    seats = np.array([1, -1], np.int64)
    chairs = np.zeros(2, np.int64)
    seq = np.array([0, 1], np.int64)
    args = (transit, earliest, latest, seats, chairs, np.array([15], np.int64))
    work = insertion_scratch(2, np.array([15], np.int64), 1)
    # leaving the depot at 0 makes the route 130 long; leaving at 90 makes it 40
    assert route_feasible(seq, 2, 2, *args, np.array([1, 0], np.int64), 40, work)
    assert not route_feasible(seq, 2, 2, *args, np.array([1, 0], np.int64), 39, work)
    assert not route_feasible(seq, 2, 2, *args, np.array([0, 0], np.int64), 40, work)  # no seat


@pytest.mark.parametrize("seed", range(6))
def test_best_insertion_finds_cheapest_feasible_place_with_ride_limits(seed: int) -> None:
    """Against trying every place for the last request and asking Bellman-Ford."""
    rng = np.random.default_rng(100 + seed)
    for _ in range(150):
        seq, max_duration, (transit, earliest, latest, ride_limit), k_count = random_route(rng)
        k = k_count - 1
        rest = np.array([x for x in seq if x // 2 != k], np.int64)
        n = len(rest)
        distance = transit.copy()
        seats = np.array([1, -1] * k_count, np.int64)
        chairs = np.zeros(2 * k_count, np.int64)
        capacity = np.array([3, 0], np.int64)
        start = 2 * k_count
        best = -1
        for i in range(n + 1):
            for j in range(i, n + 1):
                order = [*rest[:i].tolist(), 2 * k, *rest[i:j].tolist(), 2 * k + 1, *rest[j:].tolist()]
                loads = np.cumsum([seats[x] for x in order])
                if loads.max() > capacity[0]:
                    continue
                path = [start, *order, start + 1]
                if not has_schedule(path, transit, earliest, latest, ride_limit, max_duration):
                    continue
                cost = sum(int(distance[a, b]) for a, b in itertools.pairwise(path))
                before = [start, *rest.tolist(), start + 1]
                added = cost - sum(int(distance[a, b]) for a, b in itertools.pairwise(before))
                best = added if best < 0 else min(best, added)
        size = n + 2
        got, i, j = best_insertion(
            np.concatenate([rest, [0, 0]]).astype(np.int64),
            n,
            k,
            start,
            transit,
            distance,
            earliest,
            latest,
            seats,
            chairs,
            ride_limit,
            capacity,
            max_duration,
            np.empty(size, np.int64),
            np.empty(size, np.int64),
            np.empty(size, np.int64),
            np.empty(size, np.int64),
            0.0,
            insertion_scratch(n + 2, ride_limit, 1),
        )
        assert got == best
        assert (i >= 0) == (best >= 0)


def windows_and_loads_ok(
    path: list[int],
    transit: np.ndarray,
    earliest: np.ndarray,
    latest: np.ndarray,
    seats: np.ndarray,
    chairs: np.ndarray,
    capacity: np.ndarray,
) -> bool:
    """Every visit as early as possible meets its window, and the loads stay within capacity."""
    t, load_s, load_c = int(earliest[path[0]]), 0, 0
    for a, b in itertools.pairwise(path):
        t = max(t + int(transit[a, b]), int(earliest[b]))
        if b < len(seats):
            load_s += int(seats[b])
            load_c += int(chairs[b])
        if t > latest[b] or load_s > capacity[0] or load_c > capacity[1]:
            return False
    return True


def least_added_by_brute_force(
    seq: list[int],
    k: int,
    start: int,
    transit: np.ndarray,
    earliest: np.ndarray,
    latest: np.ndarray,
    seats: np.ndarray,
    chairs: np.ndarray,
    capacity: np.ndarray,
) -> int:
    """The least length request k adds to route seq (depots start, start + 1) over every pickup and
    drop-off place that keeps windows and loads (``windows_and_loads_ok``); -1 if none does."""
    base = sum(int(transit[a, b]) for a, b in itertools.pairwise([start, *seq, start + 1]))
    best = -1
    for i in range(len(seq) + 1):
        for j in range(i, len(seq) + 1):
            path = [start, *seq[:i], 2 * k, *seq[i:j], 2 * k + 1, *seq[j:], start + 1]
            if windows_and_loads_ok(path, transit, earliest, latest, seats, chairs, capacity):
                added = sum(int(transit[a, b]) for a, b in itertools.pairwise(path)) - base
                best = added if best < 0 else min(best, added)
    return best


@pytest.mark.parametrize("seed", range(4))
def test_best_insertion_without_ride_limits_matches_brute_force(seed: int) -> None:
    """Li & Lim-like (windows and loads only): the O(1) check of the rest of the route against trying
    every place, on random feasible routes with seats and wheelchair places."""
    rng = np.random.default_rng(500 + seed)
    found_some = tried = 0
    for _ in range(600):
        k_count = int(rng.integers(2, 7))
        points = rng.uniform(0, 30, size=(2 * k_count + 1, 2))[[*range(2 * k_count), 2 * k_count, 2 * k_count]]
        travel = np.ceil(np.linalg.norm(points[:, None] - points[None], axis=2)).astype(np.int64)
        service = np.concatenate([rng.integers(0, 5, 2 * k_count), [0, 0]]).astype(np.int64)
        transit = travel + service[:, None]
        opens = rng.integers(0, 150, 2 * k_count + 2)
        earliest = np.where(rng.random(2 * k_count + 2) < 0.6, opens, 0).astype(np.int64)
        latest = (earliest + rng.integers(20, 120, 2 * k_count + 2)).astype(np.int64)
        earliest[-2:], latest[-2:] = 0, 400
        wheelchair = rng.random(k_count) < 0.3
        seats = np.array([v for w in wheelchair for v in ((0, 0) if w else (1, -1))], np.int64)
        chairs = np.array([v for w in wheelchair for v in ((1, -1) if w else (0, 0))], np.int64)
        capacity = np.array([2, 1], np.int64)
        k = k_count - 1
        others = list(rng.permutation(k))
        rest: list[int] = []
        for r in others:  # pickup somewhere, drop-off somewhere after it
            i = int(rng.integers(len(rest) + 1))
            j = int(rng.integers(i, len(rest) + 1))
            rest = [*rest[:i], 2 * r, *rest[i:j], 2 * r + 1, *rest[j:]]
        start, n = 2 * k_count, len(rest)
        before = [start, *rest, start + 1]
        if not windows_and_loads_ok(before, transit, earliest, latest, seats, chairs, capacity):
            continue  # the searches insert into feasible routes only
        tried += 1
        best = least_added_by_brute_force(rest, k, start, transit, earliest, latest, seats, chairs, capacity)
        no_limit = np.full(k_count, int(BIG), np.int64)
        size = n + 2
        got, i, j = best_insertion(
            np.array([*rest, 0, 0], np.int64),
            n,
            k,
            start,
            transit,
            transit,
            earliest,
            latest,
            seats,
            chairs,
            no_limit,
            capacity,
            int(BIG),
            *(np.empty(size, np.int64) for _ in range(4)),
            0.0,
            insertion_scratch(n + 2, no_limit, 1),
        )
        assert got == best
        if best >= 0:
            found_some += 1
            path = [start, *rest[:i], 2 * k, *rest[i:j], 2 * k + 1, *rest[j:], start + 1]
            assert windows_and_loads_ok(path, transit, earliest, latest, seats, chairs, capacity)
    # enough routes, and both verdicts occur often, or the comparison proves little
    assert tried >= 80 and 0.2 * tried <= found_some <= 0.9 * tried


@pytest.mark.parametrize("seed", range(3))
def test_the_lns_insertion_over_several_routes_matches_brute_force(seed: int) -> None:
    """The LNS's insertion (``cheapest_route_kept``: places passed over by a lower bound, the best place
    so far in other routes as a bound, each route's summary kept until the route changes) against trying
    every place of every route, request after request into the same routes, as the recreate does."""
    rng = np.random.default_rng(900 + seed)
    compared = placed = 0
    for _ in range(40):
        k_count, n_routes = int(rng.integers(8, 16)), 3
        points = rng.uniform(0, 30, size=(2 * k_count + 1, 2))[[*range(2 * k_count), 2 * k_count, 2 * k_count]]
        travel = np.ceil(np.linalg.norm(points[:, None] - points[None], axis=2)).astype(np.int64)
        service = np.concatenate([rng.integers(0, 5, 2 * k_count), [0, 0]]).astype(np.int64)
        transit = travel + service[:, None]
        earliest = np.where(rng.random(2 * k_count + 2) < 0.6, rng.integers(0, 200, 2 * k_count + 2), 0)
        latest = earliest + rng.integers(40, 250, 2 * k_count + 2)
        earliest[-2:], latest[-2:] = 0, 600
        seats = np.tile(np.array([1, -1], np.int64), k_count)
        chairs = np.zeros(2 * k_count, np.int64)
        capacity = np.tile(np.array([[3, 0]], np.int64), (n_routes, 1))
        start = 2 * k_count
        # the first half of the requests go into the routes (each where it keeps its route feasible)
        routes = np.zeros((n_routes, 2 * k_count), np.int64)
        lengths = np.zeros(n_routes, np.int64)
        for k in range(k_count // 2):
            r = int(rng.integers(n_routes))
            i = int(rng.integers(lengths[r] + 1))
            j = int(rng.integers(i, lengths[r] + 1))
            trial = routes[r].copy()
            n = insert_request(trial, lengths[r], k, i, j)
            path = [start, *trial[:n].tolist(), start + 1]
            if windows_and_loads_ok(path, transit, earliest, latest, seats, chairs, capacity[0]):
                routes[r], lengths[r] = trial, n
        kept = np.empty((4, n_routes, 2 * k_count + 2), np.int64)
        overloaded = np.empty(n_routes, np.int64)
        stale = np.ones(n_routes, np.bool_)
        no_limit = np.full(k_count, int(BIG), np.int64)
        for k in range(k_count // 2, k_count):
            in_routes = [
                least_added_by_brute_force(
                    routes[r, : lengths[r]].tolist(), k, start, transit, earliest, latest, seats, chairs, capacity[0]
                )
                for r in range(n_routes)
            ]
            best = min((added for added in in_routes if added >= 0), default=-1)
            r, i, j = cheapest_route_kept(
                routes, lengths, k, True, np.ones(n_routes, np.bool_), np.full(n_routes, start), np.zeros(n_routes, np.int64),
                np.full(k_count, -1), transit, transit, earliest, latest, seats, chairs, no_limit, capacity,
                np.full(n_routes, int(BIG)), kept, overloaded, stale, np.empty(2 * k_count + 2, np.int64), 0.0,
                insertion_scratch(2 * k_count, no_limit, n_routes),
            )  # fmt: skip
            compared += 1
            if best < 0:
                assert r < 0
                continue
            assert r >= 0
            seq = routes[r, : lengths[r]].tolist()
            path = [start, *seq[:i], 2 * k, *seq[i:j], 2 * k + 1, *seq[j:], start + 1]
            assert windows_and_loads_ok(path, transit, earliest, latest, seats, chairs, capacity[0])
            base = sum(int(transit[a, b]) for a, b in itertools.pairwise([start, *seq, start + 1]))
            assert sum(int(transit[a, b]) for a, b in itertools.pairwise(path)) - base == best
            lengths[r] = insert_request(routes[r], lengths[r], k, i, j)
            stale[r] = True  # as the recreate marks a route it changed
            placed += 1
    # both verdicts occur, or the comparison proves little
    assert compared >= 200 and 0.2 * compared <= placed <= 0.95 * compared


def random_darp(seed: int, n_requests: int = 12) -> Problem:
    """Cordeau-like: a tight window at one end of each ride, ride limit 30, route duration 240."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(-10, 10, (2 * n_requests + 1, 2))
    matrix = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    requests = []
    for k in range(n_requests):
        p, d = 1 + k, 1 + n_requests + k
        t = float(rng.uniform(30, 400))
        tight, wide = TimeWindow(t, t + 15), TimeWindow(0, 600)
        outbound = k % 2 == 0
        requests.append(
            Request(
                str(k),
                p,
                d,
                pickup_window=tight if outbound else wide,
                dropoff_window=wide if outbound else tight,
                pickup_service=3,
                dropoff_service=3,
                max_ride_time=30,
            )
        )
    fleet = tuple(Vehicle(str(v), 0, 0, 3, shift=TimeWindow(0, 600), max_route_duration=240) for v in range(4))
    return Problem(f"darp-{seed}", tuple(requests), fleet, matrix, matrix.copy())


@pytest.mark.parametrize("seed", range(3))
def test_lns_on_dial_a_ride_keeps_every_constraint(seed: int) -> None:
    """Ruin and recreate with later starts: OR-Tools accepts its routes and the validator finds nothing."""
    problem = random_darp(seed)
    params = SolverParams()
    start = search(problem, params, Budget(iterations=20))
    assert not start.unserved and not validate(problem, start).violations
    shorter = shorten_routes(problem, RoutePlan.of(start), Budget(iterations=40), relatedness(problem), seed=seed)
    assert shorter is not None
    scheduled = schedule(problem, shorter)
    report = validate(problem, scheduled)
    assert not scheduled.unserved and not report.violations
    assert report.distance <= start.distance + 1e-6


def test_solve_uses_lns_for_dial_a_ride_and_stays_valid() -> None:
    problem = random_darp(11, n_requests=16)
    solution = solve(problem, work_budget(300, shares=StageShares(lns=0.85)))
    report = validate(problem, solution)
    assert not solution.unserved and not report.violations
    plain = solve(problem, work_budget(300, shares=StageShares(lns=0.0)))
    assert report.distance <= validate(problem, plain).distance * 1.02


@pytest.mark.parametrize("seed", range(3))
def test_lns_places_riders_the_start_left_out_and_keeps_the_hopeless_one_out(seed: int) -> None:
    """Riders a plan leaves out wait in the LNS's bank: the servable ones get placed, a rider no vehicle
    can reach in time stays out (and costs the others nothing), every route stays valid."""
    base = random_darp(seed)
    far = int(np.argmax(base.travel_time[0]))  # to be picked up within a minute, far from the depot
    hopeless = Request("hopeless", far, 1, pickup_window=TimeWindow(0, 1), dropoff_window=TimeWindow(0, 600))
    problem = Problem("darp-bank", (*base.requests, hopeless), base.vehicles, base.travel_time, base.distance)
    start = search(base, SolverParams(), Budget(iterations=20))
    assert not start.unserved
    left_out = {r.id for r in base.requests[::3]}
    partial = RoutePlan.of(start).without(left_out)
    assert set(partial.unserved(problem)) == left_out | {"hopeless"}
    placed = shorten_routes(problem, partial, Budget(iterations=20), relatedness(problem), seed=seed)
    assert placed is not None
    assert placed.unserved(problem) == ("hopeless",)
    scheduled = schedule(problem, placed)
    assert not validate(problem, scheduled).violations
    assert [u.request for u in scheduled.unserved] == ["hopeless"]
