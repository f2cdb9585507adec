"""Check a dial-a-ride solution against its problem, independently of the solver.

The validator replays every route with the problem's own (unscaled) matrices and
lists each violated constraint: route shape and depots, timing (arrival after
the previous departure plus travel, service start within windows), vehicle shift
and maximum route duration, capacity in seats and wheelchair places, pairing and
order of pickup and drop-off, maximum ride time, and that every request is either
served once or listed unserved. It also recomputes the distance and ride time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dispatch.model import Problem, Route, Solution, Stop, Vehicle

TOLERANCE = 1e-6


@dataclass(frozen=True, slots=True)
class Violation:
    kind: str
    vehicle: str | None
    request: str | None
    message: str


@dataclass(frozen=True)
class ValidationReport:
    violations: tuple[Violation, ...]
    distance: float
    ride_time: float
    served: int
    unserved: int
    vehicles_used: int

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        """ "valid", or the violated kinds with their counts."""
        if self.ok:
            return "valid"
        kinds: dict[str, int] = {}
        for v in self.violations:
            kinds[v.kind] = kinds.get(v.kind, 0) + 1
        return "INVALID: " + ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items()))


def validate(problem: Problem, solution: Solution, tolerance: float = TOLERANCE) -> ValidationReport:
    """Every violated constraint of ``solution`` (an empty report is a valid solution), with the replayed
    distance, ride time and counts.

    Parameters
    ----------
    problem
        The problem the solution claims to solve.
    solution
        Routes of stops with times and loads, and unserved requests.
    tolerance
        Slack allowed on times (floating point), in the problem's unit.

    Returns
    -------
    ValidationReport
        The violations (kind, route, stop, message), the distance and ride time replayed from the
        matrices alone, and whether the solution is valid. Shares no code with the solver.
    """
    replay = _Replay(problem, tolerance)
    for route in solution.routes:
        replay.route(route)
    unserved = {u.request for u in solution.unserved}
    for request in problem.requests:
        served = request.id in replay.seen_pickup and request.id in replay.seen_dropoff
        if served and request.id in unserved:
            replay.bad("accounting", None, request.id, "listed as unserved but served")
        if not served and request.id not in unserved:
            replay.bad("accounting", None, request.id, "neither served nor listed unserved")
    distance = replay.distance
    if abs(distance - solution.distance) > 1e-3 * max(1.0, distance):
        replay.bad("cost", None, None, f"reported distance {solution.distance:.4f}, replayed {distance:.4f}")
    return ValidationReport(
        tuple(replay.out), distance, replay.ride_total, len(replay.seen_dropoff), len(unserved), len(replay.used)
    )


@dataclass
class _Load:
    """What a vehicle carries while its route is replayed."""

    seats: int = 0
    wheelchairs: int = 0
    onboard: set[str] = field(default_factory=set)


class _Replay:
    """Walks the routes with the problem's own matrices and collects what breaks."""

    def __init__(self, problem: Problem, tolerance: float) -> None:
        self.problem = problem
        self.tolerance = tolerance
        self.requests = {r.id: r for r in problem.requests}
        self.vehicles = {v.id: v for v in problem.vehicles}
        self.out: list[Violation] = []
        self.seen_pickup: dict[str, tuple[str, int, float]] = {}  # request -> (vehicle, position, departure)
        self.seen_dropoff: dict[str, str] = {}
        self.distance = 0.0
        self.ride_total = 0.0
        self.used: set[str] = set()

    def bad(self, kind: str, vehicle: str | None, request: str | None, message: str) -> None:
        self.out.append(Violation(kind, vehicle, request, message))

    def route(self, route: Route) -> None:
        tolerance = self.tolerance
        vehicle = self.vehicles.get(route.vehicle)
        if vehicle is None:
            self.bad("route", route.vehicle, None, f"unknown vehicle {route.vehicle}")
            return
        if route.vehicle in self.used:
            self.bad("route", route.vehicle, None, "vehicle has more than one route")
        self.used.add(route.vehicle)
        stops = route.stops
        if len(stops) < 2 or stops[0].kind != "start" or stops[-1].kind != "end":
            self.bad("route", vehicle.id, None, "a route must begin with its start depot and finish at its end depot")
            return
        if stops[0].node != vehicle.start or stops[-1].node != vehicle.end:
            self.bad(
                "depot",
                vehicle.id,
                None,
                f"route runs {stops[0].node}->{stops[-1].node}, vehicle depots are {vehicle.start}->{vehicle.end}",
            )
        load = _Load()
        for pos, stop in enumerate(stops):
            if pos:
                prev = stops[pos - 1]
                travel = float(self.problem.travel_time[prev.node, stop.node])
                self.distance += float(self.problem.distance[prev.node, stop.node])
                if stop.arrival + tolerance < prev.departure + travel:
                    self.bad(
                        "timing",
                        vehicle.id,
                        stop.request,
                        f"arrives at node {stop.node} at {stop.arrival:.3f}, before {prev.departure + travel:.3f}",
                    )
            if stop.start_service + tolerance < stop.arrival:
                self.bad("timing", vehicle.id, stop.request, f"service at node {stop.node} starts before arrival")
            if stop.kind in ("pickup", "dropoff"):
                self.visit(vehicle, pos, stop, load)
        if load.onboard:
            self.bad("pairing", vehicle.id, None, f"still on board at the end: {sorted(load.onboard)}")
        begin, finish = stops[0].departure, stops[-1].arrival
        if begin + tolerance < vehicle.shift.earliest or finish > vehicle.shift.latest + tolerance:
            self.bad(
                "shift",
                vehicle.id,
                None,
                f"route {begin:.3f}-{finish:.3f} outside the shift [{vehicle.shift.earliest}, {vehicle.shift.latest}]",
            )
        if vehicle.max_route_duration is not None and finish - begin > vehicle.max_route_duration + tolerance:
            self.bad(
                "route duration", vehicle.id, None, f"lasts {finish - begin:.3f}, limit {vehicle.max_route_duration}"
            )

    def visit(self, vehicle: Vehicle, pos: int, stop: Stop, load: _Load) -> None:
        """A pickup or drop-off: its request, node, window, service time, pairing, ride time and load."""
        tolerance = self.tolerance
        request = self.requests.get(stop.request or "")
        if request is None:
            self.bad("request", vehicle.id, stop.request, f"unknown request {stop.request}")
            return
        pickup = stop.kind == "pickup"
        node = request.pickup if pickup else request.dropoff
        window = request.pickup_window if pickup else request.dropoff_window
        service = request.pickup_service if pickup else request.dropoff_service
        if stop.node != node:
            self.bad("request", vehicle.id, request.id, f"{stop.kind} at node {stop.node}, expected {node}")
        if request.vehicle is not None and request.vehicle != vehicle.id:
            self.bad("vehicle", vehicle.id, request.id, f"must ride vehicle {request.vehicle}")
        if not window.earliest - tolerance <= stop.start_service <= window.latest + tolerance:
            self.bad(
                "time window",
                vehicle.id,
                request.id,
                f"{stop.kind} service at {stop.start_service:.3f} outside [{window.earliest}, {window.latest}]",
            )
        if abs(stop.departure - (stop.start_service + service)) > 1e-3:
            self.bad("timing", vehicle.id, request.id, f"{stop.kind} departure is not start plus service time")
        if pickup:
            if request.id in self.seen_pickup:
                self.bad("pairing", vehicle.id, request.id, "picked up twice")
            self.seen_pickup[request.id] = (vehicle.id, pos, stop.start_service + service)
            load.seats += request.seats
            load.wheelchairs += request.wheelchairs
            load.onboard.add(request.id)
        else:
            if request.id in self.seen_dropoff:
                self.bad("pairing", vehicle.id, request.id, "dropped off twice")
            self.seen_dropoff[request.id] = vehicle.id
            picked = self.seen_pickup.get(request.id)
            if picked is None or picked[0] != vehicle.id or request.id not in load.onboard:
                self.bad("pairing", vehicle.id, request.id, "dropped off without an earlier pickup on this vehicle")
            else:
                ride = stop.start_service - picked[2]
                self.ride_total += ride
                if request.max_ride_time is not None and ride > request.max_ride_time + tolerance:
                    self.bad("ride time", vehicle.id, request.id, f"rides {ride:.3f}, limit {request.max_ride_time}")
                load.onboard.discard(request.id)
            load.seats -= request.seats
            load.wheelchairs -= request.wheelchairs
        if load.seats > vehicle.seats or load.wheelchairs > vehicle.wheelchair_places:
            self.bad(
                "capacity",
                vehicle.id,
                request.id,
                f"load {load.seats} seats / {load.wheelchairs} wheelchairs exceeds {vehicle.seats} / "
                f"{vehicle.wheelchair_places}",
            )
        if (stop.load_seats, stop.load_wheelchairs) != (load.seats, load.wheelchairs):
            self.bad("load", vehicle.id, request.id, "reported load differs from the replayed load")
