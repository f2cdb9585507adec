"""The solver's stages: each takes a problem, a route plan and a budget, and returns a plan no worse.

``dispatch.solver.solve`` composes them; each can also be run alone (tests, experiments). What one
iteration of a budget is, stage by stage: for OR-Tools searches a solution, for ``shorten`` a batch
of ``LnsParams.steps_per_call`` ruin-and-recreate steps, for ``eject_routes`` a batch of
``EjectionParams.steps_per_call`` insertions. With iterations and a seed a stage gives the same plan
on any machine.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable

import numpy as np

from dispatch.budget import Budget, Meter
from dispatch.fleet_board import FleetBoard
from dispatch.model import DispatchError, Problem, Solution
from dispatch.ortools_search import search
from dispatch.plan import RoutePlan
from dispatch.route_exchange import exchange_routes, exchanges_routes
from dispatch.solver_params import SolverParams

log = logging.getLogger(__name__)

Stage = Callable[[Problem, RoutePlan, Budget, SolverParams], RoutePlan]

LARGE_BATCH = 250  # requests: above this, the first plan comes from dispatch.construct, not OR-Tools
# requests: above this OR-Tools' model is not built at all (building it and reading a plan into it take
# minutes on thousands of requests, whatever the time limit); the numba searches alone plan the batch
ORTOOLS_MAX_REQUESTS = 1500
PORTFOLIO = ("PARALLEL_CHEAPEST_INSERTION", "LOCAL_CHEAPEST_INSERTION", "SEQUENTIAL_CHEAPEST_INSERTION")
# route elimination: a time unit late costs as much as this many units of distance
LATE_COST = 100
# what a plan from the numba stages gets from OR-Tools before it is compared: a short polish
POLISH = Budget(seconds=0.5)
POLISH_ITERATIONS = 10
# shorten_from_new_starts: share of a new round for the ejection pool's new start
RESTART_EJECTION_SHARE = 0.3
# probes (``LnsParams.probes`` > 1): their share of the stage, all probes together; the rest goes on from the best
PROBE_SHARE = 0.4
# route exchange after the probes (``LnsParams.exchanges`` > 0): the children's share of what the probes left
EXCHANGE_SHARE = 0.5
EXCHANGE_SERVE_SHARE = 0.2  # of a child's time, for placing the riders the exchange left out
# a probe from a plan with more routes than the fleet (``_dropped_routes``): the first shortening's share,
# then of each route taken away, the LNS with its riders in the bank, and the ejection pool and the LNS after it
DROP_SHORTEN_SHARE = 0.3
DROP_BANK_SHARE = 0.4
DROP_SERVE_SHARE = 0.3
CHILD_SEEDS = 1000  # the r-th child searches with the seed of new start CHILD_SEEDS + r: apart from the probes'


def construct(problem: Problem, params: SolverParams, budget: Budget, variant: int = 0) -> RoutePlan:
    """A first plan: the best of several OR-Tools constructions, or, above ``LARGE_BATCH`` requests,
    cheapest insertion in time order (``dispatch.construct``) improved by OR-Tools.

    With ``params.ortools.portfolio`` off, only ``params.ortools.first_solution`` is tried. Parallel
    worker ``variant`` k > 0 takes the k-th best construction instead, where it serves as many.

    Parameters
    ----------
    problem
        The dial-a-ride problem.
    params
        The solver's parameters (scale, ``params.ortools``).
    budget
        Seconds or iterations (OR-Tools solutions), shared by the constructions tried.
    variant
        Which construction a parallel worker starts from (0: the best).

    Returns
    -------
    RoutePlan
        The first plan; requests it could not place are unserved.
    """
    if not params.ortools.portfolio:
        return RoutePlan.of(search(problem, params, budget))
    strategies = list(dict.fromkeys([params.ortools.first_solution, *PORTFOLIO]))
    large = len(problem.requests) > LARGE_BATCH or not ortools_applies(problem)
    candidates = _large_batch_start(problem, params, budget) if large else []
    if not candidates:
        candidates = _constructions(problem, params, budget.share(1 / len(strategies)), strategies)
    ranked = sorted(candidates, key=lambda plan: plan.rank(problem))
    alternative = ranked[variant % len(ranked)]
    if len(alternative.unserved(problem)) == len(ranked[0].unserved(problem)):
        return alternative  # a parallel worker starts from another basin
    return ranked[0]


def _constructions(problem: Problem, params: SolverParams, each: Budget, strategies: list[str]) -> list[RoutePlan]:
    """A plan from each OR-Tools construction heuristic that finds one within ``each``; where none places
    every rider, numba's cheapest insertion in time order (``dispatch.construct``) too. A ``DispatchError``
    only where no plan at all comes from either.

    An OR-Tools construction that runs out of time returns a plan serving nobody: on a short budget
    the insertion, which takes milliseconds, is then the start.
    """
    from dispatch.construct import insertion_plan

    plans = []
    failure: DispatchError | None = None
    for strategy in strategies:
        try:
            plans.append(RoutePlan.of(search(problem, params, each, first_solution=strategy)))
        except DispatchError as exc:
            failure = exc
    if all(plan.unserved(problem) for plan in plans):
        inserted = insertion_plan(problem, params.scale)
        if inserted is not None:
            log.debug("constructions within %s left riders out: cheapest insertion competes", each)
            plans.append(inserted)
    if not plans and failure is not None:
        raise failure
    return plans


def _large_batch_start(problem: Problem, params: SolverParams, budget: Budget) -> list[RoutePlan]:
    """Cheapest insertion in time order, improved by OR-Tools; [] where it does not apply.

    On batches of hundreds of requests OR-Tools' own constructions use up their share of the time
    and leave most riders unplanned; inserting one request at a time takes about a second for a
    thousand and plans everyone the fleet can carry.
    """
    from dispatch.construct import insertion_plan

    if not ortools_applies(problem):
        plan = insertion_plan(problem, params.scale, budget.seconds)
        return [] if plan is None else [plan]
    piece = budget.share(0.25)
    plan = insertion_plan(problem, params.scale, budget.share(0.75).seconds)  # the rest is the polish's
    if plan is None:
        return []
    if piece.seconds is not None:
        piece = Budget(seconds=max(1.0, piece.seconds))
    try:
        return [RoutePlan.of(search(problem, params, piece, start=plan))]
    except DispatchError:
        return []


def ortools_applies(problem: Problem) -> bool:
    """Whether OR-Tools' model is worth building for ``problem`` (``ORTOOLS_MAX_REQUESTS``)."""
    return len(problem.requests) <= ORTOOLS_MAX_REQUESTS


def improve(problem: Problem, plan: RoutePlan, budget: Budget, params: SolverParams) -> RoutePlan:
    """OR-Tools' local search (``params.ortools.metaheuristic``) from ``plan``; ``plan`` if nothing better.

    Parameters
    ----------
    problem
        The dial-a-ride problem.
    plan
        The plan to start from (every route feasible).
    budget
        Seconds, or iterations (see the module docstring for what one is here).
    params
        The solver's parameters (scale, seed and this stage's table).

    Returns
    -------
    RoutePlan
        A plan no worse than ``plan`` by ``RoutePlan.rank``.
    """
    try:
        improved = RoutePlan.of(search(problem, params, budget, start=plan))
    except DispatchError:
        return plan
    return improved if improved.rank(problem) <= plan.rank(problem) else plan


def _polished(problem: Problem, plan: RoutePlan | None, best: RoutePlan, params: SolverParams) -> RoutePlan:
    """A numba stage's ``plan`` after a short OR-Tools search (which also checks it in OR-Tools' model),
    if that beats ``best``; else ``best``."""
    if plan is None:
        return best
    if not ortools_applies(problem):
        return plan if plan.rank(problem) < best.rank(problem) else best
    budget = POLISH if params.iterations is None else Budget(iterations=POLISH_ITERATIONS)
    try:
        polished = RoutePlan.of(search(problem, params, budget, start=plan))
    except DispatchError:
        return best  # OR-Tools did not accept the routes (should not happen: same integers)
    return polished if polished.rank(problem) < best.rank(problem) else best


def serve_unserved(problem: Problem, plan: RoutePlan, budget: Budget, params: SolverParams) -> RoutePlan:
    """The requests ``plan`` leaves out placed by the ejection pool (``dispatch.route_min.serve_left_out``),
    moving others out of the way, within ``budget``; polished by OR-Tools.

    Parameters
    ----------
    problem
        The dial-a-ride problem.
    plan
        The plan to start from (every route feasible).
    budget
        Seconds, or iterations (see the module docstring for what one is here).
    params
        The solver's parameters (scale, seed and the ejection pool's table).

    Returns
    -------
    RoutePlan
        A plan no worse than ``plan`` by ``RoutePlan.rank``.
    """
    from dispatch.route_min import serve_left_out

    more = serve_left_out(problem, plan, budget, params.scale, params.seed, params.ejection)
    return _polished(problem, more, plan, params)


def eject_routes(problem: Problem, plan: RoutePlan, budget: Budget, params: SolverParams) -> RoutePlan:
    """As few routes as the ejection pool (``dispatch.route_min``) reaches within ``budget``, polished by OR-Tools.

    Parameters
    ----------
    problem
        The dial-a-ride problem.
    plan
        The plan to start from (every route feasible).
    budget
        Seconds, or iterations (see the module docstring for what one is here).
    params
        The solver's parameters (scale, seed and this stage's table).

    Returns
    -------
    RoutePlan
        A plan no worse than ``plan`` by ``RoutePlan.rank``.
    """
    return eject_routes_with_starts(problem, plan, budget, params)[0]


def eject_routes_with_starts(
    problem: Problem, plan: RoutePlan, budget: Budget, params: SolverParams, board: FleetBoard | None = None
) -> tuple[RoutePlan, tuple[RoutePlan, ...]]:
    """``eject_routes``, and the plans of the pool's other runs (``dispatch.route_min.pool_runs``) that
    reach as few routes as the best: starts in other basins for ``shorten_from_new_starts``, shortest first.
    The runs' plans go on ``board`` as each run ends (other workers may take them while this one runs on)."""
    from dispatch.route_min import pool_runs

    report = None if board is None else board.post
    runs = pool_runs(problem, plan, budget, params.scale, params.seed, params.ejection, report)
    best = _polished(problem, runs[0] if runs else None, plan, params)
    fleet = best.rank(problem)[:2]
    return best, tuple(run for run in runs[1:] if run.rank(problem)[:2] == fleet)


def shorten(
    problem: Problem,
    plan: RoutePlan,
    budget: Budget,
    params: SolverParams,
    on_best: Callable[[RoutePlan], None] | None = None,
) -> RoutePlan:
    """Routes shortened by the numba ruin and recreate (``dispatch.lns``) within ``budget``, polished by OR-Tools.

    Parameters
    ----------
    problem
        The dial-a-ride problem.
    plan
        The plan to start from (every route feasible).
    budget
        Seconds, or iterations (see the module docstring for what one is here).
    params
        The solver's parameters (scale, seed and this stage's table).
    on_best
        Shown the best plan now and then during a long run (``dispatch.lns.shorten_routes``).

    Returns
    -------
    RoutePlan
        A plan no worse than ``plan`` by ``RoutePlan.rank``.
    """
    from dispatch.lns import shorten_routes

    meter = budget.start()  # the relatedness table of thousands of requests takes a second
    related = relatedness(problem)
    shorter = shorten_routes(problem, plan, meter.left(), related, params.scale, params.seed, params.lns, on_best)
    return _polished(problem, shorter, plan, params)


def shorten_from_new_starts(
    problem: Problem,
    plan: RoutePlan,
    budget: Budget,
    params: SolverParams,
    first: RoutePlan,
    starts: tuple[RoutePlan, ...] = (),
    board: FleetBoard | None = None,
) -> RoutePlan:
    """``shorten`` from ``plan`` and then from new starts: the ejection pool again from ``first`` (the
    first plan) with another seed, each new start that reaches as few routes as the best shortened in
    turn; the best plan by ``RoutePlan.rank``.

    Where vehicles count first the fleet is as small as the pool can make it, and ruin and recreate
    settles within seconds in the basin its start lies in, whatever the temperature (measurements:
    benchmarks/results/solver-tuning.md); the pool's random choices give starts in other basins.
    ``params.lns.restarts`` rounds (1: ``shorten`` alone) share ``budget`` equally; in each new round
    the pool has ``RESTART_EJECTION_SHARE`` of the round, and where its start has more routes
    than the best plan, the round shortens the best plan again. With probes (``params.lns.probes``
    > 1) the plans ``starts`` (the pool stage's other runs, ``eject_routes_with_starts``) are
    probed before any new pool run; rounds do not use them. Probes look at ``board`` (plans of other
    workers' pool stages, ``dispatch.fleet_board``) and go on from fewer routes where another has them.
    """
    rounds = params.lns.restarts
    meter = budget.start()
    if params.lns.probes > 1:
        return _shorten_best_probe(problem, plan, meter, params, first, starts, board)
    piece = meter.left().share(1 / rounds)
    meter.charge(piece)
    best = shorten(problem, plan, piece, params)
    for r in range(1, rounds):
        if meter.exhausted(reserve_s=1.0):
            break
        piece = meter.left().share(1 / (rounds - r))
        pool = piece.share(RESTART_EJECTION_SHARE)
        meter.charge(pool)
        reseeded = _reseeded(params, r)
        start = eject_routes(problem, first, pool, _one_pool_run(reseeded))
        if start.rank(problem)[:2] > best.rank(problem)[:2]:
            # more routes (or riders left out) than the best: the round searches on from the best
            # instead, hot again and with other random choices
            start = best
        rest = meter.left().share(1 / (rounds - r))
        meter.charge(rest)
        candidate = shorten(problem, start, rest, reseeded)
        if candidate.rank(problem) < best.rank(problem):
            best = candidate
    return best


def _shorten_best_probe(
    problem: Problem,
    plan: RoutePlan,
    meter: Meter,
    params: SolverParams,
    first: RoutePlan,
    starts: tuple[RoutePlan, ...] = (),
    board: FleetBoard | None = None,
) -> RoutePlan:
    """``params.lns.probes`` short LNS runs (together ``PROBE_SHARE`` of what ``meter`` has left), the
    first from ``plan``, the next from ``starts`` (other plans with as few routes, at no cost), the
    others from new ejection-pool runs from ``first`` (a run that ends with more routes than ``plan``
    goes on by ``_dropped_routes``: shortened, then routes emptied into the LNS's bank); then
    children of the probes' plans by route exchange (``_best_child``, where routes may change
    vehicle); then the rest of the budget shortens the best plan further. Before each probe, the
    exchanges and the last run, where ``board`` holds another worker's plans with fewer routes, the
    search goes on from those (the probes' plans with more routes are dropped), probing them last
    first: the other worker probes its own from the first. Each probe's plan goes on ``board``, and
    other workers' plans with as many routes are donors for the route exchange.

    Unlike rounds, each probe is short (the LNS settles within seconds in its start's basin) and the
    long search that can also empty a route runs once, from the best basin found.
    """
    from dispatch.lns import shorten_routes

    probes = params.lns.probes
    related = relatedness(problem)
    fleet = plan.rank(problem)[:2]
    probe_budget = meter.left().share(PROBE_SHARE)
    meter.charge(probe_budget)
    probing = probe_budget.start()
    best = plan
    waiting = [plan, *starts]  # starts not probed yet
    ends: list[RoutePlan] = []  # each probe's plan, for route exchange
    own_starts = True  # whether ``waiting`` holds this worker's starts (posted) or another's (not)
    for r in range(probes):
        taken = _fewer_routes_elsewhere(problem, best, board)
        if taken:
            log.debug("probe %d: another worker's %d routes taken", r, len(taken[0].routes))
            fleet, best, waiting, ends = taken[0].rank(problem)[:2], taken[0], list(reversed(taken)), []
            own_starts = False
        piece = probing.left().share(1 / (probes - r))
        reseeded = _reseeded(params, r)
        if waiting:
            start = waiting.pop(0)
        else:
            pool = piece.share(RESTART_EJECTION_SHARE)
            probing.charge(pool)
            start = eject_routes(problem, first, pool, _one_pool_run(reseeded))
            piece = probing.left().share(1 / (probes - r))
        probing.charge(piece)
        if start.rank(problem)[:2] > fleet:
            # more routes than the fleet: shortened first, then its shortest routes emptied by the LNS's bank
            probe = _dropped_routes(problem, start, fleet[1], piece, related, reseeded)
        else:
            probe = shorten_routes(problem, start, piece, related, params.scale, reseeded.seed, params.lns)
        kept = len(ends)
        best = _kept_probe(problem, probe, fleet, best, ends, f"probe {r}")
        if board is not None and len(ends) > kept:
            board.post(sorted([*ends, *(waiting if own_starts else [])], key=lambda plan: plan.rank(problem)))
    taken = _fewer_routes_elsewhere(problem, best, board)
    if taken:
        # another worker emptied a route after this one's probes ended: this worker's probes all have a
        # route too many, so it probes the other's plans with its own seeds
        best, ends = _probe_taken(problem, taken, meter, params, related)
    elsewhere = () if board is None else board.same_fleet(problem, best.rank(problem)[:2])
    if elsewhere:
        log.debug("route exchange: %d donors from another worker", len(elsewhere))
    population = _distinct(problem, [*ends, *elsewhere])
    if params.lns.exchanges > 0 and len(population) > 1 and exchanges_routes(problem):
        best = _best_child(problem, best, population, meter, params, related)
    taken = _fewer_routes_elsewhere(problem, best, board)
    best = taken[0] if taken else best
    # ``shorten`` from the best plan (a probe's or a child's), with the relatedness already at hand
    final = _reseeded(params, probes)
    longer = shorten_routes(problem, best, meter.left(), related, final.scale, final.seed, final.lns)
    return _polished(problem, longer, best, final)


def _dropped_routes(
    problem: Problem, start: RoutePlan, routes: int, budget: Budget, related: np.ndarray, params: SolverParams
) -> RoutePlan | None:
    """``start`` (more than ``routes`` routes) shortened by the LNS, then, route by route, its route with
    fewest riders taken out and those riders left to the LNS's bank, the ones it cannot place to the
    ejection pool (which moves others out of their way), the plan shortened again; the plan at ``routes``
    routes serving everyone, or None where a route could not go.

    The ejection pool alone takes routes away from long plans and leaves them in a basin far above the
    best known distance; emptying a route of an already short plan keeps most of its structure.
    """
    from dispatch.lns import shorten_routes
    from dispatch.route_min import serve_left_out

    def shortened(plan: RoutePlan, piece: Budget) -> RoutePlan | None:
        return shorten_routes(problem, plan, piece, related, params.scale, params.seed, params.lns)

    meter = budget.start()
    shortening = meter.left().share(DROP_SHORTEN_SHARE)
    meter.charge(shortening)
    plan = shortened(start, shortening)
    # the LNS may empty routes itself: as many as are still above the fleet, each with an equal share
    while plan is not None and len(plan.routes) > routes:
        if meter.exhausted():
            return None
        piece = meter.left().share(1 / (len(plan.routes) - routes))
        meter.charge(piece)
        smallest = min(plan.routes, key=lambda route: len(route.visits))
        cut = RoutePlan(tuple(route for route in plan.routes if route is not smallest))
        plan = shortened(cut, piece.share(DROP_BANK_SHARE))
        if plan is not None and plan.unserved(problem):
            placed = serve_left_out(
                problem,
                plan,
                piece.share(DROP_SERVE_SHARE),
                params.scale,
                params.seed,
                params.ejection,
                new_routes=False,
            )
            if placed is None or placed.unserved(problem):
                return None
            plan = shortened(placed, piece.share(DROP_SERVE_SHARE))
    return plan


def _fewer_routes_elsewhere(problem: Problem, best: RoutePlan, board: FleetBoard | None) -> tuple[RoutePlan, ...]:
    """Another worker's plans on ``board`` with fewer routes than ``best`` (a probe may have emptied one), best
    first; () without a board."""
    return () if board is None else board.fewer_routes(problem, best.rank(problem)[:2])


def _probe_taken(
    problem: Problem, taken: tuple[RoutePlan, ...], meter: Meter, params: SolverParams, related: np.ndarray
) -> tuple[RoutePlan, list[RoutePlan]]:
    """Half of ``params.lns.probes`` short LNS runs (together ``PROBE_SHARE`` of what ``meter`` has left) from
    another worker's plans ``taken`` (best first, in turn), with seeds no probe of this worker used: the
    best plan and every plan at hand (``taken`` and the probes'). The LNS settles in one of a few basins
    of a start, which one by its seed, so a second worker's runs from the same start find others."""
    from dispatch.lns import shorten_routes

    probes = max(1, params.lns.probes // 2)
    budget = meter.left().share(PROBE_SHARE)
    meter.charge(budget)
    probing = budget.start()
    best, ends = taken[0], list(taken)
    for r in range(probes):
        if probing.exhausted():
            break
        start = taken[r % len(taken)]
        piece = probing.left().share(1 / (probes - r))
        probing.charge(piece)
        seed = _reseeded(params, params.lns.probes + 1 + r).seed
        probe = shorten_routes(problem, start, piece, related, params.scale, seed, params.lns)
        best = _kept_probe(problem, probe, start.rank(problem)[:2], best, ends, f"probe of another worker's plan {r}")
    return best, ends


def _kept_probe(
    problem: Problem,
    probe: RoutePlan | None,
    fleet: tuple[int, int],
    best: RoutePlan,
    ends: list[RoutePlan],
    label: str,
) -> RoutePlan:
    """The better of ``best`` and ``probe``; ``probe`` joins ``ends`` (the plans for route exchange) when its
    unserved and routes rank no worse than ``fleet`` (a rank's first two): a plan with more routes is
    nothing to go on from."""
    if probe is None:
        return best
    probe_rank = probe.rank(problem)
    if probe_rank[:2] > fleet:
        return best
    log.debug("%s: %s", label, probe_rank)
    ends.append(probe)
    return probe if probe_rank < best.rank(problem) else best


def _distinct(problem: Problem, plans: list[RoutePlan]) -> list[RoutePlan]:
    """``plans`` without repeats (the same plan reaches a worker from its own probes and from the board):
    the route exchange of a plan with itself gives the plan again."""
    seen: set[tuple[int, int, float]] = set()
    kept = []
    for plan in plans:
        rank = plan.rank(problem)
        if rank not in seen:
            seen.add(rank)
            kept.append(plan)
    return kept


def _best_child(
    problem: Problem, best: RoutePlan, ends: list[RoutePlan], meter: Meter, params: SolverParams, related: np.ndarray
) -> RoutePlan:
    """``params.lns.exchanges`` children of the probes' plans by route exchange (``dispatch.route_exchange``),
    each shortened by a short LNS run (together ``EXCHANGE_SHARE`` of what ``meter`` has left); the
    best of ``best`` and the children. A child better than the best becomes the receiver of the next."""
    from dispatch.lns import shorten_routes
    from dispatch.route_min import serve_left_out

    children = params.lns.exchanges
    share = meter.left().share(EXCHANGE_SHARE)
    meter.charge(share)
    breeding = share.start()
    rng = np.random.default_rng(params.seed)
    population = list(ends)
    best_rank = best.rank(problem)
    for r in range(children):
        donors = [p for p in population if p is not best]
        if not donors or breeding.exhausted():
            break
        donor = donors[int(rng.integers(len(donors)))]
        child = exchange_routes(problem, best, donor, rng)
        piece = breeding.left().share(1 / (children - r))
        breeding.charge(piece)
        reseeded = _reseeded(params, CHILD_SEEDS + r)
        if child.unserved(problem):
            # the riders only the swapped-out routes carried: the ejection pool places them in the
            # child's routes, moving others where needed (the LNS's bank alone often cannot)
            serve = piece.share(EXCHANGE_SERVE_SHARE)
            child = (
                serve_left_out(problem, child, serve, params.scale, reseeded.seed, params.ejection, new_routes=False)
                or child
            )
            piece = piece.share(1 - EXCHANGE_SERVE_SHARE)
        grown = shorten_routes(problem, child, piece, related, params.scale, reseeded.seed, params.lns)
        if grown is None:
            continue
        population.append(grown)
        grown_rank = grown.rank(problem)
        log.debug("route exchange %d: %s (best %s)", r, grown_rank, best_rank)
        if grown_rank < best_rank:
            best, best_rank = grown, grown_rank
    return best


def _one_pool_run(params: SolverParams) -> SolverParams:
    """``params`` with one ejection-pool run: a new start's pool has a few seconds, too short to share."""
    return params.with_changes(ejection={"restarts": 1})


def _reseeded(params: SolverParams, r: int) -> SolverParams:
    """``params`` with the seed of the r-th new start (round or probe) of ``shorten_from_new_starts``."""
    return params.with_changes(seed=params.seed + 7919 * r)


def _restart_slice(params: SolverParams) -> tuple[float, int]:
    """The budget of one restart of an OR-Tools search: (seconds, iterations)."""
    share = params.ruin.slice_share
    return max(2.0, share * params.time_limit_s), max(10, round(share * (params.iterations or 0)))


def _ruin_size(params: SolverParams, n_requests: int) -> int:
    return max(2, min(30, round(params.ruin.removed_share * n_requests)))


def ruin_and_recreate(problem: Problem, plan: RoutePlan, budget: Budget, params: SolverParams) -> RoutePlan:
    """Restarts of the OR-Tools search from the best plan with related requests taken out, until the
    budget is spent; a restart is kept only if it is better.

    Guided local search on tight time windows accepts few moves (most neighbours are infeasible) and
    stays near one solution; removing a group of requests close in space and time and letting the
    search reinsert them moves it elsewhere.

    Parameters
    ----------
    problem
        The dial-a-ride problem.
    plan
        The plan to start from (every route feasible).
    budget
        Seconds, or iterations (see the module docstring for what one is here).
    params
        The solver's parameters (scale, seed and this stage's table).

    Returns
    -------
    RoutePlan
        A plan no worse than ``plan`` by ``RoutePlan.rank``.
    """
    rng = np.random.default_rng(params.seed)
    requests = problem.requests
    shrink_here = problem.minimize_vehicles and params.shares.route_elimination == 0
    k = _ruin_size(params, len(requests))
    slice_s, slice_iterations = _restart_slice(params)
    related = relatedness(problem)
    meter = budget.start()
    best = plan
    while not meter.exhausted(reserve_s=1.0):
        if shrink_here and len(best.routes) > 1 and rng.random() < 0.5:
            # empty the route with fewest requests (when route elimination is off): towards a smaller fleet
            shortest = min(best.routes, key=lambda r: len(r.visits))
            removed = {v.request for v in shortest.visits}
        else:
            seed = int(rng.integers(len(requests)))
            removed = {requests[i].id for i in np.argsort(related[seed])[:k]}
        piece = meter.slice(slice_s, slice_iterations)
        meter.charge(piece)
        try:
            candidate = RoutePlan.of(search(problem, params, piece, start=best.without(removed)))
        except DispatchError:
            continue
        if candidate.rank(problem) < best.rank(problem):
            best = candidate
    return best


def eliminate_routes(problem: Problem, plan: RoutePlan, budget: Budget, params: SolverParams) -> RoutePlan:
    """Route elimination with OR-Tools: look for a plan with one vehicle fewer, again and again.

    A fixed cost per vehicle alone rarely gets there: emptying a route leaves its requests unserved,
    and the search simply reopens the route. Here the fleet really is one vehicle smaller: one route
    is taken away, and its requests are put back with the latest ends of the time windows made soft
    (lateness costs far more than distance), so every insertion is possible and the search has a
    slope to follow (total lateness) rather than a plateau (the count of unserved requests). When the
    lateness reaches zero, the routes are read back into the model with hard windows; if they fit,
    the smaller fleet is the new best. A route that resists for several rounds gives way to another.

    Parameters
    ----------
    problem
        The dial-a-ride problem.
    plan
        The plan to start from (every route feasible).
    budget
        Seconds, or iterations (see the module docstring for what one is here).
    params
        The solver's parameters (scale, seed and this stage's table).

    Returns
    -------
    RoutePlan
        A plan no worse than ``plan`` by ``RoutePlan.rank``.
    """
    if any(r.vehicle is not None for r in problem.requests):
        return plan  # requests tied to a vehicle: the fleet cannot simply shrink
    rng = np.random.default_rng(params.seed + 1)
    meter = budget.start()
    # leaving a request out must cost more than any lateness, or the search prefers it
    soft = dataclasses.replace(params, unserved_penalty=1e6 * max(float(problem.travel_time.max()), 1.0))
    tried: dict[str, int] = {}
    related = relatedness(problem)  # once: every route tried below reuses it
    best = plan
    while len(best.routes) > 1 and not meter.exhausted(reserve_s=1.0):
        # the route with fewest requests (and least tried) goes first: it has the fewest to place elsewhere
        target = min(best.routes, key=lambda r: (tried.get(r.vehicle, 0), len(r.visits), rng.random()))
        tried[target.vehicle] = tried.get(target.vehicle, 0) + 1
        smaller = dataclasses.replace(
            problem,
            vehicles=tuple(v for v in problem.vehicles if v.id != target.vehicle),
            minimize_vehicles=False,
        )
        start = best.without_route(target.vehicle)
        fewer = _one_route_fewer(problem, smaller, start, meter, params, soft, rng, related)
        if fewer is None and meter.exhausted(reserve_s=1.0):
            return best
        if fewer is not None:
            best = fewer
            tried.clear()
    return best


def _one_route_fewer(
    problem: Problem,
    smaller: Problem,
    start: RoutePlan,
    meter: Meter,
    params: SolverParams,
    soft: SolverParams,
    rng: np.random.Generator,
    related: np.ndarray,
) -> RoutePlan | None:
    """Up to eight soft-window searches on the ``smaller`` fleet from ``start``; the plan with every
    request served in its windows, or None."""
    index_of = {r.id: i for i, r in enumerate(problem.requests)}
    k = _ruin_size(params, len(problem.requests))
    slice_s, slice_iterations = _restart_slice(params)
    check = Budget(seconds=0.2) if params.iterations is None else Budget(iterations=1)
    current, late = start, math.inf
    current_schedule: Solution | None = None  # with soft windows: who is late
    for _ in range(8):
        if meter.exhausted(reserve_s=1.0):
            return None
        piece = meter.slice(slice_s, slice_iterations)
        meter.charge(piece)
        try:
            candidate = search(smaller, soft, piece, start=start, late_cost=LATE_COST)
        except DispatchError:
            return None
        candidate_late = math.inf if candidate.unserved else _lateness(problem, candidate)
        improved = candidate_late < late
        if improved:
            current, late, current_schedule = RoutePlan.of(candidate), candidate_late, candidate
        if late <= 1e-6:
            try:
                feasible = search(smaller, params, check, start=current)
            except DispatchError:
                feasible = None  # the schedule needs the soft windows after all
            if feasible is not None and not feasible.unserved:
                return RoutePlan.of(feasible)
        if improved:
            start = current  # the search is getting somewhere: let it go on
            continue
        # a restart from the same routes would find the same ones: take out the requests
        # related to a late one (or any) so the routes around it are rebuilt
        late_requests = (current_schedule and _late_requests(problem, current_schedule)) or [
            r.id for r in problem.requests
        ]
        seed = index_of[late_requests[int(rng.integers(len(late_requests)))]]
        start = current.without({problem.requests[i].id for i in np.argsort(related[seed])[:k]})
    return None


def relatedness(problem: Problem) -> np.ndarray:
    """Request-by-request dissimilarity: pickups and drop-offs apart in travel time, earliest pickups apart.

    The earliest pickup also follows from the drop-off window (dial-a-ride: an inbound request's
    pickup window is the whole day, its drop-off window is tight).
    """
    t = problem.travel_time
    pickups = np.array([r.pickup for r in problem.requests])
    dropoffs = np.array([r.dropoff for r in problem.requests])
    earliest = np.array(
        [max(r.pickup_window.earliest, r.dropoff_window.earliest - t[r.pickup, r.dropoff]) for r in problem.requests]
    )
    # summed in place: on thousands of requests each term is hundreds of megabytes
    apart = np.asarray(t[np.ix_(pickups, pickups)], dtype=np.float64)
    apart += t[np.ix_(dropoffs, dropoffs)]
    gap = earliest[:, None] - earliest[None, :]
    np.abs(gap, out=gap)
    apart += gap
    return apart


def _lateness_by_stop(problem: Problem, solution: Solution) -> list[tuple[str | None, float]]:
    """How late each stop starts after its window closes (soft-window search): (request, lateness)."""
    request = {r.id: r for r in problem.requests}
    shift_end = {v.id: v.shift.latest for v in problem.vehicles}
    lateness = []
    for route in solution.routes:
        for stop in route.stops:
            if stop.request is not None:
                r = request[stop.request]
                latest = r.pickup_window.latest if stop.kind == "pickup" else r.dropoff_window.latest
            else:
                latest = shift_end[route.vehicle] if stop.kind == "end" else math.inf
            lateness.append((stop.request, max(0.0, stop.start_service - latest)))
    return lateness


def _lateness(problem: Problem, solution: Solution) -> float:
    return sum(late for _, late in _lateness_by_stop(problem, solution))


def _late_requests(problem: Problem, solution: Solution) -> list[str]:
    late = {request for request, lateness in _lateness_by_stop(problem, solution) if lateness > 1e-6}
    return sorted(r for r in late if r is not None)
