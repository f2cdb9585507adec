"""Plans shared between parallel workers (dispatch.fleet_board): a worker with more routes goes on from
another's fewer (probing them in the other order), workers at the same fleet exchange routes with each
other's plans; the solver's two workers under a time budget share them and return a valid plan."""

from __future__ import annotations

import pytest
from budgets import work_budget
from test_route_min import one_route_each, random_problem

from dispatch.budget import Budget
from dispatch.fleet_board import FleetBoard
from dispatch.model import Problem
from dispatch.ortools_search import schedule
from dispatch.plan import RoutePlan
from dispatch.route_min import pool_runs
from dispatch.solver import SolverParams, solve
from dispatch.stages import eject_routes, eject_routes_with_starts, shorten_from_new_starts
from dispatch.validate import validate

pytestmark = pytest.mark.usefixtures("compiled_kernels")


def test_the_board_offers_only_another_workers_plans_with_fewer_routes() -> None:
    problem = random_problem(2, 4)
    many = one_route_each(problem)  # four routes
    fewer = eject_routes(problem, many, Budget(iterations=40), work_budget(40))
    assert len(fewer.routes) < len(many.routes)
    shared: dict[int, tuple[RoutePlan, ...]] = {}
    mine, other = FleetBoard(shared, 0), FleetBoard(shared, 1)
    mine.post([fewer])
    assert mine.fewer_routes(problem, many.rank(problem)[:2]) == ()  # its own plans are not news
    other.post([many])
    assert other.fewer_routes(problem, many.rank(problem)[:2]) == (fewer,)
    assert mine.fewer_routes(problem, fewer.rank(problem)[:2]) == ()  # more routes: not taken
    # a plan that leaves a rider out ranks after any plan that serves all, whatever its routes
    short_of_one = RoutePlan(fewer.routes[1:])
    assert short_of_one.unserved(problem)
    other.post([short_of_one])
    assert mine.fewer_routes(problem, many.rank(problem)[:2]) == ()


def test_the_board_offers_another_workers_plans_at_the_same_fleet() -> None:
    problem = random_problem(2, 4)
    many = one_route_each(problem)
    fewer = eject_routes(problem, many, Budget(iterations=40), work_budget(40))
    shared: dict[int, tuple[RoutePlan, ...]] = {}
    mine, other = FleetBoard(shared, 0), FleetBoard(shared, 1)
    mine.post([fewer, many])
    assert mine.same_fleet(problem, fewer.rank(problem)[:2]) == ()  # its own plans are not news
    assert other.same_fleet(problem, fewer.rank(problem)[:2]) == (fewer,)
    assert other.same_fleet(problem, many.rank(problem)[:2]) == (many,)
    assert other.same_fleet(problem, (0, len(fewer.routes) - 1)) == ()


def _same_routes_reordered(plan: RoutePlan) -> RoutePlan:
    """Another plan object with the same routes (the same rank)."""
    return RoutePlan(tuple(reversed(plan.routes)))


def _fewer_routes_than_first(probes: int) -> tuple[Problem, RoutePlan, SolverParams, RoutePlan]:
    """A ten-request problem, its first plan (a route per request), settings with ``probes`` probes of one
    step each, and the ejection pool's plan with fewer routes (another worker's, in the tests below)."""
    problem = random_problem(0, n_requests=10)
    first = one_route_each(problem)
    params = work_budget(40, seed=0).with_changes(lns={"steps_per_call": 1, "probes": probes})
    fewer = eject_routes(problem, first, Budget(iterations=200), params)
    assert len(fewer.routes) < len(first.routes)
    return problem, first, params, fewer


def test_a_worker_probes_another_workers_plans_from_the_last_and_posts_its_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dispatch.lns

    problem, first, params, fewer = _fewer_routes_than_first(probes=2)
    last = _same_routes_reordered(fewer)
    shared: dict[int, tuple[RoutePlan, ...]] = {1: (fewer, last)}  # the other worker probes ``fewer`` first
    starts: list[RoutePlan] = []
    original = dispatch.lns.shorten_routes

    def recorded(problem, plan, *rest):  # type: ignore[no-untyped-def]
        starts.append(plan)
        return original(problem, plan, *rest)

    monkeypatch.setattr(dispatch.lns, "shorten_routes", recorded)
    best = shorten_from_new_starts(
        problem, first, Budget(iterations=3), params, first=first, board=FleetBoard(shared, 0)
    )
    assert starts[0] is last  # not the plan the other worker is shortening now
    assert shared[0], "the worker posts its probes' plans"
    assert all(plan.rank(problem)[:2] == fewer.rank(problem)[:2] for plan in shared[0])
    assert best.rank(problem) <= fewer.rank(problem)
    assert validate(problem, schedule(problem, best)).ok


def test_route_exchange_takes_donors_from_another_worker_at_the_same_fleet(monkeypatch: pytest.MonkeyPatch) -> None:
    import dispatch.stages

    problem = random_problem(1, n_requests=10)
    first = one_route_each(problem)
    params = work_budget(40, seed=1).with_changes(lns={"steps_per_call": 1, "probes": 2})
    plan = eject_routes(problem, first, Budget(iterations=200), params)
    elsewhere = _same_routes_reordered(plan)
    populations: list[list[RoutePlan]] = []
    original = dispatch.stages._best_child

    def recorded(problem, best, ends, *rest):  # type: ignore[no-untyped-def]
        populations.append(list(ends))
        return original(problem, best, ends, *rest)

    monkeypatch.setattr(dispatch.stages, "_best_child", recorded)
    board = FleetBoard({1: (elsewhere,)}, 0)
    best = shorten_from_new_starts(problem, plan, Budget(iterations=3), params, first=first, board=board)
    assert populations and any(p is elsewhere for p in populations[0])
    assert best.rank(problem) <= plan.rank(problem)
    assert validate(problem, schedule(problem, best)).ok


@pytest.mark.parametrize("seed", range(2))
def test_probes_go_on_from_another_workers_fewer_routes(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import dispatch.stages

    problem = random_problem(seed, n_requests=10)
    first = one_route_each(problem)
    params = work_budget(40, seed=seed).with_changes(lns={"steps_per_call": 1})
    fewer = eject_routes(problem, first, Budget(iterations=200), params)
    assert len(fewer.routes) < len(first.routes)
    # this worker's own means of taking routes away are held back: new pool runs give the start back,
    # and plans are not polished by OR-Tools (whose vehicle cost empties routes on ten requests)
    monkeypatch.setattr(dispatch.stages, "eject_routes", lambda problem, plan, budget, params: plan)
    monkeypatch.setattr(
        dispatch.stages,
        "_polished",
        lambda problem, plan, best, params: best if plan is None else min(plan, best, key=lambda p: p.rank(problem)),
    )
    budget = Budget(iterations=2)
    alone = shorten_from_new_starts(problem, first, budget, params, first=first)
    board = FleetBoard({1: (fewer,)}, 0)
    shared = shorten_from_new_starts(problem, first, budget, params, first=first, board=board)
    assert len(shared.routes) <= len(fewer.routes) < len(alone.routes)
    assert shared.rank(problem) <= fewer.rank(problem)
    assert not shared.unserved(problem)
    assert validate(problem, schedule(problem, shared)).ok


class _LateBoard(FleetBoard):
    """Another worker's plans, seen only after ``hidden`` looks at the board (they are posted late)."""

    def __init__(self, plans: tuple[RoutePlan, ...], hidden: int) -> None:
        super().__init__({1: plans}, 0)
        self.hidden = hidden

    def fewer_routes(self, problem: Problem, fleet: tuple[int, int]) -> tuple[RoutePlan, ...]:
        self.hidden -= 1
        return () if self.hidden >= 0 else super().fewer_routes(problem, fleet)


def test_fewer_routes_posted_after_a_workers_probes_are_probed_with_its_own_seeds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dispatch.lns
    import dispatch.stages

    problem, first, params, fewer = _fewer_routes_than_first(probes=4)
    monkeypatch.setattr(dispatch.stages, "eject_routes", lambda problem, plan, budget, params: plan)
    runs: list[tuple[RoutePlan, int]] = []  # each LNS run's start and seed
    original = dispatch.lns.shorten_routes

    def recorded(problem, plan, budget, related, scale, seed, *rest):  # type: ignore[no-untyped-def]
        runs.append((plan, seed))
        return original(problem, plan, budget, related, scale, seed, *rest)

    monkeypatch.setattr(dispatch.lns, "shorten_routes", recorded)
    board = _LateBoard((fewer,), hidden=4)  # one look before each of the four probes
    best = shorten_from_new_starts(problem, first, Budget(iterations=3), params, first=first, board=board)
    own = {seed for plan, seed in runs if plan is not fewer}
    late = [seed for plan, seed in runs if plan is fewer]
    assert len(late) >= 2, "the other worker's plan is probed, not only shortened once more"
    assert len(set(late)) == len(late) and not own & set(late)
    assert len(best.routes) <= len(fewer.routes) and not best.unserved(problem)
    assert validate(problem, schedule(problem, best)).ok


def test_two_workers_on_a_time_budget_share_plans_and_return_a_valid_plan() -> None:
    problem = random_problem(3, n_requests=10)
    params = SolverParams(time_limit_s=3.0, workers=2)
    solution = solve(problem, params)
    assert not solution.unserved
    assert validate(problem, solution).ok


def test_the_pool_reports_its_plans_as_each_run_ends_and_the_stage_posts_them() -> None:
    problem = random_problem(1, n_requests=10)
    first = one_route_each(problem)
    params = work_budget(200, seed=1).with_changes(ejection={"restarts": 4})
    reports: list[list[RoutePlan]] = []
    runs = pool_runs(problem, first, Budget(iterations=60), seed=1, params=params.ejection, report=reports.append)
    assert len(reports) == len(runs) >= 2  # one report per run that took a route away
    assert all(report == sorted(report, key=lambda plan: plan.rank(problem)) for report in reports)
    assert reports[-1] == runs
    shared: dict[int, tuple[RoutePlan, ...]] = {}
    best, _ = eject_routes_with_starts(problem, first, Budget(iterations=60), params, FleetBoard(shared, 0))
    posted = FleetBoard(shared, 1).fewer_routes(problem, first.rank(problem)[:2])
    assert posted and posted[0].rank(problem)[:2] == best.rank(problem)[:2]


class _GoneBoard(dict[int, tuple[RoutePlan, ...]]):
    """A shared dict whose manager has gone: every access fails as a closed connection does."""

    def __setitem__(self, key: int, value: tuple[RoutePlan, ...]) -> None:
        raise BrokenPipeError

    def items(self):  # type: ignore[no-untyped-def]
        raise EOFError


def test_a_board_that_cannot_be_reached_leaves_the_worker_searching_alone() -> None:
    problem = random_problem(2, 4)
    board = FleetBoard(_GoneBoard(), 0)
    board.post([one_route_each(problem)])  # no error: the post is dropped
    assert board.fewer_routes(problem, (0, 99)) == ()
