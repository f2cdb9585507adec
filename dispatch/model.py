"""The dial-a-ride problem and its solution as plain, immutable values.

Locations are integer node indices into the problem's matrices. Times and
distances are in the problem's own unit (minutes for Cordeau instances, the
instance's unit for Li & Lim, seconds for street data) as floats; the solver
converts them to integers by an explicit scale (``SolverParams.scale``, default
100, i.e. hundredths of a unit): travel times are rounded *up* so that a
schedule feasible for the solver is feasible for the true times, distances are
rounded to nearest for the objective. Costs are always reported from the
unscaled matrices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from maas.errors import MaasError


class DispatchError(MaasError):
    """A dial-a-ride problem or solution is malformed."""


@dataclass(frozen=True, slots=True)
class TimeWindow:
    earliest: float
    latest: float

    def __post_init__(self) -> None:
        if not self.latest >= self.earliest:  # also refuses NaN
            raise DispatchError(f"time window [{self.earliest}, {self.latest}] ends before it starts")


@dataclass(frozen=True, slots=True)
class Request:
    """One passenger group: picked up at ``pickup``, dropped off at ``dropoff``.

    ``max_ride_time`` bounds drop-off start of service minus pickup departure
    (start of service plus service time), as in Cordeau (2006); None means no bound.
    """

    id: str
    pickup: int
    dropoff: int
    seats: int = 1
    wheelchairs: int = 0
    pickup_window: TimeWindow = field(default_factory=lambda: TimeWindow(0.0, float("inf")))
    dropoff_window: TimeWindow = field(default_factory=lambda: TimeWindow(0.0, float("inf")))
    pickup_service: float = 0.0
    dropoff_service: float = 0.0
    max_ride_time: float | None = None
    vehicle: str | None = None  # served by this vehicle only (a passenger already on board)


@dataclass(frozen=True, slots=True)
class Vehicle:
    id: str
    start: int  # node index of the start depot
    end: int  # node index of the end depot
    seats: int
    wheelchair_places: int = 0
    shift: TimeWindow = field(default_factory=lambda: TimeWindow(0.0, float("inf")))
    max_route_duration: float | None = None

    def kind(self) -> tuple[int, int, int, int, TimeWindow, float | None]:
        """Everything but the id: vehicles of one kind can take each other's routes."""
        return (self.start, self.end, self.seats, self.wheelchair_places, self.shift, self.max_route_duration)


@dataclass(frozen=True)
class Problem:
    """Requests, vehicles and square travel-time and distance matrices over all nodes."""

    name: str
    requests: tuple[Request, ...]
    vehicles: tuple[Vehicle, ...]
    travel_time: np.ndarray  # float, (n_nodes, n_nodes)
    distance: np.ndarray  # float, (n_nodes, n_nodes)
    node_labels: tuple[str, ...] = ()  # the source's own id of each node (e.g. instance node ids)
    minimize_vehicles: bool = False  # hierarchical objective (Li & Lim): vehicles first, then distance

    def __post_init__(self) -> None:
        problems = []
        n = self.travel_time.shape[0] if self.travel_time.ndim == 2 else -1
        if self.travel_time.shape != (n, n) or self.distance.shape != (n, n):
            problems.append("travel_time and distance must be square matrices of the same size")
        for label, matrix in (("travel_time", self.travel_time), ("distance", self.distance)):
            if np.isnan(matrix).any():
                problems.append(f"{label} has NaN entries")
            elif (matrix < 0).any():
                i, j = np.argwhere(matrix < 0)[0]
                problems.append(f"{label} must not be negative ({matrix[i, j]!r} from node {i} to {j})")
        for kind, ids in (("request", [r.id for r in self.requests]), ("vehicle", [v.id for v in self.vehicles])):
            repeated = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
            if repeated:
                problems.append(f"{kind} ids must be unique; repeated: {', '.join(map(str, repeated[:10]))}")
        for r in self.requests:
            for node in (r.pickup, r.dropoff):
                if not 0 <= node < n:
                    problems.append(f"request {r.id}: node {node} outside the matrices")
            if r.vehicle is not None and r.vehicle not in {v.id for v in self.vehicles}:
                problems.append(f"request {r.id}: fixed to unknown vehicle {r.vehicle}")
            if r.seats < 0 or r.wheelchairs < 0:
                problems.append(f"request {r.id}: seats and wheelchairs must be >= 0")
            windows = (r.pickup_window.earliest, r.pickup_window.latest, r.dropoff_window.earliest)
            if any(np.isnan(w) for w in windows) or not np.isfinite(r.pickup_window.earliest):
                problems.append(f"request {r.id}: time windows must be numbers with a finite start")
            if r.max_ride_time is not None and not r.max_ride_time >= 0:
                problems.append(f"request {r.id}: max_ride_time must be >= 0")
        for v in self.vehicles:
            for node in (v.start, v.end):
                if not 0 <= node < n:
                    problems.append(f"vehicle {v.id}: depot node {node} outside the matrices")
            if v.seats < 0 or v.wheelchair_places < 0:
                problems.append(f"vehicle {v.id}: seats and wheelchair places must be >= 0")
            if np.isnan(v.shift.earliest) or not np.isfinite(v.shift.earliest):
                problems.append(f"vehicle {v.id}: the shift needs a finite start")
        if not self.vehicles:
            problems.append("no vehicles")
        if self.node_labels and len(self.node_labels) != n:
            problems.append("node_labels must name every node")
        if problems:
            raise DispatchError(f"problem {self.name}: " + "; ".join(problems))

    @property
    def n_nodes(self) -> int:
        return int(self.travel_time.shape[0])

    def label(self, node: int) -> str:
        """A short description: name, requests and vehicles."""
        return self.node_labels[node] if self.node_labels else str(node)


def scaled_tables(
    problem: Problem, locations: list[int], service: list[float], scale: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Service times, travel times and distances between ``locations`` as the searches' integers
    (``scale`` units per problem unit), the one scaling OR-Tools and the numba searches share: times
    rounded up, so a schedule feasible in integers is feasible in real time; distances to the nearest
    unit; nothing from a location to itself."""
    loc = np.array(locations)
    service_scaled = np.ceil(np.array(service) * scale).astype(np.int64)
    travel = _scaled(problem.travel_time, loc, scale, np.ceil)
    distance = _scaled(problem.distance, loc, scale, np.rint)
    np.fill_diagonal(travel, 0)
    np.fill_diagonal(distance, 0)
    return service_scaled, travel, distance


def _scaled(matrix: np.ndarray, loc: np.ndarray, scale: int, rounding: np.ufunc) -> np.ndarray:
    """``matrix`` between ``loc`` times ``scale``, rounded, as int64; a block of rows at a time, so that
    a table of 10,000 stops needs no float copy of its own size besides the result."""
    table = np.empty((len(loc), len(loc)), dtype=np.int64)
    for first in range(0, len(loc), SCALE_BLOCK_ROWS):
        rows = loc[first : first + SCALE_BLOCK_ROWS]
        block = matrix[np.ix_(rows, loc)].astype(np.float64, copy=False)
        block *= scale
        table[first : first + len(rows)] = rounding(block, out=block)
    return table


SCALE_BLOCK_ROWS = 512


@dataclass(frozen=True, slots=True)
class Stop:
    """A visit on a route. ``request`` is None at depots; ``kind`` is start, pickup, dropoff or end."""

    node: int
    kind: str
    request: str | None
    arrival: float
    start_service: float
    departure: float
    load_seats: int
    load_wheelchairs: int


@dataclass(frozen=True, slots=True)
class Route:
    vehicle: str
    stops: tuple[Stop, ...]


def route_distance(problem: Problem, route: Route) -> float:
    """A route's length from stop to stop, in the problem's unscaled distance units."""
    return sum(float(problem.distance[a.node, b.node]) for a, b in zip(route.stops, route.stops[1:], strict=False))


@dataclass(frozen=True, slots=True)
class Unserved:
    request: str
    reason: str


@dataclass(frozen=True)
class Solution:
    problem_name: str
    routes: tuple[Route, ...]  # only vehicles that leave their depot
    unserved: tuple[Unserved, ...]
    distance: float  # from the unscaled distance matrix
    ride_time: float  # sum over served requests
    solver_seconds: float
    objective: int  # the solver's own (scaled) objective value

    @property
    def vehicles_used(self) -> int:
        return len(self.routes)

    @property
    def served(self) -> int:
        return sum(1 for r in self.routes for s in r.stops if s.kind == "pickup")
