"""Check a dial-a-ride solution against its problem, independently of the solver.

The validator replays every route with the problem's own (unscaled) matrices and
lists each violated constraint: route shape and depots, timing (arrival after
the previous departure plus travel, service start within windows), vehicle shift
and maximum route duration, capacity in seats and wheelchair places, pairing and
order of pickup and drop-off, maximum ride time, and that every request is either
served once or listed unserved. It also recomputes the distance and ride time.
"""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.model import Problem, Solution

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
        if self.ok:
            return "valid"
        kinds: dict[str, int] = {}
        for v in self.violations:
            kinds[v.kind] = kinds.get(v.kind, 0) + 1
        return "INVALID: " + ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items()))


def validate(problem: Problem, solution: Solution, tolerance: float = TOLERANCE) -> ValidationReport:
    out: list[Violation] = []

    def bad(kind: str, vehicle: str | None, request: str | None, message: str) -> None:
        out.append(Violation(kind, vehicle, request, message))

    requests = {r.id: r for r in problem.requests}
    vehicles = {v.id: v for v in problem.vehicles}
    seen_pickup: dict[str, tuple[str, int, float]] = {}  # request -> (vehicle, position, departure)
    seen_dropoff: dict[str, str] = {}
    distance = 0.0
    ride_total = 0.0
    used = set()
    for route in solution.routes:
        vehicle = vehicles.get(route.vehicle)
        if vehicle is None:
            bad("route", route.vehicle, None, f"unknown vehicle {route.vehicle}")
            continue
        if route.vehicle in used:
            bad("route", route.vehicle, None, "vehicle has more than one route")
        used.add(route.vehicle)
        stops = route.stops
        if len(stops) < 2 or stops[0].kind != "start" or stops[-1].kind != "end":
            bad("route", vehicle.id, None, "a route must begin with its start depot and finish at its end depot")
            continue
        if stops[0].node != vehicle.start or stops[-1].node != vehicle.end:
            bad(
                "depot",
                vehicle.id,
                None,
                f"route runs {stops[0].node}->{stops[-1].node}, vehicle depots are {vehicle.start}->{vehicle.end}",
            )
        seats = wheelchairs = 0
        onboard: set[str] = set()
        for pos, stop in enumerate(stops):
            if pos:
                prev = stops[pos - 1]
                travel = float(problem.travel_time[prev.node, stop.node])
                distance += float(problem.distance[prev.node, stop.node])
                if stop.arrival + tolerance < prev.departure + travel:
                    bad(
                        "timing",
                        vehicle.id,
                        stop.request,
                        f"arrives at node {stop.node} at {stop.arrival:.3f}, before {prev.departure + travel:.3f}",
                    )
            if stop.start_service + tolerance < stop.arrival:
                bad("timing", vehicle.id, stop.request, f"service at node {stop.node} starts before arrival")
            if stop.kind in ("pickup", "dropoff"):
                request = requests.get(stop.request or "")
                if request is None:
                    bad("request", vehicle.id, stop.request, f"unknown request {stop.request}")
                    continue
                node = request.pickup if stop.kind == "pickup" else request.dropoff
                window = request.pickup_window if stop.kind == "pickup" else request.dropoff_window
                service = request.pickup_service if stop.kind == "pickup" else request.dropoff_service
                if stop.node != node:
                    bad("request", vehicle.id, request.id, f"{stop.kind} at node {stop.node}, expected {node}")
                if request.vehicle is not None and request.vehicle != vehicle.id:
                    bad("vehicle", vehicle.id, request.id, f"must ride vehicle {request.vehicle}")
                if not window.earliest - tolerance <= stop.start_service <= window.latest + tolerance:
                    bad(
                        "time window",
                        vehicle.id,
                        request.id,
                        f"{stop.kind} service at {stop.start_service:.3f} outside [{window.earliest}, {window.latest}]",
                    )
                if abs(stop.departure - (stop.start_service + service)) > 1e-3:
                    bad("timing", vehicle.id, request.id, f"{stop.kind} departure is not start plus service time")
                if stop.kind == "pickup":
                    if request.id in seen_pickup:
                        bad("pairing", vehicle.id, request.id, "picked up twice")
                    seen_pickup[request.id] = (vehicle.id, pos, stop.start_service + service)
                    seats += request.seats
                    wheelchairs += request.wheelchairs
                    onboard.add(request.id)
                else:
                    if request.id in seen_dropoff:
                        bad("pairing", vehicle.id, request.id, "dropped off twice")
                    seen_dropoff[request.id] = vehicle.id
                    picked = seen_pickup.get(request.id)
                    if picked is None or picked[0] != vehicle.id or request.id not in onboard:
                        bad("pairing", vehicle.id, request.id, "dropped off without an earlier pickup on this vehicle")
                    else:
                        ride = stop.start_service - picked[2]
                        ride_total += ride
                        if request.max_ride_time is not None and ride > request.max_ride_time + tolerance:
                            bad("ride time", vehicle.id, request.id, f"rides {ride:.3f}, limit {request.max_ride_time}")
                        onboard.discard(request.id)
                    seats -= request.seats
                    wheelchairs -= request.wheelchairs
                if seats > vehicle.seats or wheelchairs > vehicle.wheelchair_places:
                    bad(
                        "capacity",
                        vehicle.id,
                        request.id,
                        f"load {seats} seats / {wheelchairs} wheelchairs exceeds {vehicle.seats} / "
                        f"{vehicle.wheelchair_places}",
                    )
                if (stop.load_seats, stop.load_wheelchairs) != (seats, wheelchairs):
                    bad("load", vehicle.id, request.id, "reported load differs from the replayed load")
        if onboard:
            bad("pairing", vehicle.id, None, f"still on board at the end: {sorted(onboard)}")
        begin, finish = stops[0].departure, stops[-1].arrival
        if begin + tolerance < vehicle.shift.earliest or finish > vehicle.shift.latest + tolerance:
            bad(
                "shift",
                vehicle.id,
                None,
                f"route {begin:.3f}-{finish:.3f} outside the shift [{vehicle.shift.earliest}, {vehicle.shift.latest}]",
            )
        if vehicle.max_route_duration is not None and finish - begin > vehicle.max_route_duration + tolerance:
            bad("route duration", vehicle.id, None, f"lasts {finish - begin:.3f}, limit {vehicle.max_route_duration}")
    unserved = {u.request for u in solution.unserved}
    for request in problem.requests:
        served = request.id in seen_pickup and request.id in seen_dropoff
        if served and request.id in unserved:
            bad("accounting", None, request.id, "listed as unserved but served")
        if not served and request.id not in unserved:
            bad("accounting", None, request.id, "neither served nor listed unserved")
    if abs(distance - solution.distance) > 1e-3 * max(1.0, distance):
        bad("cost", None, None, f"reported distance {solution.distance:.4f}, replayed {distance:.4f}")
    return ValidationReport(tuple(out), distance, ride_total, len(seen_dropoff), len(unserved), len(used))
