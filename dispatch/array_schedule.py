"""The times of a route plan from the numba schedule, without OR-Tools: for batches of thousands of
requests, where building and searching OR-Tools' model takes minutes whatever its time limit.

Each route's schedule is ``pdp_arrays.schedule_feasible`` (Cordeau & Laporte's eight steps on the
solver's scaled integers: every visit as early as it can start, the depot left as late as the waiting
allows, pickups delayed only where a ride limit needs it), read back in problem units the way
``ortools_search.schedule`` reads OR-Tools' times: arrivals from the unscaled travel times, the
vehicle leaving its depot as late as its first stop allows.
"""

from __future__ import annotations

import numpy as np

from dispatch.model import DispatchError, Problem, Route, Solution, Stop, Unserved, Vehicle, route_distance
from dispatch.ortools_search import leave_depot_late, unserved_reason
from dispatch.pdp_arrays import CompiledFleetProblem, compile_problem, schedule_feasible
from dispatch.plan import PlannedRoute, RoutePlan


def schedule_from_arrays(problem: Problem, plan: RoutePlan, scale: int = 100) -> Solution:
    """``plan`` with its times and loads, as ``ortools_search.schedule`` gives them, but without OR-Tools.

    A ``DispatchError`` naming the vehicle where a route has no schedule within its windows, ride
    limits and route duration, or carries more than the vehicle has room for. ``objective`` is the
    plan's distance in scaled units (there is no OR-Tools model to take it from).
    """
    compiled = compile_problem(problem, scale)
    routes: list[Route] = []
    if compiled is not None:
        index_of = {r.id: k for k, r in enumerate(problem.requests)}
        row_of = {v.id: k for k, v in enumerate(problem.vehicles)}
        pick_position = np.zeros(len(problem.requests), np.int64)
        for planned in plan.routes:
            if planned.visits:
                row = row_of[planned.vehicle]
                begin = _begin_times(problem, compiled, planned, row, index_of, pick_position)
                routes.append(_route(problem, planned, problem.vehicles[row], index_of, begin / scale))
    served = {s.request for route in routes for s in route.stops if s.kind == "pickup"}
    unserved = tuple(Unserved(r.id, unserved_reason(problem, r, scale)) for r in problem.requests if r.id not in served)
    distance = sum(route_distance(problem, route) for route in routes)
    ride_time = sum(_ride_times(route) for route in routes)
    return Solution(problem.name, tuple(routes), unserved, distance, ride_time, 0.0, round(distance * scale))


def _begin_times(
    problem: Problem,
    c: CompiledFleetProblem,
    planned: PlannedRoute,
    row: int,
    index_of: dict[str, int],
    pick_position: np.ndarray,
) -> np.ndarray:
    """Scaled start of service at the start depot, each visit and the end depot."""
    seq = np.array([2 * index_of[v.request] + v.dropoff for v in planned.visits], np.int64)
    work = np.zeros((4, len(seq) + 2), np.int64)
    start = int(c.start[row])
    args = (c.transit, c.earliest, c.latest, c.ride_limit, int(c.max_duration[row]), work, pick_position)
    if not schedule_feasible(seq, len(seq), start, *args):
        raise DispatchError(
            f"problem {problem.name}: the route of vehicle {planned.vehicle} has no schedule within its windows, "
            "ride limits and route duration"
        )
    begin: np.ndarray = work[2].copy()
    return begin


def _route(
    problem: Problem, planned: PlannedRoute, vehicle: Vehicle, index_of: dict[str, int], cumul: np.ndarray
) -> Route:
    """The stops of ``planned`` on ``vehicle`` with starts of service no earlier than ``cumul`` (problem units)."""
    by_id = {visit.request: problem.requests[index_of[visit.request]] for visit in planned.visits}
    stops: list[Stop] = []
    seats = chairs = 0
    places: list[tuple[int, str, str | None, float]] = [(vehicle.start, "start", None, 0.0)]
    for visit in planned.visits:
        r = by_id[visit.request]
        if visit.dropoff:
            places.append((r.dropoff, "dropoff", r.id, r.dropoff_service))
        else:
            places.append((r.pickup, "pickup", r.id, r.pickup_service))
    places.append((vehicle.end, "end", None, 0.0))
    for q, (node, kind, request, service) in enumerate(places):
        if request is not None:
            sign = -1 if kind == "dropoff" else 1
            seats += sign * by_id[request].seats
            chairs += sign * by_id[request].wheelchairs
            if seats > vehicle.seats or chairs > vehicle.wheelchair_places:
                raise DispatchError(
                    f"problem {problem.name}: vehicle {vehicle.id} is over its room at {kind} {request}"
                )
        arrival = (
            float(cumul[q]) if not stops else stops[-1].departure + float(problem.travel_time[stops[-1].node, node])
        )
        begin = max(float(cumul[q]), arrival)
        stops.append(Stop(node, kind, request, arrival, begin, begin + service, seats, chairs))
    leave_depot_late(problem, stops)
    return Route(vehicle.id, tuple(stops))


def _ride_times(route: Route) -> float:
    """The riders' time aboard: each drop-off's start of service after its pickup's departure."""
    picked: dict[str | None, float] = {}
    total = 0.0
    for stop in route.stops:
        if stop.kind == "pickup":
            picked[stop.request] = stop.departure
        elif stop.kind == "dropoff":
            total += stop.start_service - picked[stop.request]
    return total
