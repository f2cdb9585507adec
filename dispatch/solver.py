"""The dial-a-ride solver: ``solve(problem, params) -> Solution``, composed of the stages of
``dispatch.stages`` under one budget (seconds, or iterations for the same plan on any machine).

The composition, for a problem of four requests or more:

1. ``construct``: a first plan (a fifth of the budget; 8 % where the ejection pool follows);
2. ``serve_unserved`` where that plan leaves riders out: the ejection pool places them;
3. the numba stages (any fleet: mixed seats, depots and shifts, riders tied to their vehicle): where
   vehicles count first ``eject_routes`` (``EjectionParams.restarts`` runs of the ejection pool from the
   first plan, the fewest routes kept) then ``shorten_from_new_starts`` (``shorten`` from the
   pool's plan, from its other runs' plans with as few routes, and from new pool runs:
   ``LnsParams.probes``, six by default, or ``restarts``; a new run that stops short of the fleet is
   shortened and its shortest routes emptied into the LNS's bank; then
   children of the probes' plans by route exchange, ``LnsParams.exchanges``), otherwise ``shorten`` alone;
   parallel workers under a time budget post their pool runs' plans (``dispatch.fleet_board``), and a
   worker's probes go on from another's plans where those have fewer routes;
4. ``improve``: OR-Tools' local search from the best plan;
5. where vehicles count first and the ejection pool did not run, ``eliminate_routes``;
6. ``ruin_and_recreate`` to the end of the budget;

and at last ``schedule`` gives the best plan its times. Above ``stages.ORTOOLS_MAX_REQUESTS``
requests OR-Tools' model is not built: the first plan is cheapest insertion (stopped at
``LARGE_BATCH_INSERTION_SHARE`` of a time budget), the numba LNS has the rest (its bank places the
riders insertion did not reach; the ejection pool's steps are too slow on routes of hundreds of stops)
and ``array_schedule.schedule_from_arrays`` gives the times. The OR-Tools model is described in
``dispatch.ortools_search``; the shares of the budget are ``SolverParams.shares`` and the constants
below (measurements: benchmarks/results/solver-tuning.md).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import time
from typing import Any

import numpy as np

from dispatch.array_schedule import schedule_from_arrays
from dispatch.budget import Budget, Meter
from dispatch.fleet_board import FleetBoard
from dispatch.memory import available_bytes, bytes_per_worker, workers_that_fit
from dispatch.model import DispatchError, Problem, Request, Solution, TimeWindow, Vehicle
from dispatch.ortools_search import schedule, search
from dispatch.plan import PlannedRoute, RoutePlan, Visit
from dispatch.progress import ProgressSink, QueueSink, StageReporter, drain
from dispatch.solver_params import (
    FIRST_SOLUTION_STRATEGIES,
    METAHEURISTICS,
    EjectionParams,
    LnsParams,
    OrtoolsParams,
    RuinParams,
    SolverParams,
    StageShares,
)
from dispatch.stages import (
    Stage,
    construct,
    eject_routes_with_starts,
    eliminate_routes,
    improve,
    ortools_applies,
    relatedness,
    ruin_and_recreate,
    serve_unserved,
    shorten,
    shorten_from_new_starts,
)

log = logging.getLogger(__name__)

__all__ = [
    "FIRST_SOLUTION_STRATEGIES",
    "METAHEURISTICS",
    "EjectionParams",
    "LnsParams",
    "OrtoolsParams",
    "RuinParams",
    "SolverParams",
    "StageShares",
    "compile_kernels",
    "solve",
]

# What parallel workers change, worker by worker (``SolverParams.diversify``): OR-Tools' LNS operators
# (remove and reinsert requests), then tabu search; each escapes basins the other stays in. Worker 0
# also goes for the smaller fleet first (``fleet_first``; its ejection pool puts a rider that fits nowhere
# back in the pool instead of giving the route up, and runs three times, each with a third of the stage and
# half of that as patience: where a fleet one smaller than the first runs reach needs a long run, eight short
# runs never get there; no effect where vehicles do not count), worker 1 keeps time for distance and its
# eight short runs give the probes their starts; the better of the two is better than either
# (benchmarks/results/solver-tuning.md).
WORKER_FLAVOURS: tuple[dict[str, Any], ...] = (
    {
        "ortools": {"lns_operators": True},
        "shares": {"fleet_first": True},
        "ejection": {"retry_stuck": True, "restarts": 3, "patience": 0.5},
    },
    {"ortools": {"metaheuristic": "TABU_SEARCH"}},
)
CONSTRUCTION_SHARE = 0.2  # of the whole budget, for the first plan
# fleet_first: share of what is left after construction for the first search, then the share of
# what is left for route elimination
FLEET_FIRST_SHARES = (0.15, 0.8)
# fleet_first with identical vehicles: share of what is left after construction for the ejection pool
FLEET_FIRST_EJECTION_SHARE = 0.5
# above stages.ORTOOLS_MAX_REQUESTS under a time budget: cheapest insertion may use this share at most
LARGE_BATCH_INSERTION_SHARE = 0.35
# of what is left after construction, at most, for placing the riders the first plan leaves out
SERVE_SHARE = 0.3
# after the ejection pool: share of what is left for the numba LNS, which shortens the long routes
# the pool leaves better than OR-Tools does; OR-Tools' searches after it (improve, ruin and recreate)
# have the rest, and almost never shorten the LNS's plan (benchmarks/results/solver-tuning.md)
LNS_AFTER_EJECTION_SHARE = 0.97


def solve(
    problem: Problem,
    params: SolverParams | None = None,
    initial: RoutePlan | None = None,
    progress: ProgressSink | None = None,
) -> Solution:
    """Solve a dial-a-ride problem: the stages of the module docstring, then ``schedule``.

    Parameters
    ----------
    problem
        Requests, vehicles and matrices.
    params
        The budget (``time_limit_s`` or ``iterations``), the integer scale, the workers and each
        stage's settings; default ``SolverParams()``.
    initial
        A plan to improve (e.g. the one a fleet is already following) instead of constructing one;
        if OR-Tools cannot read it as a feasible start, it constructs its own.
    progress
        Called with a ``dispatch.progress.SolveProgress`` after each stage of each worker (in this
        process), for a caller that shows a long job moving; the plan does not depend on it.

    Returns
    -------
    Solution
        Routes with their schedules, and every request left out with a reason.

    With ``params.workers`` > 1 (and no ``initial``), that many searches run side by side in
    processes, each searching differently (``WORKER_FLAVOURS``), and the best is returned.
    """
    params = params or SolverParams()
    if not params.ortools.portfolio and initial is None and not ortools_applies(problem):
        # OR-Tools alone cannot read a batch this large within any limit: the stages plan it instead
        log.warning(
            "[solver.ortools] portfolio = false (OR-Tools alone) does not apply to %d requests "
            "(more than dispatch.stages.ORTOOLS_MAX_REQUESTS): planning them with the numba stages",
            len(problem.requests),
        )
        params = params.with_changes(ortools={"portfolio": True})
    params = _workers_in_memory(problem, params)
    if params.workers > 1 and initial is None and params.ortools.portfolio:
        return _solve_in_parallel(problem, params, progress)
    return _solve_one(problem, params, initial, report=StageReporter(problem, progress))


def _workers_in_memory(problem: Problem, params: SolverParams) -> SolverParams:
    """``params`` with as many workers as fit in the memory available (``dispatch.memory``); a
    ``DispatchError`` saying what the batch needs where not even one does."""
    available = available_bytes()
    fit = workers_that_fit(problem, params.workers, available)
    if fit == params.workers:
        return params
    need = bytes_per_worker(problem) / 1024**3
    if fit == 0:
        raise DispatchError(
            f"{len(problem.requests)} requests need about {need:.1f} GB for the solver's tables and "
            f"{(available or 0) / 1024**3:.1f} GB is available: split the batch (by time of day, or by "
            "district) or run it on a machine with more memory"
        )
    log.warning(
        "%d requests need about %.1f GB per solver worker: running %d worker(s) instead of %d",
        len(problem.requests),
        need,
        fit,
        params.workers,
    )
    return dataclasses.replace(params, workers=fit)


def _solve_one(
    problem: Problem,
    params: SolverParams,
    initial: RoutePlan | None = None,
    variant: int = 0,
    board: FleetBoard | None = None,
    report: StageReporter | None = None,
) -> Solution:
    """One search (see ``solve``); ``variant`` k > 0 starts from the k-th best construction (when it
    serves as many requests) and gives smaller fleets a shorter share, so parallel workers differ;
    ``board``: the plans parallel workers share (``dispatch.fleet_board``); ``report``: told each
    stage's plan."""
    meter = params.budget.start()
    report = report or StageReporter(problem, None)
    if initial is not None or not params.ortools.portfolio:
        # one OR-Tools search: its solution is already scheduled by the same model, and is returned as
        # the search left it (a running service day goes on from exactly these times)
        try:
            solution = search(problem, params, params.budget, start=initial)
        except DispatchError:
            if initial is None:
                raise
            solution = search(problem, params, params.budget)
        report("OR-Tools search", RoutePlan.of(solution))
        return dataclasses.replace(solution, solver_seconds=meter.seconds_used())
    plan = _staged(problem, params, meter, variant, board, report)
    timed = (
        schedule(problem, plan, params.scale)
        if ortools_applies(problem)
        else schedule_from_arrays(problem, plan, params.scale)
    )
    return dataclasses.replace(timed, solver_seconds=meter.seconds_used())


def _staged(
    problem: Problem,
    params: SolverParams,
    meter: Meter,
    variant: int,
    board: FleetBoard | None,
    report: StageReporter,
) -> RoutePlan:
    """The composition of the module docstring, within what ``meter`` has left; ``report`` is told the
    plan after each stage."""
    ruin = params.ruin.enabled and len(problem.requests) >= 4
    eliminate = ruin and problem.minimize_vehicles and params.shares.route_elimination > 0
    numba = ruin
    pool_first = eliminate and numba and params.shares.ejection > 0
    share = params.budget.share(_construction_share(problem, params, pool_first))
    plan = construct(problem, params, share, variant)
    meter.charge(share)
    report("first plan", plan)
    if variant % 2 == 1:
        params = params.with_changes(shares={"route_elimination": params.shares.route_elimination / 2})
    if numba and plan.unserved(problem) and params.shares.ejection > 0 and ortools_applies(problem):
        # riders left out first: the ejection pool places them, moving others out of the way (not on
        # batches of thousands: on routes of hundreds of stops its steps take seconds each, and the LNS,
        # which keeps riders left out in its bank, places more in the same time)
        plan = _run(serve_unserved, problem, plan, meter, params, SERVE_SHARE)
        report("riders left out placed", plan)
    first_share = 0.4 if ruin else 1.0
    if pool_first:
        # vehicles first: the ejection pool takes routes away, far better than OR-Tools' moves,
        # and numba ruin and recreate shortens them; OR-Tools' route elimination is then left out
        eliminate = False
        first = plan
        plan, starts = _pool_stage(problem, plan, meter, params, board)
        report("routes taken away (ejection pool)", plan)
        if board is not None:
            board.post((plan, *starts))
        plan = _run(
            functools.partial(shorten_from_new_starts, first=first, starts=starts, board=board),
            problem,
            plan,
            meter,
            params,
            LNS_AFTER_EJECTION_SHARE,
        )
        report("routes shortened (ruin and recreate)", plan)
    elif numba and not problem.minimize_vehicles and params.shares.lns > 0:
        # distance alone (dial-a-ride): numba ruin and recreate first, OR-Tools then polishes (where its
        # model is worth building; otherwise the numba search has all the time)
        lns_share = params.shares.lns if ortools_applies(problem) else 1.0
        shown = functools.partial(report, "shortening routes (ruin and recreate)")
        plan = _run(functools.partial(shorten, on_best=shown), problem, plan, meter, params, lns_share)
        report("routes shortened (ruin and recreate)", plan)
    if not ortools_applies(problem):
        return plan
    if eliminate and params.shares.fleet_first:
        first_share, elimination_share = FLEET_FIRST_SHARES
        params = params.with_changes(shares={"route_elimination": elimination_share})
    if not meter.exhausted(reserve_s=0.5):
        plan = _run(improve, problem, plan, meter, params, first_share)
        report("OR-Tools local search", plan)
    if eliminate:
        # try smaller fleets from the improved routes (shorter routes leave room)
        plan = _run(eliminate_routes, problem, plan, meter, params, params.shares.route_elimination)
        report("OR-Tools route elimination", plan)
    if ruin:
        plan = _run(ruin_and_recreate, problem, plan, meter, params, 1.0)
        report("OR-Tools ruin and recreate", plan)
    return plan


def _construction_share(problem: Problem, params: SolverParams, pool_first: bool) -> float:
    if params.iterations is None and not ortools_applies(problem):
        # cheapest insertion stops at this share and the LNS places the rest from its bank; the time
        # insertion does not use goes to the LNS
        return LARGE_BATCH_INSERTION_SHARE
    return params.shares.pool_construction if pool_first else CONSTRUCTION_SHARE


def _pool_stage(
    problem: Problem, plan: RoutePlan, meter: Meter, params: SolverParams, board: FleetBoard | None = None
) -> tuple[RoutePlan, tuple[RoutePlan, ...]]:
    """``eject_routes_with_starts`` with its share of what ``meter`` has left (as ``_run``)."""
    piece = _piece(meter, _ejection_share(params))
    return (plan, ()) if piece is None else eject_routes_with_starts(problem, plan, piece, params, board)


def _ejection_share(params: SolverParams) -> float:
    return FLEET_FIRST_EJECTION_SHARE if params.shares.fleet_first else params.shares.ejection


def _run(
    stage: Stage, problem: Problem, plan: RoutePlan, meter: Meter, params: SolverParams, share: float
) -> RoutePlan:
    """``stage`` with ``share`` of what ``meter`` has left, charged to it."""
    piece = _piece(meter, share)
    return plan if piece is None else stage(problem, plan, piece, params)


def _piece(meter: Meter, share: float) -> Budget | None:
    """``share`` of what ``meter`` has left, charged to it; None where an iteration budget is spent (the
    stage is then skipped, so the same iterations give the same plan)."""
    piece = meter.left().share(share)
    if piece.iterations is not None and meter.exhausted():
        return None
    meter.charge(piece)
    return piece


def _solve_in_parallel(problem: Problem, params: SolverParams, progress: ProgressSink | None = None) -> Solution:
    """``params.workers`` searches in separate processes, each with its own seed and start; the best wins.

    OR-Tools' routing search runs on one core; a second process is the way to use a second one. With
    an iteration budget each worker is deterministic, and ties go to the lowest worker, so the result is too.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, wait

    started = time.perf_counter()
    # fork where there is one: the workers start at once, without importing OR-Tools again
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    seconds = max(params.time_limit_s - 0.5, 0.5)  # process start and result transfer
    single = dataclasses.replace(params, workers=1, time_limit_s=seconds)
    settings = [_worker_settings(single, k) for k in range(params.workers)]
    # where vehicles count first and time is the budget, the workers share their pool stage's plans
    sharing = problem.minimize_vehicles and params.iterations is None
    with contextlib.ExitStack() as stack:
        manager = stack.enter_context(context.Manager()) if sharing or progress else None
        shared = manager.dict() if manager is not None and sharing else None
        events = manager.Queue() if manager is not None and progress else None
        pool = stack.enter_context(ProcessPoolExecutor(params.workers, mp_context=context))
        futures = [
            pool.submit(
                _solve_one,
                problem,
                p,
                None,
                variant,
                None if shared is None else FleetBoard(shared, k),
                StageReporter(problem, None if events is None else QueueSink(events), k),
            )
            for k, (p, variant) in enumerate(settings)
        ]
        if events is not None and progress is not None:
            while wait(futures, timeout=0.5).not_done:
                drain(events, progress)
            drain(events, progress)
        results = [f.result() for f in futures]
    for k, result in enumerate(results):
        log.debug("worker %d: %s", k, RoutePlan.of(result).rank(problem))
    best = min(enumerate(results), key=lambda kr: (RoutePlan.of(kr[1]).rank(problem), kr[0]))[1]
    return dataclasses.replace(best, solver_seconds=time.perf_counter() - started)


def _worker_settings(params: SolverParams, k: int) -> tuple[SolverParams, int]:
    """Parallel worker ``k``'s settings and construction variant: each searches differently.

    With ``params.diversify``, the first workers take the neighbourhoods and metaheuristic in
    ``WORKER_FLAVOURS``; the others, and all without it, improve the k-th best construction with
    their own seed.
    """
    seeded = dataclasses.replace(params, seed=params.seed + k)
    if params.diversify and k < len(WORKER_FLAVOURS):
        return seeded.with_changes(**WORKER_FLAVOURS[k]), 0
    return seeded, k


# the time-warp path of the LNS, even on the warm-up's routes of one request
WARP_WARM_UP = LnsParams(time_warp=True, warp_min_requests_per_route=0)


def compile_kernels() -> None:
    """Compile the numba stages (ejection pool, LNS) now, on a two-request problem.

    The first compilation takes some seconds (cached on disk afterwards); a benchmark calls this
    before its clock starts so that no instance's time limit pays for it.
    """
    from dispatch.lns import shorten_routes
    from dispatch.route_min import eliminate_routes_by_ejection

    xs = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    matrix = np.abs(xs[:, None] - xs[None, :])
    requests = (Request("a", 1, 2), Request("b", 3, 4))
    fleet = tuple(Vehicle(str(v), 0, 0, 2, shift=TimeWindow(0.0, 100.0)) for v in range(2))
    problem = Problem("warm-up", requests, fleet, matrix, matrix.copy(), minimize_vehicles=True)
    two_routes = RoutePlan(
        tuple(PlannedRoute(v.id, (Visit(r.id, False), Visit(r.id, True))) for v, r in zip(fleet, requests, strict=True))
    )
    eliminate_routes_by_ejection(problem, two_routes, Budget(seconds=600), floor=1)  # ends at one route
    shorten_routes(problem, two_routes, Budget(iterations=1), relatedness(problem))
    shorten_routes(problem, two_routes, Budget(iterations=1), relatedness(problem), params=WARP_WARM_UP)
