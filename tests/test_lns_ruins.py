"""The ruins of the numba LNS (dispatch.lns) and the restarts of ``shorten_from_new_starts``."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from budgets import work_budget
from test_dispatch import brute_force_single_vehicle, line_problem
from test_route_min import one_route_each, random_problem

from dispatch.budget import Budget
from dispatch.lns import (
    STRING_MAX,
    _costliest_group,
    _kept_visits,
    _related_group,
    _string_ruin,
    _tail_cut,
    shorten_routes,
)
from dispatch.model import DispatchError
from dispatch.ortools_search import schedule
from dispatch.pdp_arrays import seed_numba
from dispatch.plan import PlannedRoute, RoutePlan, Visit
from dispatch.solver import LnsParams
from dispatch.stages import eject_routes, eject_routes_with_starts, relatedness, shorten_from_new_starts
from dispatch.validate import validate

pytestmark = pytest.mark.usefixtures("compiled_kernels")


def test_a_related_ruin_takes_distinct_requests_mostly_the_nearest() -> None:
    """Requests on a line: a group around one is that one and others, never twice the same, and its
    nearest neighbour is taken far more often than the farthest request."""
    n = 40
    position = np.arange(n, dtype=np.float64)
    related = np.argsort(np.abs(position[:, None] - position[None, :]), axis=1).astype(np.int64)
    chosen = np.empty(n, np.int64)
    seed_numba(3)
    near = far = 0
    for _ in range(2000):
        _related_group(10, 6, related, chosen)
        group = chosen[:6].tolist()
        assert group[0] == 10 and len(set(group)) == 6
        near += 9 in group or 11 in group
        far += n - 1 in group
    assert near > 1500 and far < 100


def test_a_costliest_ruin_prefers_the_request_with_the_longest_detour() -> None:
    """Two routes on a line; request 2 is picked up far off the line: the costliest ruin takes it first
    far more often than any other, and takes only served requests, each once."""
    coordinate = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 50.0, 6.0, 7.0, 8.0, 0.0, 0.0])  # nodes 0..7, depot 8, 9
    distance = np.round(np.abs(coordinate[:, None] - coordinate[None, :]) * 100).astype(np.int64)
    # request k: nodes 2k and 2k + 1; route 0 serves requests 0 and 1, route 1 requests 2 and 3
    routes = np.array([[0, 1, 2, 3, 0, 0, 0, 0], [4, 5, 6, 7, 0, 0, 0, 0]], np.int64)
    lengths = np.array([4, 4], np.int64)
    start = np.array([8, 8], np.int64)
    chosen = np.empty(4, np.int64)
    saving = np.empty(4, np.float64)
    order = np.empty(4, np.int64)
    seed_numba(5)
    first = np.zeros(4, np.int64)
    for _ in range(1000):
        _costliest_group(routes, lengths, distance, start, 3, chosen, saving, order)
        assert len(set(chosen[:3].tolist())) == 3 and set(chosen[:3].tolist()) <= {0, 1, 2, 3}
        first[chosen[0]] += 1
    assert first[2] > 600 and first[2] == first.max()


def test_a_string_ruin_takes_neighbouring_visits_from_a_few_routes_near_the_seed() -> None:
    """Four routes of five requests each, picked up and dropped off one after the other; requests
    related by their number. A string ruin always takes visits from the seed's route and from at most
    three routes, never more than ``STRING_MAX`` visits from one; the visits it takes from a route are
    next to each other in most ruins, and in some (the split strings) a stretch in between is kept."""
    n_routes, per_route = 4, 5
    n_req = n_routes * per_route
    related = np.argsort(np.abs(np.arange(n_req)[:, None] - np.arange(n_req)[None, :]), axis=1, kind="stable")
    routes = np.zeros((n_routes, 2 * per_route + 2), np.int64)
    for r in range(n_routes):
        routes[r, : 2 * per_route] = np.arange(2 * per_route * r, 2 * per_route * (r + 1))
    lengths = np.full(n_routes, 2 * per_route, np.int64)
    route_of = np.empty(2 * n_req, np.int64)
    position_of = np.empty(2 * n_req, np.int64)
    ruined = np.empty(n_routes, np.bool_)
    removed = np.empty(n_req, np.bool_)
    seed_numba(11)
    split = whole = 0
    for draw in range(2000):
        seed = draw % n_req
        removed[:] = False
        route_of[:] = -1
        _string_ruin(routes, lengths, seed, related.astype(np.int64), removed, route_of, position_of, ruined)
        hit = sorted({k // per_route for k in np.flatnonzero(removed)})
        assert seed // per_route in hit and 1 <= len(hit) <= 3
        for r in hit:
            taken = np.flatnonzero(removed[routes[r, : lengths[r]] // 2])  # positions whose request left
            assert len(taken) <= 2 * STRING_MAX
            gaps = np.diff(np.flatnonzero(removed[np.arange(per_route * r, per_route * (r + 1))]))
            if len(gaps) and gaps.max() > 1:
                split += 1
            else:
                whole += 1
    assert whole > split > 100


def test_a_tail_swap_parts_only_the_riders_aboard_at_the_cuts_and_never_moves_a_tied_one() -> None:
    """Three routes of four requests, each route picking up two riders before dropping both off (riders
    aboard between); a tail swap's cut: every rider the cuts part (picked up before a cut, dropped off
    after it) is taken out and no other; the new routes are r1's head then r2's tail and the other way
    round, every kept visit once, a pickup before its drop-off; a cut never moves a rider tied to its
    vehicle, and tail swaps happen between every pair of routes."""
    n_routes, per_route = 3, 4
    n_req = n_routes * per_route
    related = np.argsort(np.abs(np.arange(n_req)[:, None] - np.arange(n_req)[None, :] + 0.5), axis=1, kind="stable")
    routes = np.zeros((n_routes, 2 * n_req + 2), np.int64)
    for r in range(n_routes):
        a, b, c, d = range(per_route * r, per_route * (r + 1))
        routes[r, : 2 * per_route] = [2 * a, 2 * b, 2 * a + 1, 2 * b + 1, 2 * c, 2 * d, 2 * d + 1, 2 * c + 1]
    lengths = np.full(n_routes, 2 * per_route, np.int64)
    usable = np.ones(n_routes, np.bool_)
    tied = np.full(n_req, -1, np.int64)
    route_of = np.empty(2 * n_req, np.int64)
    position_of = np.empty(2 * n_req, np.int64)
    removed = np.empty(n_req, np.bool_)
    work = np.empty_like(routes)
    work_lengths = np.empty_like(lengths)
    seed_numba(7)
    pairs = set()
    for draw in range(600):
        tied[:] = -1
        if draw % 2:
            tied[6] = 1  # route 1's third request
        removed[:] = False
        r1, p1, r2, p2 = _tail_cut(
            routes, lengths, usable, tied, related.astype(np.int64), removed, route_of, position_of
        )
        if r1 < 0:
            assert not removed.any()
            continue
        assert r1 != r2
        pairs.add((r1, r2))
        parted = set()
        for r, cut in ((r1, p1), (r2, p2)):
            seq = routes[r, : lengths[r]].tolist()
            parted |= {x // 2 for x in seq[cut:] if x % 2 and seq.index(x - 1) < cut}
            if draw % 2:
                assert 12 not in seq[cut:] and 13 not in seq[cut:]  # the tied rider stays in route 1
        assert set(np.flatnonzero(removed).tolist()) == parted
        _kept_visits(routes, lengths, removed, work, work_lengths, r1, p1, r2, p2)
        for r, head, other, tail in ((r1, p1, r2, p2), (r2, p2, r1, p1)):
            expected = [x for x in routes[r, :head].tolist() + routes[other, tail : lengths[other]].tolist()]
            assert work[r, : work_lengths[r]].tolist() == [x for x in expected if x // 2 not in parted]
        visits = [x for r in range(n_routes) for x in work[r, : work_lengths[r]].tolist()]
        assert sorted(visits) == sorted(x for k in range(n_req) if k not in parted for x in (2 * k, 2 * k + 1))
        for r in range(n_routes):
            seq = work[r, : work_lengths[r]].tolist()
            assert all(seq.index(x - 1) < seq.index(x) for x in seq if x % 2)
    assert {frozenset(pair) for pair in pairs} == {frozenset((0, 1)), frozenset((0, 2)), frozenset((1, 2))}


RUIN_AND_RECREATE_VARIANTS = [
    {"string_share": 1.0},
    {"regret_share": 1.0},
    {"string_share": 0.5, "regret_share": 0.5},
    {"tail_share": 1.0},  # two routes' tails swapped (one vehicle: no second route, the other ruins instead)
    {"tail_share": 0.5, "time_warp": True, "warp_min_requests_per_route": 0},
    {"recreate_attempts": 3},  # a failed recreate tried again with the rider left out first
    {"recreate_attempts": 3, "regret_share": 0.5},
    # late plans on the way (only without ride limits: not in the brute-force test), then on time only
    {"time_warp": True, "warp_min_requests_per_route": 0},
    {"time_warp": True, "warp_min_requests_per_route": 0, "warp_share": 0.5},
    # steps that leave riders out kept at an adapting penalty; only plans serving everyone become the best
    {"bank_relax": 1.0},
    {"bank_relax": 10.0, "time_warp": True, "warp_min_requests_per_route": 0},
]


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("variant", RUIN_AND_RECREATE_VARIANTS)
def test_ruin_and_recreate_variants_reach_the_brute_force_tour(seed: int, variant: dict[str, float]) -> None:
    """One vehicle, three requests on a line with a ride limit and few seats: from the requests served
    one after the other, ruin and recreate with string ruins, regret insertion or retried recreates
    ends at the shortest feasible tour an exhaustive search finds."""
    rng = np.random.default_rng(seed)
    positions = [0.0, *rng.uniform(-50, 50, 6).round(1)]
    problem = line_problem(
        positions, [(1, 2), (3, 4), (5, 6)], max_ride=float(rng.uniform(20, 80)), seats=int(rng.integers(1, 3))
    )
    expected = brute_force_single_vehicle(problem)
    one_by_one = RoutePlan(
        (PlannedRoute(problem.vehicles[0].id, tuple(Visit(r.id, d) for r in problem.requests for d in (False, True))),)
    )
    params = LnsParams(**variant)  # type: ignore[arg-type]
    shorter = shorten_routes(problem, one_by_one, Budget(iterations=20), relatedness(problem), seed=seed, params=params)
    if shorter is None:
        # the start has no schedule: a ride alone breaks the limit, and then no tour is feasible
        assert np.isinf(expected)
        return
    solution = schedule(problem, shorter)
    assert not solution.unserved and validate(problem, solution).ok
    assert solution.distance == pytest.approx(expected, abs=0.05)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("vehicles_first", [True, False])
@pytest.mark.parametrize("variant", RUIN_AND_RECREATE_VARIANTS)
def test_ruin_and_recreate_variants_keep_every_rider_and_repeat(
    seed: int, vehicles_first: bool, variant: dict[str, float]
) -> None:
    """Twelve requests with tight windows, one route each to start: the shortened plan serves everyone,
    is valid by the independent validator, never longer than the start, never uses more vehicles where
    vehicles count, and the same seed gives the same plan."""
    problem = dataclasses.replace(random_problem(seed, n_requests=12), minimize_vehicles=vehicles_first)
    start = one_route_each(problem)
    params = LnsParams(**variant)  # type: ignore[arg-type]
    related = relatedness(problem)
    shorter = shorten_routes(problem, start, Budget(iterations=30), related, seed=seed, params=params)
    again = shorten_routes(problem, start, Budget(iterations=30), related, seed=seed, params=params)
    assert shorter is not None and shorter == again
    solution = schedule(problem, shorter)
    assert not solution.unserved and validate(problem, solution).ok
    assert solution.distance <= schedule(problem, start).distance + 1e-6
    if vehicles_first:
        assert len(shorter.routes) <= len(start.routes)


def test_the_lns_kernel_is_compiled_once_for_every_phase() -> None:
    """Through the late phase (time warp) and back to punctual plans the kernel keeps one signature:
    a second one would be compiled on a fresh machine inside some search's time limit (seconds lost)."""
    from dispatch.lns import _lns_steps

    problem = dataclasses.replace(random_problem(1, n_requests=12), minimize_vehicles=True)
    params = LnsParams(time_warp=True, warp_min_requests_per_route=0, steps_per_call=5)
    shorter = shorten_routes(
        problem, one_route_each(problem), Budget(iterations=20), relatedness(problem), params=params
    )
    assert shorter is not None
    assert len(_lns_steps.signatures) == 1


@pytest.mark.parametrize("seed", range(2))
@pytest.mark.parametrize("starts", [{"restarts": 3, "probes": 1}, {"probes": 3}])
def test_new_starts_keep_the_fleet_and_repeat_under_a_work_budget(seed: int, starts: dict[str, int]) -> None:
    """Vehicles first: rounds or probes from new ejection-pool starts never end with more routes than a
    single round or a worse plan than the start, the plan is valid, and the same seed gives the same plan."""
    problem = random_problem(seed, n_requests=10)
    first = one_route_each(problem)
    params = work_budget(40, seed=seed).with_changes(lns=starts)
    one_round = params.with_changes(lns={"restarts": 1, "probes": 1})
    start = eject_routes(problem, first, params.budget.share(0.3), params)
    single = shorten_from_new_starts(problem, start, params.budget.share(0.5), one_round, first=first)
    several = shorten_from_new_starts(problem, start, params.budget.share(0.5), params, first=first)
    again = shorten_from_new_starts(problem, start, params.budget.share(0.5), params, first=first)
    assert several == again
    assert several.rank(problem) <= start.rank(problem)
    assert len(several.routes) <= len(single.routes)
    assert not several.unserved(problem)
    assert not validate(problem, schedule(problem, several)).violations


@pytest.mark.parametrize("seed", range(2))
def test_probes_start_from_the_pools_other_runs_before_running_the_pool_again(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool stage hands back its other runs' plans with as few routes as the best; probes start
    from them first, so with as many probes as plans no new pool run is made. The plan is never worse
    than the start, serves everyone, is valid, and the same seed gives the same plan."""
    import dispatch.route_min

    problem = random_problem(seed, n_requests=10)
    first = one_route_each(problem)
    params = work_budget(200, seed=seed).with_changes(ejection={"restarts": 4})
    start, starts = eject_routes_with_starts(problem, first, params.budget.share(0.3), params)
    assert starts
    assert all(other.rank(problem)[:2] == start.rank(problem)[:2] for other in starts)

    def no_new_pool_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("a new pool run although the pool's own plans were at hand")

    monkeypatch.setattr(dispatch.route_min, "eliminate_routes_by_ejection", no_new_pool_run)
    probed = params.with_changes(lns={"probes": 1 + len(starts), "exchanges": 0})
    plan = shorten_from_new_starts(problem, start, params.budget.share(0.5), probed, first=first, starts=starts)
    again = shorten_from_new_starts(problem, start, params.budget.share(0.5), probed, first=first, starts=starts)
    assert plan == again
    assert plan.rank(problem) <= start.rank(problem)
    assert not plan.unserved(problem)
    assert validate(problem, schedule(problem, plan)).ok


@pytest.mark.parametrize("seed", range(3))
def test_a_probe_from_more_routes_empties_the_shortest_ones_and_serves_everyone(seed: int) -> None:
    """A plan with more routes than the fleet the pool reached: ``_dropped_routes`` empties routes into the
    LNS's bank (and the ejection pool) until the plan has that fleet, serves everyone, is valid, and the
    same seed gives the same plan; where the fleet cannot be reached it gives None, never a plan leaving
    riders out."""
    from dispatch.stages import _dropped_routes

    problem = random_problem(seed, n_requests=10)
    first = one_route_each(problem)
    params = work_budget(200, seed=seed)
    fleet = len(eject_routes(problem, first, params.budget.share(0.3), params).routes)
    assert fleet < len(first.routes)
    related = relatedness(problem)
    plan = _dropped_routes(problem, first, fleet, params.budget.share(0.5), related, params)
    again = _dropped_routes(problem, first, fleet, params.budget.share(0.5), related, params)
    assert plan is not None and plan == again
    assert len(plan.routes) == fleet
    assert not plan.unserved(problem)
    assert validate(problem, schedule(problem, plan)).ok
    assert _dropped_routes(problem, first, 0, params.budget.share(0.5), related, params) is None


def test_a_probe_whose_pool_run_falls_short_goes_on_by_emptying_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Probes whose new pool run ends with more routes than the fleet are not skipped: they go on from
    that plan with ``_dropped_routes``, and the plan keeps the fleet."""
    import dispatch.stages

    problem = random_problem(0, n_requests=10)
    first = one_route_each(problem)
    params = work_budget(200, seed=0).with_changes(lns={"probes": 3, "exchanges": 0})
    start = eject_routes(problem, first, params.budget.share(0.3), params)
    calls = []
    dropped = dispatch.stages._dropped_routes

    def spy(*args: object, **kwargs: object) -> RoutePlan | None:
        calls.append(args)
        return dropped(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(dispatch.stages, "eject_routes", lambda problem, plan, *rest: plan)  # no route goes
    monkeypatch.setattr(dispatch.stages, "_dropped_routes", spy)
    plan = shorten_from_new_starts(problem, start, params.budget.share(0.5), params, first=first)
    assert len(calls) == 2  # the two probes after the first
    assert len(plan.routes) == len(start.routes)
    assert not plan.unserved(problem)


def test_lns_parameters_name_every_bad_setting() -> None:
    with pytest.raises(DispatchError) as info:
        LnsParams(
            restarts=0, blink=1.0, probes=0, string_share=1.5, regret_share=-0.1, recreate_attempts=0,
            time_warp=1, warp_feasible_share=2.0, warp_min_requests_per_route=-1, warp_share=1.5, bank_relax=-1.0,  # type: ignore[arg-type]
        )  # fmt: skip
    words = (
        "restarts",
        "blink",
        "probes",
        "string_share",
        "regret_share",
        "recreate_attempts",
        "time_warp",
        "warp_min_requests_per_route",
        "warp_share",
        "bank_relax",
    )
    for word in (*words, "warp_feasible_share"):
        assert word in str(info.value)


def test_a_relaxed_bank_and_retried_recreates_together_are_refused() -> None:
    with pytest.raises(DispatchError, match=r"bank_relax .* recreate_attempts"):
        LnsParams(bank_relax=5.0, recreate_attempts=3)


def test_rounds_and_probes_together_are_refused_not_ignored() -> None:
    """Both use new pool starts in different ways; with both above 1 one would silently not apply."""
    with pytest.raises(DispatchError, match=r"restarts \(3\) and probes \(2\)"):
        LnsParams(restarts=3, probes=2)
    with pytest.raises(DispatchError, match=r"probes = 1 for rounds"):
        LnsParams(restarts=3)  # probes are on by default: rounds must turn them off
    assert LnsParams(restarts=3, probes=1).restarts == 3 and LnsParams(probes=3).restarts == 1
