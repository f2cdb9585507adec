"""The squeeze (dispatch.squeeze): its penalty against the feasibility check, a rider it places where
an insertion alone cannot, and that it never leaves a route infeasible or a rider lost or doubled."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_route_min import one_route_each, random_problem, smallest_fleet

from dispatch.budget import Budget
from dispatch.model import DispatchError, Problem, Request, TimeWindow, Vehicle
from dispatch.ortools_search import schedule
from dispatch.pdp_arrays import (
    CompiledFleetProblem,
    arrays_as_plan,
    best_insertion,
    compile_problem,
    insert_request,
    insertion_scratch,
    remove_requests,
    route_feasible,
    routes_as_arrays,
)
from dispatch.plan import PlannedRoute, RoutePlan, Visit
from dispatch.route_min import eliminate_routes_by_ejection
from dispatch.solver import EjectionParams
from dispatch.squeeze import least_penalty_place, load_weight, route_penalty, squeeze_in
from dispatch.validate import validate

pytestmark = pytest.mark.usefixtures("compiled_kernels")
SCALE = 100


def _tables(c: CompiledFleetProblem, r: int) -> tuple[object, ...]:
    """What ``route_feasible`` and ``route_penalty`` take after the start depot, for vehicle row r."""
    return (c.transit, c.earliest, c.latest, c.seats, c.chairs, c.ride_limit, c.capacity[r], c.max_duration[r])


@pytest.mark.parametrize("seed", range(6))
def test_the_penalty_is_zero_exactly_when_the_route_is_feasible(seed: int) -> None:
    """Without ride limits the earliest schedule decides feasibility, so a route has penalty 0 if and
    only if ``route_feasible`` accepts it; checked on every order of three riders' stops."""
    problem = random_problem(seed, n_requests=3, seats=1)
    c = compile_problem(problem, SCALE)
    assert c is not None
    work = np.zeros(3, np.int64)
    scratch = insertion_scratch(6, c.ride_limit, 1)
    weight = load_weight(c.transit, 3)
    seen = {True: 0, False: 0}
    for order in itertools.permutations(range(6)):
        if any(order.index(2 * k) > order.index(2 * k + 1) for k in range(3)):
            continue  # a drop-off before its pickup
        seq = np.array(order, np.int64)
        penalty = route_penalty(seq, 6, c.start[0], *_tables(c, 0), weight, work)
        feasible = route_feasible(seq, 6, c.start[0], *_tables(c, 0), scratch)
        assert penalty >= 0
        assert (penalty == 0) == feasible, order
        seen[feasible] += 1
    assert seen[False] > 0, "the instance should have infeasible orders to tell apart"


@pytest.mark.parametrize("seed", range(6))
def test_the_least_penalty_place_is_the_one_scoring_every_place_finds(seed: int) -> None:
    """``least_penalty_place`` joins stretches of the route in O(1) per place; scoring each place with
    ``route_penalty`` (O(n) per place, no ride or duration limits here) must give the same least
    penalty, and the place it names must score that penalty."""
    problem = random_problem(seed, n_requests=7, seats=1)
    c = compile_problem(problem, SCALE)
    assert c is not None
    rng = np.random.default_rng(seed)
    weight = load_weight(c.transit, 7)
    work = np.zeros(7, np.int64)
    size = 14
    segments = np.empty((2, size + 2, 4), np.int64)
    excess, loads = np.empty(size + 2, np.int64), np.empty((size + 2, 2), np.int64)
    for _ in range(20):
        riders = rng.permutation(7)[: rng.integers(1, 7)]
        k = next(x for x in range(7) if x not in riders)
        nodes = [int(x) for r in riders for x in (2 * r, 2 * r + 1)]
        rng.shuffle(nodes)
        for r in riders:  # pickup before drop-off
            a, b = nodes.index(2 * r), nodes.index(2 * r + 1)
            if a > b:
                nodes[a], nodes[b] = nodes[b], nodes[a]
        seq = np.array([*nodes, 0, 0], np.int64)
        n = len(nodes)
        tables = _tables(c, 0)
        penalty, i, j = least_penalty_place(
            seq, n, k, c.start[0], *tables[:5], *tables[6:], weight, segments, excess, loads
        )  # fmt: skip
        scores = {}
        for a in range(n + 1):
            for b in range(a, n + 1):
                candidate = seq.copy()
                m = insert_request(candidate, n, k, a, b)
                scores[a, b] = route_penalty(candidate, m, c.start[0], *tables, weight, work)
        assert penalty == min(scores.values())
        assert scores[i, j] == penalty


def _tied_rider_needs_room(b_can_take_p: bool) -> tuple[Problem, RoutePlan]:
    """A one-seat shuttle A carries rider P; rider V, tied to A (already booked on it), overlaps P in
    time and place, so V fits A only once P moves. B serves Q late in the day, and P fits before Q
    unless ``b_can_take_p`` is False (Q is then where P is at P's time)."""
    q_at = [200.0, 210] if b_can_take_p else [10.0, 20]
    positions = np.array([0.0, 10, 20, 10, 20, *q_at])  # depot, P, V, Q
    matrix = np.abs(positions[:, None] - positions[None, :])
    p = Request("P", 1, 2, pickup_window=TimeWindow(100, 110), dropoff_window=TimeWindow(100, 140))
    v = Request("V", 3, 4, pickup_window=TimeWindow(100, 110), dropoff_window=TimeWindow(100, 140), vehicle="A")
    q_time = TimeWindow(400, 420) if b_can_take_p else TimeWindow(100, 110)
    q = Request("Q", 5, 6, pickup_window=q_time, dropoff_window=TimeWindow(q_time.earliest, q_time.latest + 40))
    vehicles = (Vehicle("A", 0, 0, 1, shift=TimeWindow(0, 1000)), Vehicle("B", 0, 0, 1, shift=TimeWindow(0, 1000)))
    problem = Problem("squeeze", (p, v, q), vehicles, matrix, matrix.copy())

    def route(vehicle: str, rider: str) -> PlannedRoute:
        return PlannedRoute(vehicle, (Visit(rider, False), Visit(rider, True)))

    return problem, RoutePlan((route("A", "P"), route("B", "Q")))


def _same_routes(routes: np.ndarray, lengths: np.ndarray, before: tuple[np.ndarray, np.ndarray]) -> bool:
    """The same visits in every route (what lies past a route's length does not count)."""
    old_routes, old_lengths = before
    return np.array_equal(lengths, old_lengths) and all(
        np.array_equal(routes[r, : lengths[r]], old_routes[r, : lengths[r]]) for r in range(len(lengths))
    )


def _kernel_arguments(problem: Problem, plan: RoutePlan) -> tuple[np.ndarray, np.ndarray, tuple[object, ...]]:
    c = compile_problem(problem, SCALE)
    assert c is not None
    arrays = routes_as_arrays(problem, c, plan)
    assert arrays is not None
    routes, lengths = arrays
    return routes, lengths, (load_weight(c.transit, len(problem.requests)), c.start, c.tied, *c.kernel_tables)


def test_a_squeeze_moves_a_rider_out_of_the_way_of_one_that_fits_nowhere() -> None:
    problem, plan = _tied_rider_needs_room(b_can_take_p=True)
    c = compile_problem(problem, SCALE)
    assert c is not None
    routes, lengths, rest = _kernel_arguments(problem, plan)
    work = [np.empty(len(routes[0]) + 2, np.int64) for _ in range(4)]
    # V fits nowhere as the routes stand (A is its only vehicle)
    transit, distance = c.transit, c.distance
    _, i, _ = best_insertion(
        routes[0], lengths[0], 1, c.start[0], transit, distance, *_tables(c, 0)[1:], *work, 0.0,
        insertion_scratch(len(routes[0]), c.ride_limit, len(routes)),
    )  # fmt: skip
    assert i < 0
    assert squeeze_in(routes, lengths, np.array([0, 1]), 2, 1, *rest)
    squeezed = arrays_as_plan(problem, c, routes, lengths)
    riders = {route.vehicle: {visit.request for visit in route.visits} for route in squeezed.routes}
    assert riders == {"A": {"V"}, "B": {"P", "Q"}}
    solution = schedule(problem, squeezed)
    assert not solution.unserved and validate(problem, solution).ok


def test_a_squeeze_that_finds_no_move_leaves_every_route_as_it_was() -> None:
    problem, plan = _tied_rider_needs_room(b_can_take_p=False)
    routes, lengths, rest = _kernel_arguments(problem, plan)
    before = routes.copy(), lengths.copy()
    assert not squeeze_in(routes, lengths, np.array([0, 1]), 2, 1, *rest)
    assert _same_routes(routes, lengths, before)


@pytest.mark.parametrize("seed", range(6))
def test_squeezing_a_routes_riders_into_the_others_never_breaks_a_route(seed: int) -> None:
    """Take the smallest fleet's plan, empty one route and squeeze its riders into the others one by
    one: every squeeze either places its rider with every route feasible, every other rider served once,
    or changes nothing."""
    problem = random_problem(seed, n_requests=6)
    plan = eliminate_routes_by_ejection(problem, one_route_each(problem), Budget(iterations=200), seed=seed)
    assert plan is not None and len(plan.routes) >= 2
    c = compile_problem(problem, SCALE)
    assert c is not None
    routes, lengths, rest = _kernel_arguments(problem, plan)
    emptied = int(np.argmin(np.where(lengths > 0, lengths, 10**6)))
    riders = [int(x) // 2 for x in routes[emptied, : lengths[emptied]] if x % 2 == 0]
    lengths[emptied] = 0
    rows = np.flatnonzero(lengths > 0)
    scratch = insertion_scratch(routes.shape[1], c.ride_limit, len(routes))
    placed = {int(x) // 2 for r in rows for x in routes[r, : lengths[r]]}
    outcomes = []
    for k in riders:
        before = routes.copy(), lengths.copy()
        ok = squeeze_in(routes, lengths, rows, len(rows), k, *rest)
        outcomes.append(ok)
        if not ok:
            assert _same_routes(routes, lengths, before)
            continue
        placed.add(k)
        nodes = sorted(int(x) for r in rows for x in routes[r, : lengths[r]])
        assert nodes == sorted(x for j in placed for x in (2 * j, 2 * j + 1))
        for r in rows:
            assert route_feasible(routes[r], lengths[r], c.start[r], *_tables(c, int(r)), scratch)
    # the emptied route's riders are left out of the plan; the rest is one OR-Tools accepts as it stands
    for k in set(riders) - placed:
        for r in rows:
            out = routes[r].copy()
            lengths[r] = remove_requests(routes[r], lengths[r], out, k, -1, -1)
            routes[r] = out
    solution = schedule(problem, arrays_as_plan(problem, c, routes, lengths))
    assert validate(problem, solution).ok
    assert len(solution.unserved) == outcomes.count(False)


@pytest.mark.parametrize("seed", range(8))
def test_a_squeezing_pool_reaches_the_brute_force_fleet(seed: int) -> None:
    problem = random_problem(seed)
    expected = smallest_fleet(problem)
    params = EjectionParams(squeeze=True)
    fewer = eliminate_routes_by_ejection(
        problem, one_route_each(problem), Budget(iterations=200), seed=seed, params=params
    )
    if expected == len(problem.requests):
        assert fewer is None
        return
    assert fewer is not None and len(fewer.routes) == expected
    solution = schedule(problem, fewer)
    assert not solution.unserved and validate(problem, solution).ok


def test_squeeze_must_be_a_boolean() -> None:
    with pytest.raises(DispatchError, match="squeeze must be true or false"):
        EjectionParams(squeeze="yes")  # type: ignore[arg-type]
