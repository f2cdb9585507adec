"""OR-Tools behind one door: ``search`` (a problem and a budget in, a scheduled solution out) and
``schedule`` (a route plan in, its times out). No other module imports OR-Tools.

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
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # for annotations only: OR-Tools is imported when a search runs
    from ortools.constraint_solver.routing_parameters_pb2 import RoutingSearchParameters

from dispatch.budget import Budget
from dispatch.model import DispatchError, Problem, Request, Route, Solution, Stop, Unserved, scaled_tables
from dispatch.plan import RoutePlan
from dispatch.solver_params import OrtoolsParams, SolverParams

_LNS_OPERATORS = (
    "use_path_lns",
    "use_inactive_lns",
    "use_global_cheapest_insertion_path_lns",
    "use_local_cheapest_insertion_path_lns",
    "use_global_cheapest_insertion_expensive_chain_lns",
    "use_local_cheapest_insertion_expensive_chain_lns",
    "use_global_cheapest_insertion_close_nodes_lns",
    "use_local_cheapest_insertion_close_nodes_lns",
)


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
    # The horizon: the latest finite time in the problem plus a day's slack for unbounded windows. A
    # vehicle's start counts too: one busy (charging) until after every window must still fit.
    finite = [w for r in problem.requests for w in (r.pickup_window.latest, r.dropoff_window.latest)] + [
        t for v in problem.vehicles for t in (v.shift.earliest, v.shift.latest)
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
        if params.ortools.legacy_constraints:
            solver.Add(time_dim.CumulVar(p) <= time_dim.CumulVar(d))
        else:
            time_dim.AddNodePrecedence(p, d, 0)
        for index, window in ((p, r.pickup_window), (d, r.dropoff_window)):
            latest = math.floor(_finite(window.latest, horizon) * scale)
            if late_cost is None and math.ceil(window.earliest * scale) > latest:
                # no whole time unit fits the window (e.g. [8.123, 8.123] at scale 100): the request is left
                # out (see unserved_reason) rather than handing OR-Tools an empty range, which aborts the build
                routing.ActiveVar(p).SetValue(0)
                continue
            if late_cost is None:
                time_dim.CumulVar(index).SetRange(math.ceil(window.earliest * scale), latest)
            else:
                time_dim.CumulVar(index).SetRange(math.ceil(window.earliest * scale), horizon_scaled)
                time_dim.SetCumulVarSoftUpperBound(index, latest, late_cost)
        if r.max_ride_time is not None:
            # drop-off start - (pickup start + pickup service) <= L, exactly
            limit = math.floor(r.max_ride_time * scale) + int(nodes.service_scaled[base + 2 * k])
            if params.ortools.legacy_constraints:
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


def search(
    problem: Problem,
    params: SolverParams,
    budget: Budget,
    *,
    first_solution: str | None = None,
    start: RoutePlan | None = None,
    late_cost: int | None = None,
) -> Solution:
    """One OR-Tools search: from a construction heuristic, or improving the routes of ``start``.

    Parameters
    ----------
    problem
        The dial-a-ride problem.
    params
        Scale, unserved penalty and ``params.ortools`` (metaheuristic, neighbourhoods).
    budget
        Seconds (at least 0.1), or iterations: OR-Tools stops after that many solutions, or after
        ``BRANCHES_PER_ITERATION`` failed search-tree nodes per iteration if it finds no more.
    first_solution
        The construction heuristic (default ``params.ortools.first_solution``).
    start
        Routes to improve instead of constructing (they must be feasible as they stand).
    late_cost
        If given, the latest ends of the windows and shifts are soft: a scaled time unit late
        costs this much (route elimination).

    Returns
    -------
    Solution
        The best solution found, scheduled. A ``DispatchError`` if OR-Tools found none (or could
        not read ``start``).
    """
    started = time.perf_counter()
    model = _build(problem, params, late_cost)
    routing = model.routing
    if budget.iterations is not None and params.ortools.checks_per_iteration is not None:
        # a search that finds no better solution would otherwise run to the time cap; the search checks
        # its limits at the same points on every machine, so counting the checks keeps the answer the same
        allowed = params.ortools.checks_per_iteration * budget.iterations
        routing.AddSearchMonitor(routing.solver().CustomLimit(_CheckCounter(allowed)))
    settings = _search_parameters(params, budget, first_solution or params.ortools.first_solution)
    if start is None:
        assignment = routing.SolveWithParameters(settings)
    else:
        routing.CloseModelWithParameters(settings)
        initial = routing.ReadAssignmentFromRoutes(_routes_of(problem, model, start), True)
        assignment = routing.SolveFromAssignmentWithParameters(initial, settings) if initial else None
    if assignment is None:
        raise DispatchError(f"problem {problem.name}: OR-Tools found no solution (status {routing.status()})")
    return _extract(problem, model, assignment, params.scale, time.perf_counter() - started)


def schedule(problem: Problem, plan: RoutePlan, scale: int = 100) -> Solution:
    """The times and loads of ``plan``: each stop as early as its route allows, each vehicle leaving
    its depot as late as its first stop allows.

    Parameters
    ----------
    problem
        The dial-a-ride problem the plan is for.
    plan
        Visit orders; the requests on no route are unserved (with a reason).
    scale
        The integer scale of the check (``SolverParams.scale``).

    Returns
    -------
    Solution
        The plan with its schedule. A ``DispatchError`` if the plan breaks a rule (a window, a
        seat, a ride limit, a shift).
    """
    params = SolverParams(scale=scale, ortools=OrtoolsParams(portfolio=False))
    return search(problem, params, Budget(iterations=1), start=plan)


class _CheckCounter:
    """A search limit for OR-Tools' ``CustomLimit``: true (stop) after ``allowed`` checks."""

    def __init__(self, allowed: int) -> None:
        self.left = max(allowed, 1)

    def __call__(self) -> bool:
        self.left -= 1
        return self.left < 0


def _search_parameters(params: SolverParams, budget: Budget, first_solution: str) -> RoutingSearchParameters:
    """OR-Tools' search parameters for ``params.ortools`` within ``budget``."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    ortools = params.ortools
    settings = pywrapcp.DefaultRoutingSearchParameters()
    settings.first_solution_strategy = getattr(routing_enums_pb2.FirstSolutionStrategy, first_solution)
    settings.local_search_metaheuristic = getattr(routing_enums_pb2.LocalSearchMetaheuristic, ortools.metaheuristic)
    if budget.iterations is not None:
        settings.solution_limit = max(budget.iterations, 1)
        settings.time_limit.FromSeconds(int(max(params.time_limit_s, 1) * 100))  # the solution limit decides
    else:
        settings.time_limit.FromMilliseconds(max(int((budget.seconds or 0.0) * 1000), 100))
    settings.log_search = ortools.log_search
    if ortools.lns_operators:
        from ortools.util import optional_boolean_pb2

        for name in _LNS_OPERATORS:
            setattr(settings.local_search_operators, name, optional_boolean_pb2.BOOL_TRUE)
    if ortools.gls_lambda is not None:
        settings.guided_local_search_lambda_coefficient = ortools.gls_lambda
    if ortools.iterated_local_search:
        settings.use_iterated_local_search = True
    return settings


def _routes_of(problem: Problem, model: _Model, plan: RoutePlan) -> list[list[int]]:
    """The plan's routes as OR-Tools indices, one list per vehicle of the problem."""
    index_of = {r.id: k for k, r in enumerate(problem.requests)}
    by_vehicle = {route.vehicle: route for route in plan.routes}
    routes = []
    for vehicle in problem.vehicles:
        route = by_vehicle.get(vehicle.id)
        visits = () if route is None else route.visits
        nodes = [model.base + 2 * index_of[v.request] + v.dropoff for v in visits]
        routes.append([model.manager.NodeToIndex(n) for n in nodes])
    return routes


def _extract(problem: Problem, model: _Model, assignment: Any, scale: int, seconds: float) -> Solution:
    """The solution in ``assignment``: stops with times and loads, distances from the unscaled matrices."""
    manager, routing, time_dim, base, service = model.manager, model.routing, model.time_dim, model.base, model.service
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
        leave_depot_late(problem, stops)
        routes.append(Route(vehicle.id, tuple(stops)))
    unserved = tuple(Unserved(r.id, unserved_reason(problem, r, scale)) for r in problem.requests if r.id not in served)
    return Solution(
        problem.name, tuple(routes), unserved, total_distance, ride_time, seconds, int(assignment.ObjectiveValue())
    )


def leave_depot_late(problem: Problem, stops: list[Stop]) -> None:
    """The vehicle leaves its start depot (``stops[0]``) as late as the first visit allows, in place: no
    idling at the depot (the OR-Tools schedule and ``array_schedule`` alike)."""
    if len(stops) < 2:
        return
    first = stops[1]
    latest = first.start_service - float(problem.travel_time[stops[0].node, first.node])
    if latest > stops[0].departure:
        stops[0] = dataclasses.replace(stops[0], arrival=latest, start_service=latest, departure=latest)
        stops[1] = dataclasses.replace(first, arrival=first.start_service)


def unserved_reason(problem: Problem, request: Request, scale: int) -> str:
    """A plain reason for leaving a request out: an infeasibility on its own, or the search's choice."""
    direct = float(problem.travel_time[request.pickup, request.dropoff])
    for end, window in (("pickup", request.pickup_window), ("drop-off", request.dropoff_window)):
        if math.isfinite(window.latest) and math.ceil(window.earliest * scale) > math.floor(window.latest * scale):
            return (
                f"its {end} window [{window.earliest:g}, {window.latest:g}] holds no time on the solver's grid "
                f"(steps of 1/{scale})"
            )
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
    window = request.pickup_window
    on_shift = [v for v in roomy if v.shift.earliest <= window.latest and window.earliest <= v.shift.latest]
    if not on_shift:
        return "outside the service hours: no vehicle with room is on shift at any time of its pickup window"
    in_time = [
        v
        for v in on_shift
        if v.shift.earliest + float(problem.travel_time[v.start, request.pickup]) <= window.latest
        and window.earliest
        + request.pickup_service
        + direct
        + request.dropoff_service
        + float(problem.travel_time[request.dropoff, v.end])
        <= v.shift.latest
    ]
    if not in_time:
        return (
            "no vehicle with room on shift can reach the pickup within its window and still end its shift "
            "on time (too close to a shift's start or end, or too far from the depots)"
        )
    return "every vehicle with room is busy in its window: the fleet is too small for the demand at that time"
