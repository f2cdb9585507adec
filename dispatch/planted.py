"""Planted dial-a-ride instances: a feasible plan is built first, then the problem is derived around it.

Published sets say how good a plan is, not whether a rider the solver leaves out could have been
served. A planted instance answers that: every request is served by the planted plan, so a solver
that leaves one out has failed, and the planted plan's distance bounds the cost it should reach.

The plan: vehicles of mixed seats and wheelchair places, with their own depots and shift starts,
drive Euclidean points (a square of ``side_km``, at ``speed_kmh``) picking riders up while the
vehicle has room (filled to about ``fill`` of its seats) and dropping off the rider whose ride is
longest against its direct time; some riders are already on board at the start, tied to their
vehicle. Around that plan: each request gets a window of 10-15 minutes around its planted pickup
(or, for half of them, its planted drop-off), a ride limit of ``ride_factor`` times its direct time
(or its planted ride, if that is longer), and each vehicle a shift and route duration a few minutes
wider than its planted route. Same spec and seed, same instance, on any machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from dispatch.model import DispatchError, Problem, Request, Route, Solution, Stop, TimeWindow, Vehicle, route_distance

__all__ = [
    "PLANTED_SETS",
    "EuclideanSpace",
    "NetworkSpace",
    "PlantedInstance",
    "PlantedSpec",
    "planted_instance",
    "planted_set",
]


@dataclass(frozen=True, slots=True)
class PlantedSpec:
    """How to plant an instance (times in minutes, distances in km); checked on creation."""

    requests: int
    vehicles: int
    seed: int = 1
    window_min: tuple[float, float] = (10.0, 15.0)  # a window's width is drawn from this range
    ride_factor: float = 1.5  # ride limit: this times the direct time (or the planted ride if longer)
    seats: tuple[int, ...] = (4, 6, 8)  # a vehicle's seats are drawn from these
    wheelchair_places: tuple[int, ...] = (0, 0, 1, 2)  # and its wheelchair places from these
    wheelchair_share: float = 0.1  # of the riders of a vehicle with wheelchair places
    onboard_share: float = 0.05  # riders already on board at the start, tied to their vehicle
    fill: float = 0.8  # the planted routes pick up while below this share of their seats
    service_min: float = 2.0  # at each pickup and drop-off
    side_km: float = 20.0
    speed_kmh: float = 30.0
    first_shift_h: float = 8.0  # shifts start within this many hours of time 0
    nearby: int = 1  # a new pickup is the nearest (in time) of this many drawn points: pooled, shorter routes
    shift_slack_min: float = 10.0  # a shift and a route duration are this much wider (at most) than planted
    time_step: float = 0.01  # the solver's grid (1 / SolverParams.scale): see _derive

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.vehicles <= self.requests:
            problems.append(f"vehicles must be between 1 and the number of requests, got {self.vehicles}")
        low, high = self.window_min
        if not 0 < low <= high:
            problems.append(f"window_min must be (low, high) with 0 < low <= high, got {self.window_min}")
        if not self.ride_factor >= 1:
            problems.append(f"ride_factor must be >= 1, got {self.ride_factor}")
        if not self.seats or min(self.seats) < 2:
            problems.append(f"seats must offer at least 2 seats per vehicle, got {self.seats}")
        if not self.wheelchair_places or min(self.wheelchair_places) < 0:
            problems.append(f"wheelchair_places must be >= 0, got {self.wheelchair_places}")
        for name in ("wheelchair_share", "onboard_share"):
            if not 0 <= getattr(self, name) < 1:
                problems.append(f"{name} must be in [0, 1), got {getattr(self, name)}")
        if not 1 <= self.nearby <= 100:
            problems.append(f"nearby must be between 1 and 100, got {self.nearby}")
        if not 0 < self.fill <= 1:
            problems.append(f"fill must be in (0, 1], got {self.fill}")
        for name in ("service_min", "side_km", "speed_kmh", "first_shift_h", "shift_slack_min", "time_step"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0) or (name in ("side_km", "speed_kmh") and value == 0):
                problems.append(f"{name} must be a finite number >= 0 (> 0 for sizes and speeds), got {value}")
        if problems:
            raise DispatchError("planted instance: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class PlantedInstance:
    """A problem and the plan it was derived from (a valid solution serving every request)."""

    problem: Problem
    plan: Solution
    space: EuclideanSpace | NetworkSpace | None = None  # where it was planted
    locations: tuple[int, ...] = ()  # each problem node's location in that space


@dataclass
class _Rider:
    index: int
    pickup: int  # locations in the instance's space
    dropoff: int
    seats: int
    wheelchairs: int
    onboard_at_start: bool
    pickup_start: float = 0.0
    pickup_departure: float = 0.0
    dropoff_start: float = 0.0
    vehicle: int = -1
    pickup_visit: int = 0  # position of the pickup and the drop-off among the route's visits
    dropoff_visit: int = 0


@dataclass
class _Trip:
    """One vehicle's planted route as it is built: (rider, is_pickup) visits with their start times."""

    vehicle: int
    depot: int  # index among the depots
    depot_location: int
    start: float
    seats: int
    places: int
    visits: list[tuple[_Rider, bool, float]] = field(default_factory=list)
    end: float = 0.0


class EuclideanSpace:
    """Random points in a square of ``side_km`` driven straight at ``speed_kmh`` (the published sets' geometry)."""

    def __init__(self, side_km: float, speed_kmh: float) -> None:
        self.half = side_km / 2
        self.speed = speed_kmh / 60.0  # km per minute
        self.xy: list[np.ndarray] = []

    def sample(self, rng: np.random.Generator, count: int | None = None) -> list[int]:
        """``count`` new points (one if None), as location indices."""
        drawn = rng.uniform(-self.half, self.half, (count, 2) if count is not None else 2)
        rows = [drawn] if count is None else list(drawn)
        self.xy += rows
        return list(range(len(self.xy) - len(rows), len(self.xy)))

    def minutes(self, a: int, b: int) -> float:
        """Driving minutes from location ``a`` to ``b`` (straight, at the space's speed)."""
        return float(np.hypot(*(self.xy[b] - self.xy[a]))) / self.speed

    def tables(self, locations: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Travel minutes and km between ``locations`` (matrices indexed like the list)."""
        xy = np.vstack([self.xy[k] for k in locations])
        distance = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
        return distance / self.speed, distance


class NetworkSpace:
    """Nodes of a street network with all-pairs travel seconds and metres (a shuttle network's tables):
    locations are node numbers drawn from ``pool``, travel is the tables' as ``maas dispatch`` reads them."""

    def __init__(self, time_s: np.ndarray, dist_m: np.ndarray, pool: np.ndarray) -> None:
        self.time_s, self.dist_m, self.pool = time_s, dist_m, np.asarray(pool, dtype=np.int64)
        if not len(self.pool):
            raise DispatchError("planted instance: the network offers no node to plant riders on")

    def sample(self, rng: np.random.Generator, count: int | None = None) -> list[int]:
        """``count`` nodes of the pool (one if None), drawn with replacement."""
        return [int(x) for x in rng.choice(self.pool, 1 if count is None else count)]

    def minutes(self, a: int, b: int) -> float:
        """Driving minutes from node ``a`` to ``b``, as ``maas dispatch`` reads them from the tables."""
        return 0.0 if a == b else float(np.float64(self.time_s[a, b]) / 60.0)

    def tables(self, locations: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Travel minutes and km between the nodes ``locations`` (0 between a node and itself)."""
        nodes = np.asarray(locations, dtype=np.int64)
        minutes = self.time_s[np.ix_(nodes, nodes)].astype(np.float64) / 60.0
        km = self.dist_m[np.ix_(nodes, nodes)].astype(np.float64) / 1000.0
        same = nodes[:, None] == nodes[None, :]
        minutes[same], km[same] = 0.0, 0.0
        return minutes, km


Space = EuclideanSpace | NetworkSpace


def planted_instance(spec: PlantedSpec, name: str | None = None, space: Space | None = None) -> PlantedInstance:
    """A dial-a-ride problem with a planted plan that serves every request (see the module docstring).

    Parameters
    ----------
    spec
        Size, tightness and seed.
    name
        The problem's name (default ``planted-<requests>x<vehicles>-s<seed>``).
    space
        Where riders and depots are drawn and how long travel takes: a street network's nodes
        (:class:`NetworkSpace`), or by default the spec's Euclidean square.

    Returns
    -------
    PlantedInstance
        The problem (minutes and km) and the planted plan, which ``validate`` accepts. Its nodes are
        the riders' and depots' locations in order: depots first, then each rider's pickup and drop-off.
    """
    rng = np.random.default_rng(spec.seed)
    space = space if space is not None else EuclideanSpace(spec.side_km, spec.speed_kmh)
    n_depots = max(1, spec.vehicles // 4)
    depots = space.sample(rng, n_depots)
    seats = rng.choice(spec.seats, spec.vehicles)
    places = rng.choice(spec.wheelchair_places, spec.vehicles)
    quotas = 1 + rng.multinomial(spec.requests - spec.vehicles, np.full(spec.vehicles, 1 / spec.vehicles))
    riders: list[_Rider] = []
    trips = []
    for v in range(spec.vehicles):
        depot = v % n_depots
        start = float(rng.integers(0, round(60 * spec.first_shift_h) + 1))  # whole minutes: see _derive
        trip = _Trip(v, depot, depots[depot], start, int(seats[v]), int(places[v]))
        _plant_route(trip, int(quotas[v]), space, spec, rng, riders)
        trips.append(trip)
    name = name or f"planted-{spec.requests}x{spec.vehicles}-s{spec.seed}"
    return _derive(spec, name, space, depots, trips, riders, rng)


def _plant_route(
    trip: _Trip,
    quota: int,
    space: Space,
    spec: PlantedSpec,
    rng: np.random.Generator,
    riders: list[_Rider],
) -> None:
    """Drive one vehicle: riders already on board first, then pick up while there is room and riders
    left (about ``fill`` full), otherwise drop off the rider whose ride is longest against its direct time."""
    seats, places = trip.seats, trip.places

    def new_rider(onboard: bool, load: tuple[int, int], near: int) -> _Rider | None:
        chair = places > load[1] and rng.random() < spec.wheelchair_share
        need = (0, 1) if chair else (1 + int(rng.random() < 0.2), 0)
        if load[0] + need[0] > seats or load[1] + need[1] > places:
            return None
        if onboard:
            pickup = trip.depot_location
        elif spec.nearby == 1:
            pickup = space.sample(rng)[0]
        else:
            pickup = min(space.sample(rng, spec.nearby), key=lambda x: space.minutes(near, x))
        dropoff = space.sample(rng)[0]
        rider = _Rider(len(riders), pickup, dropoff, need[0], need[1], onboard, vehicle=trip.vehicle)
        riders.append(rider)
        return rider

    position, clock = trip.depot_location, trip.start
    onboard: list[_Rider] = []
    load = (0, 0)
    for _ in range(int(rng.binomial(quota, spec.onboard_share))):
        rider = new_rider(True, load, trip.depot_location)
        if rider is None:
            break
        rider.pickup_start = rider.pickup_departure = clock
        rider.pickup_visit = len(trip.visits)
        trip.visits.append((rider, True, clock))
        onboard.append(rider)
        load = (load[0] + rider.seats, load[1] + rider.wheelchairs)
        quota -= 1
    while quota > 0 or onboard:
        rider = None
        room = load[0] < spec.fill * seats
        if quota > 0 and (not onboard or (room and rng.random() < 0.65)):
            rider = new_rider(False, load, position)
        if rider is not None:
            clock += space.minutes(position, rider.pickup)
            rider.pickup_start, rider.pickup_departure = clock, clock + spec.service_min
            rider.pickup_visit = len(trip.visits)
            trip.visits.append((rider, True, clock))
            position, clock = rider.pickup, clock + spec.service_min
            onboard.append(rider)
            load = (load[0] + rider.seats, load[1] + rider.wheelchairs)
            quota -= 1
            continue
        if not onboard:  # no room for the next rider on an empty vehicle cannot happen (seats >= 2)
            raise AssertionError("planted route stuck")
        rider = max(onboard, key=lambda r: _ride_ratio(r, position, clock, space))
        clock += space.minutes(position, rider.dropoff)
        rider.dropoff_start = clock
        rider.dropoff_visit = len(trip.visits)
        trip.visits.append((rider, False, clock))
        position, clock = rider.dropoff, clock + spec.service_min
        onboard.remove(rider)
        load = (load[0] - rider.seats, load[1] - rider.wheelchairs)
    trip.end = clock + space.minutes(position, trip.depot_location)


def _ride_ratio(rider: _Rider, position: int, clock: float, space: Space) -> float:
    """How long the rider's ride would be if dropped off next, against its direct time."""
    direct = max(space.minutes(rider.pickup, rider.dropoff), 1e-6)
    ride = clock - rider.pickup_departure + space.minutes(position, rider.dropoff)
    return ride / direct


def _derive(
    spec: PlantedSpec,
    name: str,
    space: Space,
    depots: list[int],
    trips: list[_Trip],
    riders: list[_Rider],
    rng: np.random.Generator,
) -> PlantedInstance:
    """The problem around the planted routes: nodes, matrices, windows, ride limits, vehicles; and the
    planted plan as a solution of it.

    A solver on a grid of ``time_step`` rounds each travel time up, so on its grid the planted plan runs
    up to one step late per visit before a stop. Every bound the plan must meet from below (a window's
    close, a ride limit, a shift's end, a route duration) keeps that much room past the planted time;
    shifts start on whole minutes, so riders on board at the start are picked up exactly on the grid."""
    n_depots = len(depots)
    locations = depots + [x for r in riders for x in (r.pickup, r.dropoff)]
    travel, distance = space.tables(locations)
    pickup_node = {r.index: n_depots + 2 * r.index for r in riders}
    for trip in trips:  # riders on board at the start are picked up where the vehicle starts
        for rider, _, _ in trip.visits:
            if rider.onboard_at_start:
                pickup_node[rider.index] = trip.depot
    horizon = max(t.end for t in trips) + 2 * spec.shift_slack_min
    requests = []
    for r in riders:
        pickup, dropoff = pickup_node[r.index], n_depots + 2 * r.index + 1
        step = spec.time_step
        planted_ride = r.dropoff_start - r.pickup_departure + step * (r.dropoff_visit + 1)
        limit = max(spec.ride_factor * float(travel[pickup, dropoff]), planted_ride)
        open_window = TimeWindow(0.0, horizon)
        if r.onboard_at_start:
            pickup_window, dropoff_window, pickup_service = TimeWindow(r.pickup_start, r.pickup_start), open_window, 0.0
        else:
            width = float(rng.uniform(*spec.window_min))
            at_pickup = bool(rng.random() < 0.5)
            planted = r.pickup_start if at_pickup else r.dropoff_start
            room = step * ((r.pickup_visit if at_pickup else r.dropoff_visit) + 1)  # past the planted time
            earliest = max(0.0, planted - float(rng.uniform(0, max(width - room, 0.0))))
            width = max(width, planted + room - earliest)
            window = TimeWindow(earliest, earliest + width)
            pickup_window, dropoff_window = (window, open_window) if at_pickup else (open_window, window)
            pickup_service = spec.service_min
        requests.append(
            Request(
                f"r{r.index + 1}",
                pickup,
                dropoff,
                r.seats,
                r.wheelchairs,
                pickup_window,
                dropoff_window,
                pickup_service,
                spec.service_min,
                limit,
                f"v{r.vehicle + 1}" if r.onboard_at_start else None,
            )
        )
    vehicles = []
    for trip in trips:
        slack = rng.uniform(0, spec.shift_slack_min, 3) + spec.time_step * (len(trip.visits) + 2)
        vehicles.append(
            Vehicle(
                f"v{trip.vehicle + 1}",
                trip.depot,
                trip.depot,
                _capacity(trip, "seats"),
                _capacity(trip, "wheelchairs"),
                TimeWindow(max(0.0, math.floor(trip.start - float(slack[0]))), trip.end + float(slack[1])),
                trip.end - trip.start + float(slack[2]),
            )
        )
    problem = Problem(name, tuple(requests), tuple(vehicles), travel, distance)
    return PlantedInstance(problem, _plan(problem, trips), space, tuple(locations))


def _capacity(trip: _Trip, kind: str) -> int:
    """The vehicle's seats or wheelchair places, never below its planted route's peak load."""
    load = peak = 0
    for rider, is_pickup, _ in trip.visits:
        step = rider.seats if kind == "seats" else rider.wheelchairs
        load += step if is_pickup else -step
        peak = max(peak, load)
    return max(peak, trip.seats if kind == "seats" else trip.places)


def _plan(problem: Problem, trips: list[_Trip]) -> Solution:
    """The planted routes as a solution of ``problem`` (whose i-th request is rider i), with their
    schedules and loads."""
    routes = []
    total = ride_total = 0.0
    for trip, vehicle in zip(trips, problem.vehicles, strict=True):
        stops = [Stop(trip.depot, "start", None, trip.start, trip.start, trip.start, 0, 0)]
        seats = chairs = 0
        for rider, is_pickup, start in trip.visits:
            request = problem.requests[rider.index]
            node = request.pickup if is_pickup else request.dropoff
            service = request.pickup_service if is_pickup else request.dropoff_service
            sign = 1 if is_pickup else -1
            seats, chairs = seats + sign * rider.seats, chairs + sign * rider.wheelchairs
            kind = "pickup" if is_pickup else "dropoff"
            stops.append(Stop(node, kind, request.id, start, start, start + service, seats, chairs))
            if not is_pickup:
                ride_total += start - rider.pickup_departure
        stops.append(Stop(trip.depot, "end", None, trip.end, trip.end, trip.end, 0, 0))
        routes.append(Route(vehicle.id, tuple(stops)))
        total += route_distance(problem, routes[-1])
    return Solution(problem.name, tuple(routes), (), total, ride_total, 0.0, 0)


# name -> (requests, vehicles) of each instance; seeds 1.. in order
PLANTED_SETS: dict[str, tuple[tuple[int, int], ...]] = {
    "planted-small": ((30, 3), (40, 4), (50, 5), (60, 5), (60, 6), (80, 8)),
    "planted-medium": ((100, 8), (120, 10), (150, 12), (150, 15), (180, 15), (200, 16)),
    "planted-large": ((240, 20), (300, 24), (300, 30)),
}


def planted_set(name: str) -> list[PlantedInstance]:
    """The instances of a planted benchmark set (``PLANTED_SETS``), the i-th with seed i + 1."""
    if name not in PLANTED_SETS:
        raise DispatchError(f"unknown planted set {name!r}; choose from {', '.join(PLANTED_SETS)}")
    return [
        planted_instance(PlantedSpec(requests, vehicles, seed=i + 1), f"{name.split('-')[1]}-{requests}x{vehicles}")
        for i, (requests, vehicles) in enumerate(PLANTED_SETS[name])
    ]
