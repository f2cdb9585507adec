"""The OR-Tools dial-a-ride core, behind one function: ``solve(problem, params) -> Solution``.

Model (OR-Tools routing library):

* one routing node per depot location and two per request (its pickup and its drop-off), so
  several requests may share a location;
* a time dimension whose transit is the service time at the origin node plus the travel time,
  with waiting allowed; service-start windows on every node; vehicle shifts on start and end;
  the maximum route duration as a span bound;
* pickup and delivery pairs: same vehicle, pickup first;
* maximum ride time modelled exactly: start of service at the drop-off minus departure from the
  pickup (its start of service plus its service time) is at most L;
* seat and wheelchair capacity dimensions;
* every request optional with a large penalty, so an infeasible request is left unserved (and
  named) instead of making the whole problem fail; the solution says which;
* objective: distance; with ``Problem.minimize_vehicles`` a fixed cost per used vehicle larger
  than any route makes the objective hierarchical (vehicles first, then distance).

All times and distances are scaled to integers by ``SolverParams.scale`` (see dispatch.model).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dispatch.model import DispatchError, Problem, Request, Route, Solution, Stop, Unserved, scaled_tables
from maas.settings import read_table

FIRST_SOLUTION_STRATEGIES = (
    "PARALLEL_CHEAPEST_INSERTION",
    "SEQUENTIAL_CHEAPEST_INSERTION",
    "LOCAL_CHEAPEST_INSERTION",
    "BEST_INSERTION",
    "PATH_CHEAPEST_ARC",
    "SAVINGS",
    "AUTOMATIC",
)
LARGE_BATCH = 250  # requests: above this, the first plan comes from dispatch.construct, not OR-Tools
PORTFOLIO = ("PARALLEL_CHEAPEST_INSERTION", "LOCAL_CHEAPEST_INSERTION", "SEQUENTIAL_CHEAPEST_INSERTION")
METAHEURISTICS = (
    "GUIDED_LOCAL_SEARCH",
    "SIMULATED_ANNEALING",
    "TABU_SEARCH",
    "GENERIC_TABU_SEARCH",
    "GREEDY_DESCENT",
    "AUTOMATIC",
)

# route elimination: a time unit late costs as much as this many units of distance
LATE_COST = 100
# What parallel workers change, worker by worker (``SolverParams.diversify``): OR-Tools' LNS operators
# (remove and reinsert requests), then tabu search; each escapes basins the other stays in. Worker 0
# also goes for the smaller fleet first (``fleet_first``; no effect where vehicles do not count).
# The measurements behind these and the shares below: benchmarks/results/solver-tuning.md.
WORKER_FLAVOURS: tuple[dict[str, Any], ...] = (
    {"lns_operators": True, "fleet_first": True},
    {"metaheuristic": "TABU_SEARCH"},
)
# fleet_first: share of the time after construction for the first search, then the share of the
# time left for route elimination
FLEET_FIRST_SHARES = (0.15, 0.8)
# fleet_first with identical vehicles: share of the time after construction for the ejection pool
FLEET_FIRST_EJECTION_SHARE = 0.5
# after the ejection pool: share of the time left for dispatch.lns, which shortens the long routes
# the pool leaves better than OR-Tools does
LNS_SHARE = 0.85


@dataclass(frozen=True, slots=True)
class SolverParams:
    """Search settings; every problem is reported at once. Loadable from TOML (``[solver]`` table)."""

    time_limit_s: float = 30.0
    solution_limit: int | None = None  # stop after this many solutions instead (deterministic)
    first_solution: str = "PARALLEL_CHEAPEST_INSERTION"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    scale: int = 100
    unserved_penalty: float | None = None  # in distance units; default: 1000 x the largest distance
    log_search: bool = False
    portfolio: bool = True  # explore several constructions first, then improve the best
    legacy_constraints: bool = False  # ride time and pairing as generic CP constraints (slower; for comparison)
    lns_operators: bool = False  # add OR-Tools' insertion-based LNS neighbourhoods (remove and reinsert requests)
    gls_lambda: float | None = None  # guided local search penalty coefficient (OR-Tools default 0.1)
    iterated_local_search: bool = False
    ruin_recreate: bool = True  # after a first improvement, restart the search from perturbed best solutions
    ruin_share: float = 0.08  # share of requests removed (related ones: close in space and time) per restart
    ruin_slice_share: float = 0.04  # each restart searches this share of the time limit (at least 2 s)
    route_elimination_share: float = 0.5  # vehicles first: share of the time left spent on smaller fleets
    fleet_first: bool = False  # vehicles first: eliminate routes early and longest (FLEET_FIRST_SHARES)
    ejection_share: float = 0.25  # vehicles first, identical vehicles: share of the time for the ejection pool
    lns_share: float = 0.85  # distance only, identical vehicles: share of the time after construction for dispatch.lns
    seed: int = 0  # for the ruin-and-recreate choices
    workers: int = 1  # independent searches side by side in processes (one per core); the best is kept
    diversify: bool = True  # parallel workers differ in neighbourhoods and metaheuristic (WORKER_FLAVOURS)

    def __post_init__(self) -> None:
        problems = []
        if not self.time_limit_s > 0:
            problems.append(f"time_limit_s must be positive, got {self.time_limit_s}")
        if self.solution_limit is not None and self.solution_limit < 1:
            problems.append(f"solution_limit must be at least 1, got {self.solution_limit}")
        if self.first_solution not in FIRST_SOLUTION_STRATEGIES:
            problems.append(f"first_solution {self.first_solution!r} not in {', '.join(FIRST_SOLUTION_STRATEGIES)}")
        if self.metaheuristic not in METAHEURISTICS:
            problems.append(f"metaheuristic {self.metaheuristic!r} not in {', '.join(METAHEURISTICS)}")
        if not 0 <= self.route_elimination_share <= 1:
            problems.append(f"route_elimination_share must be in 0..1, got {self.route_elimination_share}")
        if not 0 <= self.ejection_share <= 1:
            problems.append(f"ejection_share must be in 0..1, got {self.ejection_share}")
        if not 0 <= self.lns_share <= 1:
            problems.append(f"lns_share must be in 0..1, got {self.lns_share}")
        if not 1 <= self.workers <= 64:
            problems.append(f"workers must be in 1..64, got {self.workers}")
        if not 1 <= self.scale <= 10_000:
            problems.append(f"scale must be in 1..10000, got {self.scale}")
        if self.unserved_penalty is not None and not 0 < self.unserved_penalty < 1e12:
            problems.append("unserved_penalty must be positive and below 1e12")
        if self.gls_lambda is not None and not 0 < self.gls_lambda <= 100:
            problems.append(f"gls_lambda must be in (0, 100], got {self.gls_lambda}")
        for name in ("ruin_share", "ruin_slice_share"):
            if not 0 < getattr(self, name) <= 1:
                problems.append(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if not 0 <= self.seed < 2**31:
            problems.append(f"seed must be in 0..2**31-1, got {self.seed}")
        if self.solution_limit is not None and self.solution_limit > 10**9:
            problems.append(f"solution_limit must be at most 1e9, got {self.solution_limit}")
        if not self.time_limit_s <= 7 * 86400:
            problems.append(f"time_limit_s must be at most a week, got {self.time_limit_s}")
        if problems:
            raise DispatchError("solver parameters: " + "; ".join(problems))

    @classmethod
    def from_toml(cls, path: str | Path) -> SolverParams:
        """Parameters from the ``[solver]`` table of a TOML file; every problem is reported at once."""
        return cls(**read_table(path, "solver", cls, DispatchError))


def _finite(value: float, horizon: float) -> float:
    return horizon if math.isinf(value) else value


@dataclass
class _Model:
    manager: Any
    routing: Any
    time_dim: Any
    base: int  # routing node of the first request's pickup
    service: list[float]


def _build(problem: Problem, params: SolverParams, late_cost: int | None = None) -> _Model:
    """The OR-Tools model for ``problem`` (built afresh for every search phase; it takes milliseconds).

    With ``late_cost``, the latest ends of the request windows and of the shifts become soft: being
    late costs ``late_cost`` per scaled time unit instead of being forbidden (route elimination).
    """
    from ortools.constraint_solver import pywrapcp

    scale = params.scale
    nodes = _RoutingNodes.of(problem, scale)
    # The horizon: the latest finite time in the problem plus a day's slack for unbounded windows.
    finite = [w for r in problem.requests for w in (r.pickup_window.latest, r.dropoff_window.latest)] + [
        v.shift.latest for v in problem.vehicles
    ]
    finite = [w for w in finite if not math.isinf(w)]
    horizon = (
        (max(finite) if finite else 0.0) + float(problem.travel_time.max() + max(nodes.service, default=0)) * 2 + 1
    )
    if late_cost is not None:
        horizon *= 2  # room for the lateness the soft windows allow
    horizon_scaled = math.ceil(horizon * scale)

    manager = pywrapcp.RoutingIndexManager(
        len(nodes.location),
        len(problem.vehicles),
        [nodes.depot_node[v.start] for v in problem.vehicles],
        [nodes.depot_node[v.end] for v in problem.vehicles],
    )
    routing = pywrapcp.RoutingModel(manager)
    time_cb = routing.RegisterTransitMatrix((nodes.travel + nodes.service_scaled[:, None]).tolist())
    dist_cb = routing.RegisterTransitMatrix(nodes.dist.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(dist_cb)
    routing.AddDimension(time_cb, horizon_scaled, horizon_scaled, False, "time")
    time_dim = routing.GetDimensionOrDie("time")
    _add_capacities(routing, problem, nodes.base)
    penalty = _unserved_penalty(routing, problem, params, len(nodes.location))
    _add_requests(manager, routing, time_dim, problem, params, nodes, penalty, horizon, late_cost)
    _add_shifts(routing, time_dim, problem, scale, horizon, horizon_scaled, late_cost)
    return _Model(manager, routing, time_dim, nodes.base, nodes.service)


@dataclass(frozen=True)
class _RoutingNodes:
    """Routing nodes: depot locations first, then a pickup and a drop-off node per request, with their
    service times and the scaled integer travel times and distances between them."""

    depot_node: dict[int, int]
    location: list[int]
    service: list[float]
    service_scaled: np.ndarray
    travel: np.ndarray
    dist: np.ndarray

    @property
    def base(self) -> int:
        return len(self.depot_node)

    @classmethod
    def of(cls, problem: Problem, scale: int) -> _RoutingNodes:
        depot_locations = sorted({v.start for v in problem.vehicles} | {v.end for v in problem.vehicles})
        location = list(depot_locations)
        service = [0.0] * len(depot_locations)
        for r in problem.requests:
            location += [r.pickup, r.dropoff]
            service += [r.pickup_service, r.dropoff_service]
        service_scaled, travel, dist = scaled_tables(problem, location, service, scale)
        return cls({d: i for i, d in enumerate(depot_locations)}, location, service, service_scaled, travel, dist)


def _add_capacities(routing: Any, problem: Problem, n_depots: int) -> None:
    seats = [0] * n_depots
    chairs = [0] * n_depots
    for r in problem.requests:
        seats += [r.seats, -r.seats]
        chairs += [r.wheelchairs, -r.wheelchairs]
    seat_cb = routing.RegisterUnaryTransitVector(seats)
    routing.AddDimensionWithVehicleCapacity(seat_cb, 0, [v.seats for v in problem.vehicles], True, "seats")
    if any(chairs):
        chair_cb = routing.RegisterUnaryTransitVector(chairs)
        routing.AddDimensionWithVehicleCapacity(
            chair_cb, 0, [v.wheelchair_places for v in problem.vehicles], True, "wheelchairs"
        )


def _unserved_penalty(routing: Any, problem: Problem, params: SolverParams, n_locations: int) -> int:
    """What leaving a request unserved costs (and, when vehicles count, each used vehicle's fixed cost)."""
    scale = params.scale
    max_distance = float(problem.distance.max()) if problem.n_nodes else 1.0
    penalty_units = params.unserved_penalty or 1000.0 * max(max_distance, 1.0) * max(len(problem.vehicles), 1)
    if not problem.minimize_vehicles:
        return int(penalty_units * scale)
    # a used vehicle must cost more than any total distance; an unserved request more than a vehicle
    fixed = math.ceil(float(problem.distance.max()) * scale * (n_locations + 1))
    routing.SetFixedCostOfAllVehicles(fixed)
    return max(int(penalty_units * scale), fixed * 10)


def _add_requests(
    manager: Any,
    routing: Any,
    time_dim: Any,
    problem: Problem,
    params: SolverParams,
    nodes: _RoutingNodes,
    penalty: int,
    horizon: float,
    late_cost: int | None,
) -> None:
    """Pairing, precedence, windows (hard or soft), exact ride limits, the unserved penalty, tied vehicles."""
    scale = params.scale
    solver = routing.solver()
    base = nodes.base
    horizon_scaled = math.ceil(horizon * scale)
    vehicle_index = {v.id: i for i, v in enumerate(problem.vehicles)}
    for k, r in enumerate(problem.requests):
        p = manager.NodeToIndex(base + 2 * k)
        d = manager.NodeToIndex(base + 2 * k + 1)
        routing.AddPickupAndDelivery(p, d)
        # AddPickupAndDelivery guides the operators but does not by itself forbid every split pair
        solver.Add(routing.VehicleVar(p) == routing.VehicleVar(d))
        if params.legacy_constraints:
            solver.Add(time_dim.CumulVar(p) <= time_dim.CumulVar(d))
        else:
            time_dim.AddNodePrecedence(p, d, 0)
        for index, window in ((p, r.pickup_window), (d, r.dropoff_window)):
            latest = math.floor(_finite(window.latest, horizon) * scale)
            if late_cost is None:
                time_dim.CumulVar(index).SetRange(math.ceil(window.earliest * scale), latest)
            else:
                time_dim.CumulVar(index).SetRange(math.ceil(window.earliest * scale), horizon_scaled)
                time_dim.SetCumulVarSoftUpperBound(index, latest, late_cost)
        if r.max_ride_time is not None:
            # drop-off start - (pickup start + pickup service) <= L, exactly
            limit = math.floor(r.max_ride_time * scale) + int(nodes.service_scaled[base + 2 * k])
            if params.legacy_constraints:
                solver.Add(time_dim.CumulVar(d) - time_dim.CumulVar(p) <= limit)
            else:
                # as a node precedence (cumul(p) >= cumul(d) - limit), which the local search filters
                # check incrementally instead of propagating a generic constraint per move
                time_dim.AddNodePrecedence(d, p, -limit)
        routing.AddDisjunction([p, d], penalty, 2)
        if r.vehicle is not None:
            routing.VehicleVar(p).SetValues([-1, vehicle_index[r.vehicle]])  # -1: left unserved


def _add_shifts(
    routing: Any,
    time_dim: Any,
    problem: Problem,
    scale: int,
    horizon: float,
    horizon_scaled: int,
    late_cost: int | None,
) -> None:
    """Each vehicle's shift (its end soft with ``late_cost``) and maximum route duration."""
    for v, vehicle in enumerate(problem.vehicles):
        lo = math.ceil(vehicle.shift.earliest * scale)
        hi = math.floor(_finite(vehicle.shift.latest, horizon) * scale)
        time_dim.CumulVar(routing.Start(v)).SetRange(lo, hi)
        if late_cost is None:
            time_dim.CumulVar(routing.End(v)).SetRange(lo, hi)
        else:
            time_dim.CumulVar(routing.End(v)).SetRange(lo, horizon_scaled)
            time_dim.SetCumulVarSoftUpperBound(routing.End(v), hi, late_cost)
        if vehicle.max_route_duration is not None:
            time_dim.SetSpanUpperBoundForVehicle(math.floor(vehicle.max_route_duration * scale), v)
        # leave as late and come back as early as the schedule allows (tight, readable schedules);
        # with soft windows a late start would only add lateness
        if late_cost is None:
            routing.AddVariableMaximizedByFinalizer(time_dim.CumulVar(routing.Start(v)))
        routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(v)))


def _phase(
    problem: Problem,
    params: SolverParams,
    first_solution: str,
    seconds: float,
    start_from: Solution | None = None,
    late_cost: int | None = None,
) -> Solution:
    """One OR-Tools search: from a construction heuristic, or improving ``start_from``'s routes."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    started = time.perf_counter()
    model = _build(problem, params, late_cost)
    routing, manager = model.routing, model.manager
    search = pywrapcp.DefaultRoutingSearchParameters()
    search.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, first_solution)
    search.local_search_metaheuristic = getattr(routing_enums_pb2.LocalSearchMetaheuristic, params.metaheuristic)
    if params.solution_limit is not None:
        search.solution_limit = params.solution_limit
        search.time_limit.FromSeconds(int(max(params.time_limit_s, 1) * 100))  # the solution limit decides
    else:
        search.time_limit.FromMilliseconds(max(int(seconds * 1000), 100))
    search.log_search = params.log_search
    if params.lns_operators:
        from ortools.util import optional_boolean_pb2

        on = optional_boolean_pb2.BOOL_TRUE
        operators = search.local_search_operators
        for name in (
            "use_path_lns",
            "use_inactive_lns",
            "use_global_cheapest_insertion_path_lns",
            "use_local_cheapest_insertion_path_lns",
            "use_global_cheapest_insertion_expensive_chain_lns",
            "use_local_cheapest_insertion_expensive_chain_lns",
            "use_global_cheapest_insertion_close_nodes_lns",
            "use_local_cheapest_insertion_close_nodes_lns",
        ):
            setattr(operators, name, on)
    if params.gls_lambda is not None:
        search.guided_local_search_lambda_coefficient = params.gls_lambda
    if params.iterated_local_search:
        search.use_iterated_local_search = True
    if start_from is None:
        assignment = routing.SolveWithParameters(search)
    else:
        index_of = {r.id: k for k, r in enumerate(problem.requests)}
        by_vehicle = {route.vehicle: route for route in start_from.routes}
        routes = []
        for vehicle in problem.vehicles:
            route = by_vehicle.get(vehicle.id)
            nodes = (
                []
                if route is None
                else [model.base + 2 * index_of[s.request] + (s.kind == "dropoff") for s in route.stops if s.request]
            )
            routes.append([manager.NodeToIndex(n) for n in nodes])
        routing.CloseModelWithParameters(search)
        initial = routing.ReadAssignmentFromRoutes(routes, True)
        assignment = routing.SolveFromAssignmentWithParameters(initial, search) if initial else None
    if assignment is None:
        raise DispatchError(f"problem {problem.name}: OR-Tools found no solution (status {routing.status()})")
    return _extract(
        problem,
        manager,
        routing,
        assignment,
        model.time_dim,
        model.base,
        params.scale,
        model.service,
        time.perf_counter() - started,
    )


def _rank(problem: Problem, solution: Solution) -> tuple[int, int, float]:
    return (len(solution.unserved), solution.vehicles_used if problem.minimize_vehicles else 0, solution.distance)


def solve(problem: Problem, params: SolverParams | None = None, initial: Solution | None = None) -> Solution:
    """Solve a dial-a-ride problem with OR-Tools; see the module docstring for the model.

    With ``initial`` (routes as request pickups and drop-offs in order, e.g. the plan a fleet is
    already following), the search improves those routes; if OR-Tools cannot read them as a
    feasible start, it builds its own.

    Otherwise, with ``params.portfolio`` (default), a fifth of the time goes to short searches from
    several construction heuristics (cheapest insertion in parallel, local and sequential variants:
    which one fits every request differs by instance), and the rest to improving the best of them
    (fewest unserved, then fewest vehicles where they count, then distance): a first improvement,
    then, where vehicles count first, route elimination (``_eliminate_routes``) with
    ``route_elimination_share`` of the time left, then ruin-and-recreate restarts to the end.

    With ``params.workers`` > 1 (and no ``initial``), that many such searches run side by side in
    processes, each searching differently (``_worker_settings``), and the best of them is returned.
    """
    params = params or SolverParams()
    if params.workers > 1 and initial is None and params.portfolio:
        return _solve_in_parallel(problem, params)
    return _solve_one(problem, params, initial)


def _solve_one(problem: Problem, params: SolverParams, initial: Solution | None = None, variant: int = 0) -> Solution:
    """One search (see ``solve``); ``variant`` k > 0 improves the k-th best construction instead of the best
    (when it serves as many requests) and gives smaller fleets a shorter share, so parallel workers differ."""
    started = time.perf_counter()
    if initial is not None:
        try:
            best = _phase(problem, params, params.first_solution, params.time_limit_s, start_from=initial)
        except DispatchError:
            best = _phase(problem, params, params.first_solution, params.time_limit_s)
    elif not params.portfolio:
        best = _phase(problem, params, params.first_solution, params.time_limit_s)
    else:
        strategies = list(dict.fromkeys([params.first_solution, *PORTFOLIO]))
        explore = params.time_limit_s * 0.2 / len(strategies)
        candidates = _large_batch_start(problem, params) if len(problem.requests) > LARGE_BATCH else []
        if not candidates:
            candidates = [_phase(problem, params, strategy, explore) for strategy in strategies]
        ranked = sorted(candidates, key=lambda s: _rank(problem, s))
        best = ranked[0]
        alternative = ranked[variant % len(ranked)]
        if len(alternative.unserved) == len(best.unserved):
            best = alternative  # a parallel worker starts from another basin
        if variant % 2 == 1:
            params = dataclasses.replace(params, route_elimination_share=params.route_elimination_share / 2)
        remaining = params.time_limit_s - (time.perf_counter() - started)
        ruin = params.ruin_recreate and params.solution_limit is None and len(problem.requests) >= 4
        eliminate = ruin and problem.minimize_vehicles and params.route_elimination_share > 0
        first_share = 0.4 if ruin else 1.0
        if eliminate and params.ejection_share > 0 and _uniform_fleet(problem, params):
            # identical vehicles: the ejection pool takes routes away, far better than OR-Tools' moves,
            # and numba ruin and recreate shortens them (figures at LNS_SHARE); the OR-Tools route
            # elimination is then left out, and OR-Tools polishes what is left of the time
            eliminate = False
            share = FLEET_FIRST_EJECTION_SHARE if params.fleet_first else params.ejection_share
            best = _eliminate_by_ejection(problem, params, best, time.perf_counter() + remaining * share)
            # the ejection pool leaves long routes that OR-Tools hardly shortens, and on these problems
            # ruin and recreate shortens routes better than OR-Tools anyway: it gets most of the rest
            left = params.time_limit_s - (time.perf_counter() - started)
            best = _shorten_by_lns(problem, params, best, time.perf_counter() + left * LNS_SHARE)
            remaining = params.time_limit_s - (time.perf_counter() - started)
        elif ruin and not problem.minimize_vehicles and params.lns_share > 0 and _uniform_fleet(problem, params):
            # distance alone (dial-a-ride): numba ruin and recreate first, OR-Tools then polishes
            best = _shorten_by_lns(problem, params, best, time.perf_counter() + remaining * params.lns_share)
            remaining = params.time_limit_s - (time.perf_counter() - started)
        if eliminate and params.fleet_first:
            first_share, elimination_share = FLEET_FIRST_SHARES
            params = dataclasses.replace(params, route_elimination_share=elimination_share)
        if remaining > 0.5 or params.solution_limit is not None:
            improved = _phase(problem, params, params.first_solution, remaining * first_share, start_from=best)
            if _rank(problem, improved) <= _rank(problem, best):
                best = improved
        if eliminate:
            # try smaller fleets from the improved routes (shorter routes leave room)
            left = params.time_limit_s - (time.perf_counter() - started)
            best = _eliminate_routes(problem, params, best, time.perf_counter() + left * params.route_elimination_share)
        if ruin:
            best = _ruin_and_recreate(problem, params, best, started)
    return dataclasses.replace(best, solver_seconds=time.perf_counter() - started)


def _large_batch_start(problem: Problem, params: SolverParams) -> list[Solution]:
    """Cheapest insertion in time order (``dispatch.construct``), scheduled by OR-Tools; [] where it does not apply.

    On batches of hundreds of requests OR-Tools' own constructions use up their share of the time
    and leave most riders unplanned; inserting one request at a time takes about a second for a
    thousand and plans everyone the fleet can carry.
    """
    from dispatch.construct import insertion_plan

    plan = insertion_plan(problem, params.scale)
    if plan is None:
        return []
    try:
        return [_phase(problem, params, params.first_solution, max(1.0, 0.05 * params.time_limit_s), start_from=plan)]
    except DispatchError:
        return []


def _solve_in_parallel(problem: Problem, params: SolverParams) -> Solution:
    """``params.workers`` searches in separate processes, each with its own seed and start; the best wins.

    OR-Tools' routing search runs on one core; a second process is the way to use a second one. With
    a solution limit each worker is deterministic, and ties go to the lowest worker, so the result is too.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    started = time.perf_counter()
    # fork where there is one: the workers start at once, without importing OR-Tools again
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    budget = max(params.time_limit_s - 0.5, 0.5)  # process start and result transfer
    single = dataclasses.replace(params, workers=1, time_limit_s=budget)
    settings = [_worker_settings(single, k) for k in range(params.workers)]
    with ProcessPoolExecutor(params.workers, mp_context=multiprocessing.get_context(method)) as pool:
        futures = [pool.submit(_solve_one, problem, p, None, variant) for p, variant in settings]
        results = [f.result() for f in futures]
    best = min(enumerate(results), key=lambda kr: (_rank(problem, kr[1]), kr[0]))[1]
    return dataclasses.replace(best, solver_seconds=time.perf_counter() - started)


def _worker_settings(params: SolverParams, k: int) -> tuple[SolverParams, int]:
    """Parallel worker ``k``'s settings and construction variant: each searches differently.

    With ``params.diversify``, the first workers take the neighbourhoods and metaheuristic in
    ``WORKER_FLAVOURS``; the others, and all without it, improve the k-th best construction with
    their own seed.
    """
    seeded = dataclasses.replace(params, seed=params.seed + k)
    if params.diversify and k < len(WORKER_FLAVOURS):
        return dataclasses.replace(seeded, **WORKER_FLAVOURS[k]), 0
    return seeded, k


def compile_kernels() -> None:
    """Compile the numba searches (ejection pool, LNS) now, on a two-request problem.

    The first compilation takes some seconds (cached on disk afterwards); a benchmark calls this
    before its clock starts so that no instance's time limit pays for it.
    """
    from dispatch.lns import shorten_routes
    from dispatch.model import TimeWindow, Vehicle
    from dispatch.route_min import eliminate_routes_by_ejection

    xs = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    matrix = np.abs(xs[:, None] - xs[None, :])
    requests = (Request("a", 1, 2), Request("b", 3, 4))
    fleet = tuple(Vehicle(str(v), 0, 0, 2, shift=TimeWindow(0.0, 100.0)) for v in range(2))
    problem = Problem("warm-up", requests, fleet, matrix, matrix.copy(), minimize_vehicles=True)
    stops = [
        Route(
            v.id,
            (
                Stop(0, "start", None, 0, 0, 0, 0, 0),
                Stop(r.pickup, "pickup", r.id, 0, 0, 0, 0, 0),
                Stop(r.dropoff, "dropoff", r.id, 0, 0, 0, 0, 0),
                Stop(0, "end", None, 0, 0, 0, 0, 0),
            ),
        )
        for v, r in zip(fleet, requests, strict=True)
    ]
    two_routes = Solution(problem.name, tuple(stops), (), 0.0, 0.0, 0.0, 0)
    eliminate_routes_by_ejection(problem, two_routes, time.perf_counter() + 600)  # ends at one route
    shorten_routes(problem, two_routes, time.perf_counter() + 0.5, _relatedness(problem))


def _uniform_fleet(problem: Problem, params: SolverParams) -> bool:
    """Whether the numba searches (ejection pool, LNS) take this problem: identical vehicles, none fixed."""
    from dispatch.pdp_arrays import compile_problem  # numba: imported only where it is used

    return compile_problem(problem, params.scale) is not None


def _eliminate_by_ejection(problem: Problem, params: SolverParams, best: Solution, deadline: float) -> Solution:
    """``best`` with as few routes as the ejection pool reaches by ``deadline``, scheduled by OR-Tools."""
    from dispatch.route_min import eliminate_routes_by_ejection

    fewer = eliminate_routes_by_ejection(problem, best, deadline, params.scale, params.seed)
    if fewer is None:
        return best
    try:
        scheduled = _phase(problem, params, params.first_solution, 0.5, start_from=fewer)
    except DispatchError:
        return best  # OR-Tools did not accept the routes (should not happen: same integers)
    return scheduled if _rank(problem, scheduled) < _rank(problem, best) else best


def _shorten_by_lns(problem: Problem, params: SolverParams, best: Solution, deadline: float) -> Solution:
    """``best`` with routes shortened by ``dispatch.lns`` until ``deadline``, scheduled by OR-Tools."""
    from dispatch.lns import shorten_routes

    shorter = shorten_routes(problem, best, deadline, _relatedness(problem), params.scale, params.seed)
    if shorter is None:
        return best
    try:
        scheduled = _phase(problem, params, params.first_solution, 0.5, start_from=shorter)
    except DispatchError:
        return best
    return scheduled if _rank(problem, scheduled) < _rank(problem, best) else best


def _requests_of(route: Route) -> set[str]:
    return {s.request for s in route.stops if s.request is not None}


def _eliminate_routes(problem: Problem, params: SolverParams, best: Solution, deadline: float) -> Solution:
    """Route elimination: look for a solution with one vehicle fewer, again and again until the deadline.

    A fixed cost per vehicle alone rarely gets there: emptying a route leaves its requests unserved,
    and the search simply reopens the route. Here the fleet really is one vehicle smaller: one route
    is taken away, and its requests are put back with the latest ends of the time windows made soft
    (lateness costs far more than distance), so every insertion is possible and the search has a
    slope to follow (total lateness) rather than a plateau (the count of unserved requests). When the
    lateness reaches zero, the routes are read back into the model with hard windows; if they fit,
    the smaller fleet is the new best. A route that resists for several rounds gives way to another.
    """
    if any(r.vehicle is not None for r in problem.requests):
        return best  # requests tied to a vehicle: the fleet cannot simply shrink
    rng = np.random.default_rng(params.seed + 1)
    slice_s = max(2.0, params.ruin_slice_share * params.time_limit_s)
    index_of = {r.id: i for i, r in enumerate(problem.requests)}
    relatedness = _relatedness(problem)
    k = _ruin_size(params, len(problem.requests))
    late_cost = LATE_COST
    # leaving a request out must cost more than any lateness, or the search prefers it
    soft_params = dataclasses.replace(params, unserved_penalty=1e6 * max(float(problem.travel_time.max()), 1.0))
    tried: dict[str, int] = {}
    while len(best.routes) > 1 and deadline - time.perf_counter() >= 1.0:
        # the route with fewest requests (and least tried) goes first: it has the fewest to place elsewhere
        target = min(best.routes, key=lambda r: (tried.get(r.vehicle, 0), len(_requests_of(r)), rng.random()))
        tried[target.vehicle] = tried.get(target.vehicle, 0) + 1
        kept = {route.vehicle for route in best.routes if route is not target}
        smaller = dataclasses.replace(
            problem, vehicles=tuple(v for v in problem.vehicles if v.id in kept), minimize_vehicles=False
        )
        current = dataclasses.replace(best, routes=tuple(r for r in best.routes if r is not target))
        late = math.inf
        start_from = current
        for _ in range(8):
            left = deadline - time.perf_counter()
            if left < 1.0:
                return best
            try:
                candidate = _phase(
                    smaller, soft_params, params.first_solution, min(slice_s, left), start_from, late_cost
                )
            except DispatchError:
                break
            candidate_late = math.inf if candidate.unserved else _lateness(problem, candidate)
            improved = candidate_late < late
            if improved:
                current, late = candidate, candidate_late
            if late <= 1e-6:
                try:
                    feasible = _phase(smaller, params, params.first_solution, 0.2, start_from=current)
                except DispatchError:
                    feasible = None  # the schedule needs the soft windows after all
                if feasible is not None and not feasible.unserved:
                    best = feasible
                    tried.clear()
                    break
            if improved:
                start_from = current  # the search is getting somewhere: let it go on
                continue
            # a restart from the same routes would find the same ones: take out the requests
            # related to a late one (or any) so the routes around it are rebuilt
            late_requests = _late_requests(problem, current) or [r.id for r in problem.requests]
            seed = index_of[late_requests[int(rng.integers(len(late_requests)))]]
            start_from = _without(current, {problem.requests[i].id for i in np.argsort(relatedness[seed])[:k]})
    return best


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


def _ruin_size(params: SolverParams, n_requests: int) -> int:
    return max(2, min(30, round(params.ruin_share * n_requests)))


def _without(solution: Solution, removed: set[str]) -> Solution:
    """The solution's routes with the ``removed`` requests taken out (a start for reinsertion)."""
    routes = tuple(
        dataclasses.replace(route, stops=tuple(s for s in route.stops if s.request not in removed))
        for route in solution.routes
    )
    return dataclasses.replace(solution, routes=routes)


def _relatedness(problem: Problem) -> np.ndarray:
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
    return np.asarray(
        t[np.ix_(pickups, pickups)] + t[np.ix_(dropoffs, dropoffs)] + np.abs(earliest[:, None] - earliest[None, :])
    )


def _ruin_and_recreate(problem: Problem, params: SolverParams, best: Solution, started: float) -> Solution:
    """Restarts of the OR-Tools search from the best solution with related requests taken out.

    Guided local search on tight time windows accepts few moves (most neighbours are infeasible) and
    stays near one solution; removing a group of requests close in space and time and letting the
    search reinsert them moves it elsewhere. A restart is kept only if it is better.
    """
    rng = np.random.default_rng(params.seed)
    requests = problem.requests
    shrink_here = problem.minimize_vehicles and params.route_elimination_share == 0
    k = _ruin_size(params, len(requests))
    slice_s = max(2.0, params.ruin_slice_share * params.time_limit_s)
    relatedness = _relatedness(problem)
    while True:
        left = params.time_limit_s - (time.perf_counter() - started)
        if left < 1.0:
            return best
        if shrink_here and len(best.routes) > 1 and rng.random() < 0.5:
            # empty the route with fewest requests (when route elimination is off): towards a smaller fleet
            shortest = min(best.routes, key=lambda r: sum(s.kind == "pickup" for s in r.stops))
            removed = {s.request for s in shortest.stops if s.request is not None}
        else:
            seed = int(rng.integers(len(requests)))
            removed = {requests[i].id for i in np.argsort(relatedness[seed])[:k]}
        try:
            candidate = _phase(problem, params, params.first_solution, min(slice_s, left), _without(best, removed))
        except DispatchError:
            continue
        if _rank(problem, candidate) < _rank(problem, best):
            best = candidate


def _extract(
    problem: Problem,
    manager: Any,  # OR-Tools objects: RoutingIndexManager, RoutingModel, Assignment, RoutingDimension
    routing: Any,
    assignment: Any,
    time_dim: Any,
    base: int,
    scale: int,
    service: list[float],
    seconds: float,
) -> Solution:
    routes = []
    served = set()
    total_distance = 0.0
    ride_time = 0.0
    for v, vehicle in enumerate(problem.vehicles):
        index = routing.Start(v)
        if routing.IsEnd(assignment.Value(routing.NextVar(index))):
            continue  # unused vehicle
        stops = []
        seats = chairs = 0
        previous_departure = 0.0
        previous_location: int | None = None
        pickup_departure: dict[str, float] = {}
        while True:
            node = manager.IndexToNode(index)
            start = assignment.Value(time_dim.CumulVar(index)) / scale
            if node < base:
                kind = "start" if routing.IsStart(index) else "end"
                request_id = None
                location = vehicle.start if kind == "start" else vehicle.end
            else:
                k, is_drop = divmod(node - base, 2)
                r = problem.requests[k]
                request_id = r.id
                kind = "dropoff" if is_drop else "pickup"
                location = r.dropoff if is_drop else r.pickup
                served.add(r.id)
                seats += -r.seats if is_drop else r.seats
                chairs += -r.wheelchairs if is_drop else r.wheelchairs
            if previous_location is None:
                arrival = start
            else:
                arrival = previous_departure + float(problem.travel_time[previous_location, location])
                total_distance += float(problem.distance[previous_location, location])
            start = max(start, arrival)
            departure = start + service[node]
            if kind == "pickup" and request_id is not None:
                pickup_departure[request_id] = departure
            elif kind == "dropoff" and request_id is not None:
                ride_time += start - pickup_departure[request_id]
            stops.append(Stop(location, kind, request_id, arrival, start, departure, seats, chairs))
            previous_departure, previous_location = departure, location
            if routing.IsEnd(index):
                break
            index = assignment.Value(routing.NextVar(index))
        if len(stops) >= 2:
            # leave the start depot as late as the first visit allows (no idling at the depot)
            first = stops[1]
            latest = first.start_service - float(problem.travel_time[stops[0].node, first.node])
            if latest > stops[0].departure:
                stops[0] = dataclasses.replace(stops[0], arrival=latest, start_service=latest, departure=latest)
                stops[1] = dataclasses.replace(first, arrival=first.start_service)
        routes.append(Route(vehicle.id, tuple(stops)))
    unserved = tuple(Unserved(r.id, _reason(problem, r)) for r in problem.requests if r.id not in served)
    return Solution(
        problem.name, tuple(routes), unserved, total_distance, ride_time, seconds, int(assignment.ObjectiveValue())
    )


def _reason(problem: Problem, request: Request) -> str:
    """A plain reason for leaving a request out: an infeasibility on its own, or the search's choice."""
    direct = float(problem.travel_time[request.pickup, request.dropoff])
    earliest_drop = request.pickup_window.earliest + request.pickup_service + direct
    if earliest_drop > request.dropoff_window.latest:
        return "its drop-off window closes before it can arrive even when driven directly"
    if request.max_ride_time is not None and direct > request.max_ride_time:
        return f"the direct ride ({direct:.1f}) exceeds its maximum ride time ({request.max_ride_time})"
    roomy = [v for v in problem.vehicles if request.seats <= v.seats and request.wheelchairs <= v.wheelchair_places]
    if not roomy:
        need = f"{request.seats} seat(s)" + (
            f" and {request.wheelchairs} wheelchair place(s)" if request.wheelchairs else ""
        )
        return f"no vehicle has room for it ({need})"
    if request.vehicle is not None and request.vehicle not in {v.id for v in roomy}:
        return f"it is tied to vehicle {request.vehicle}, which has no room for it"
    in_shift = [
        v
        for v in roomy
        if v.shift.earliest + float(problem.travel_time[v.start, request.pickup]) <= request.pickup_window.latest
        and request.pickup_window.earliest + request.pickup_service + direct <= v.shift.latest
    ]
    if not in_shift:
        return (
            "no vehicle with room is on shift, or can reach the pickup, within its window (outside the service hours?)"
        )
    return "every vehicle with room is busy in its window: the fleet is too small for the demand at that time"
