"""Door-to-door planning: street access and egress around the RAPTOR transit search.

``Planner(area_data).plan(origin, destination, depart_at=...)`` snaps both
points to the street graph, runs bounded street searches to nearby stops (walk
or bike access, walk egress), hands those as offsets to RAPTOR, and assembles
the Pareto set over (arrival, transfers) into :class:`Itinerary` values, with
direct walk, bike and car options beside them.

Arrive-by queries find the latest departure whose earliest arrival is on time by
binary search over the departure time; earliest arrival never decreases when one
leaves later (trips are FIFO within patterns and waiting is allowed), so the
search is exact.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from maas.errors import ConfigError, MaasError, NoServiceError, OutsideAreaError
from maas.settings import read_table
from planner.area_data import AreaData, load_area_data
from planner.fares import FareRules, ShuttleFare
from planner.itinerary import (
    BikeLeg,
    CarLeg,
    Coords,
    Itinerary,
    Leg,
    Place,
    ShuttleLeg,
    StopCall,
    TransitLeg,
    WalkLeg,
)
from planner.raptor import (
    INF,
    READY_WALK,
    RaptorNetwork,
    RaptorQuery,
    RaptorState,
    RideStep,
    TransitResult,
    reconstruct,
    search,
)
from planner.realtime import Alert, RealtimeFeed, RealtimeReport, apply_trip_updates
from planner.service_time import ServiceClock, local_clock
from planner.shapes import cut_between
from planner.shuttle_access import HUB_TRANSFER_S, ShuttleQuoter, zone_containing
from planner.street_graph import EdgeSnapper, Snap, StreetGraph, haversine_m
from planner.street_search import StreetSearch
from planner.timetable import Timetable
from planner.wheelchair import Unknown, wheelchair_area_data

MODES = ("walk", "bike", "car", "transit", "shuttle")


@dataclass(frozen=True, slots=True)
class RouterParams:
    """Routing settings; every problem is reported at once. ``None`` speeds mean the area's."""

    walk_speed_mps: float | None = None
    bike_speed_mps: float | None = None
    max_walk_m: float = 1500.0  # access and egress, each
    max_bike_m: float = 5000.0
    max_direct_walk_m: float = 5000.0
    max_transfers: int = 4
    transfer_slack_s: int = 90  # HSL's journey planner
    board_slack_s: int = 0  # R5 waits 60 s before every boarding
    max_snap_m: float = 500.0  # a point farther from any street is outside the area
    max_trip_s: int = 3 * 3600

    def __post_init__(self) -> None:
        problems = []
        for name in ("walk_speed_mps", "bike_speed_mps"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                problems.append(f"{name} must be positive, got {value}")
        for name in ("walk_speed_mps", "bike_speed_mps"):
            value = getattr(self, name)
            if value is not None and not value <= 50:
                problems.append(f"{name} must be at most 50 m/s, got {value}")
        for name in ("max_walk_m", "max_bike_m", "max_direct_walk_m", "max_snap_m"):
            if not 0 <= getattr(self, name) <= 1_000_000:
                problems.append(f"{name} must be in 0..1,000,000 m, got {getattr(self, name)}")
        if not 0 <= self.max_transfers <= 7:
            problems.append(f"max_transfers must be in 0..7, got {self.max_transfers}")
        for name in ("transfer_slack_s", "board_slack_s"):
            if not 0 <= getattr(self, name) <= 1800:
                problems.append(f"{name} must be in 0..1800 s, got {getattr(self, name)}")
        if not 0 < self.max_trip_s <= 2 * 86400:
            problems.append(f"max_trip_s must be in 1..172800 s, got {self.max_trip_s}")
        if problems:
            raise ConfigError("router parameters: " + "; ".join(problems))

    @classmethod
    def from_toml(cls, path: str | Path) -> RouterParams:
        """Parameters from the ``[router]`` table of a TOML file; every problem is reported at once."""
        return cls(**read_table(path, "router", cls, ConfigError))


@dataclass(frozen=True, slots=True)
class PlanResult:
    """Itineraries (best first) and, when there are none, the reason."""

    itineraries: tuple[Itinerary, ...]
    reason: str = ""

    def __iter__(self) -> Iterator[Itinerary]:
        return iter(self.itineraries)

    def __len__(self) -> int:
        return len(self.itineraries)

    def __getitem__(self, i: int) -> Itinerary:
        return self.itineraries[i]


def _cut_polyline(coords: np.ndarray, f0: float, f1: float) -> np.ndarray:
    """The part of a (lon, lat) polyline between fractions f0 <= f1 of its length."""
    kx = math.cos(math.radians(float(coords[0, 1])))
    seg = np.hypot(np.diff(coords[:, 0]) * kx, np.diff(coords[:, 1]))
    cum = np.r_[0.0, np.cumsum(seg)]
    total = cum[-1]
    if total <= 0:
        return coords[[0, -1]]

    def point_at(f: float) -> np.ndarray:
        d = f * total
        i = min(int(np.searchsorted(cum, d, side="right")) - 1, len(seg) - 1)
        t = 0.0 if seg[i] == 0 else (d - cum[i]) / seg[i]
        point: np.ndarray = coords[i] + t * (coords[i + 1] - coords[i])
        return point

    inside = coords[(cum > f0 * total) & (cum < f1 * total)]
    return np.vstack([point_at(f0), inside, point_at(f1)])


def _coords(array: np.ndarray) -> Coords:
    return tuple((round(float(x), 7), round(float(y), 7)) for x, y in array)


class StreetAccess:
    """One street mode's graph, a search from the origin, one from the destination, and stop snaps."""

    def __init__(
        self,
        graph: StreetGraph,
        stop_edges: np.ndarray,
        stop_fracs: np.ndarray,
        stop_link_m: np.ndarray,
        stops: np.ndarray,
        weight: str,
    ) -> None:
        self.graph = graph
        self.snapper = EdgeSnapper(graph)
        self.from_origin = StreetSearch(graph, weight)
        self.from_destination = StreetSearch(graph, weight)
        self.between_stops = StreetSearch(graph, weight)  # walking transfers, leaving the two above intact
        self.stops = stops  # timetable stop indices usable from this graph
        self.stop_edges = stop_edges
        self.stop_fracs = stop_fracs.astype(np.float64)
        self.stop_link_m = stop_link_m.astype(np.float64)

    def point_costs(self, search: StreetSearch, start: Snap, edges: np.ndarray, fracs: np.ndarray) -> np.ndarray:
        """Cost (metres or seconds) from the snapped ``start`` to points at ``fracs`` along ``edges``, after
        ``search`` has run from ``start``; the shared edge is also ridden directly.
        """
        cost = search.cost_to_snaps(edges, fracs)
        same = edges == start.edge
        if same.any():  # along the shared edge directly (in its direction, or either way if two-way)
            w = search.edge_cost(start.edge)
            ahead = fracs[same] >= start.fraction
            allowed = ahead | bool(search.has_twin[start.edge])
            direct = np.where(allowed, np.abs(fracs[same] - start.fraction) * w, np.inf)
            cost[same] = np.minimum(cost[same], direct)
        return cost

    def path(self, search: StreetSearch, start: Snap, edge: int, frac: float) -> np.ndarray:
        """Coordinates from the search's start point to a point on ``edge`` (after a search)."""
        g = self.graph
        if edge == start.edge and (frac >= start.fraction or search.has_twin[edge]):
            w = search.edge_cost(edge)
            direct = abs(frac - start.fraction) * w
            u, v = int(g.edge_from[edge]), int(g.edge_to[edge])
            via = min(search.dist[u] + frac * w, search.dist[v] + (1 - frac) * w if search.has_twin[edge] else np.inf)
            if direct <= via:
                lo, hi = sorted((start.fraction, frac))
                piece = _cut_polyline(g.edge_coords(edge), lo, hi)
                return piece if frac >= start.fraction else piece[::-1]
        u, v = int(g.edge_from[edge]), int(g.edge_to[edge])
        w = search.edge_cost(edge)
        via_u = search.dist[u] + frac * w
        via_v = search.dist[v] + (1 - frac) * w if search.has_twin[edge] else np.inf
        end_node = u if via_u <= via_v else v
        tail = (
            _cut_polyline(g.edge_coords(edge), 0.0, frac)
            if end_node == u
            else _cut_polyline(g.edge_coords(edge), frac, 1.0)[::-1]
        )
        edges = search.path_edges(end_node)
        first_node = int(g.edge_from[edges[0]]) if edges else end_node
        if first_node == int(g.edge_to[start.edge]):
            head = _cut_polyline(g.edge_coords(start.edge), start.fraction, 1.0)
        else:
            head = _cut_polyline(g.edge_coords(start.edge), 0.0, start.fraction)[::-1]
        middle = [g.edge_coords(e) for e in edges]
        return np.vstack([head, *middle, tail])


@dataclass(frozen=True)
class ServiceDay:
    """One service day the planner can search: its area data, its RAPTOR network (shared, read-only)
    and the planner's search buffers for it."""

    data: AreaData
    network: RaptorNetwork
    state: RaptorState
    static: Timetable | None = None  # the timetable before real-time updates (None: none applied)
    scheduled: Mapping[str, int] = field(default_factory=dict)  # a run real time moved -> its index in static


def _scheduled_index(static: Timetable, updated_runs: frozenset[str]) -> dict[str, int]:
    """Where the runs real-time updates moved are in the static timetable (added runs are not)."""
    return {run: g for g, run in enumerate(static.trip_ids.tolist()) if run in updated_runs}


class Planner:
    """Plans trips in one area; data for other service dates is loaded (and cached) on demand."""

    def __init__(self, data: AreaData, params: RouterParams | None = None) -> None:
        self.params = params or RouterParams()
        self.area = data.area
        # The planner owns mutable search state (street searches, RAPTOR buffers per date): searches
        # take this lock, so threads (app sessions) may share one planner and take turns, never
        # reading each other's labels.
        self.lock = threading.RLock()
        self._by_date: dict[dt.date, ServiceDay] = {}
        self.clock = ServiceClock(self.area.timezone or None)
        self._prepare: Callable[[AreaData], AreaData] | None = None  # applied to other dates' data
        self.step_free_walking = False  # walking legs avoid steps (a wheelchair planner)
        self.bike_on_board = False  # the rider keeps the bike: trips that allow bikes, cycling at both ends
        self._wheelchair: dict[str, Planner] = {}
        self._with_bike: Planner | None = None
        self._realtime = False  # a planner with GTFS-Realtime updates applied (legs carry scheduled times)
        self.alerts: tuple[Alert, ...] = ()  # the real-time feed's service alerts
        self._realtime_runs: dict[dt.date, frozenset[str]] = {}  # per date, the runs real time set
        self._add(data)
        self._data = data
        self.fares = _fare_rules(data)
        links = data.stop_links
        served = np.diff(data.timetable.stop_pattern_start) > 0
        walk_stops = np.flatnonzero(links.linked & served)
        self.walk = StreetAccess(
            data.streets["walk"],
            links.edge[walk_stops],
            links.fraction[walk_stops],
            links.distance_m[walk_stops],
            walk_stops,
            "length",
        )
        # Bikes reach stops through the bike graph: snap the same stops to it.
        bike_graph = data.streets["bike"]
        bike_snaps = EdgeSnapper(bike_graph).snap(
            data.timetable.stop_lon[walk_stops], data.timetable.stop_lat[walk_stops]
        )
        ok = np.array([s.distance_m <= self.area.streets.stop_link_max_m for s in bike_snaps], dtype=bool)
        self.bike = StreetAccess(
            bike_graph,
            np.array([s.edge for s in bike_snaps], np.int64)[ok],
            np.array([s.fraction for s in bike_snaps])[ok],
            np.array([s.distance_m for s in bike_snaps])[ok],
            walk_stops[ok],
            "length",
        )
        self.car = StreetAccess(
            data.streets["drive"], np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.int64), "time"
        )

    @classmethod
    def for_area(
        cls, area: str = "helsinki", data_dir: str | Path | None = None, params: RouterParams | None = None
    ) -> Planner:
        """A planner for an area by name or file, its data loaded from the cache (built if missing)."""
        from maas.area import load_area

        return cls(load_area_data(load_area(area, data_dir)), params)

    def _add(self, data: AreaData, static: Timetable | None = None, updated: frozenset[str] = frozenset()) -> None:
        # Capacity for 8 rides (7 transfers), the most any query may ask for.
        network = RaptorNetwork(data.timetable, data.footpaths, 8)
        scheduled = _scheduled_index(static, updated) if static is not None else {}
        day = ServiceDay(data, network, network.new_state(), static, scheduled)
        self._by_date[data.timetable.service_date] = day

    def service_day(self, date: dt.date) -> ServiceDay:
        """The timetable of a service day (its own trips and the neighbouring days' that reach into it),
        compiled on first use and cached on disk; raises NoServiceError when no trip runs near it."""
        if date not in self._by_date:
            data = load_area_data(self.area, service_date=date, cache=self._data.cache, streets_of=self._data)
            prepared = self._prepare(data) if self._prepare else data
            updated = self._realtime_runs.get(date, frozenset())
            self._add(prepared, data.timetable if self._realtime else None, updated)
        return self._by_date[date]

    def with_realtime(self, feed: RealtimeFeed, now: dt.datetime | None = None) -> tuple[Planner, RealtimeReport]:
        """A planner on this one's data with ``feed``'s TripUpdates applied to every service day it
        loads (``planner.realtime``), and what was applied to this planner's first day; its transit legs
        carry the scheduled times beside the expected ones. This planner is unchanged."""
        clock = self.clock
        updated, report = apply_trip_updates(self._data.timetable, feed, clock, now)

        planner = Planner(replace(self._data, timetable=updated), self.params)

        def prepare(data: AreaData) -> AreaData:
            timetable, applied = apply_trip_updates(data.timetable, feed, clock, now)
            planner._realtime_runs[timetable.service_date] = applied.updated_runs
            return replace(data, timetable=timetable)

        planner._prepare = prepare
        planner._realtime = True
        planner.alerts = feed.alerts
        first = planner._by_date[updated.service_date]
        planner._by_date[updated.service_date] = replace(
            first, static=self._data.timetable, scheduled=_scheduled_index(self._data.timetable, report.updated_runs)
        )
        return planner, report

    def for_bike_on_board(self) -> Planner:
        """A planner on the same data for a rider who takes the bike on board: only trips with
        ``bikes_allowed = 1``, cycling to the first stop and from the last; built on first use and kept."""
        with self.lock:
            if self._with_bike is None:

                def prepare(data: AreaData) -> AreaData:
                    timetable = data.timetable
                    allowed = timetable.restricted(timetable.trip_bikes == 1, np.ones(timetable.n_stops, bool))
                    return replace(data, timetable=allowed)

                planner = Planner(prepare(self._data), self.params)
                planner._prepare = prepare
                planner.bike_on_board = True
                self._with_bike = planner
            return self._with_bike

    def for_wheelchair(self, unknown: Unknown = "strict") -> Planner:
        """A planner on the same data for a wheelchair user (``planner.wheelchair``): accessible trips
        and stops only (``unknown``: whether trips and stops with no information count), and walking
        without steps; built on first use and kept."""
        with self.lock:
            if unknown not in self._wheelchair:

                def prepare(data: AreaData) -> AreaData:
                    return wheelchair_area_data(data, unknown)

                planner = Planner(prepare(self._data), self.params)
                planner._prepare = prepare
                planner.step_free_walking = True
                self._wheelchair[unknown] = planner
            return self._wheelchair[unknown]

    def locate(self, moment: dt.datetime, service_day: dt.date | None = None) -> tuple[dt.date, int]:
        """The service day a query at ``moment`` searches (its local date unless given) and its seconds there.

        A day's timetable holds the previous evening's trips and the next morning's, so one search at
        any hour sees every trip that can be running; ``service_day`` asks for another day's frame (the
        22nd for a query at 00:35 on the 23rd gives the same trips at 24:35).
        """
        if service_day is None:
            return self.clock.locate(moment)
        return service_day, self.clock.seconds(service_day, moment)

    def warm_up(self) -> None:
        """Plan one trip between two stops of the area, so that the searches' compiled code is loaded
        before the first rider asks (an app calls this once at start; the answer is discarded)."""
        stops = self.walk.stops
        if len(stops) < 2:
            return
        tt = self._data.timetable
        a, b = int(stops[0]), int(stops[len(stops) // 2])
        noon = dt.datetime.combine(tt.service_date, dt.time(12))
        with contextlib.suppress(MaasError):
            self.plan((tt.stop_lat[a], tt.stop_lon[a]), (tt.stop_lat[b], tt.stop_lon[b]), depart_at=noon)

    @property
    def data(self) -> AreaData:
        """The area data of the default service date."""
        return self._data

    @property
    def walk_speed(self) -> float:
        return self.params.walk_speed_mps or self.area.streets.walk_speed_mps

    @property
    def bike_speed(self) -> float:
        return self.params.bike_speed_mps or self.area.streets.bike_speed_mps

    # ------------------------------------------------------------------------------------------
    def snap(self, access: StreetAccess, lat: float, lon: float, label: str) -> Snap:
        """Where (lat, lon) meets ``access``'s street graph; :class:`OutsideAreaError` naming ``label`` when
        the point is outside the area or too far from a street.
        """
        area = self.data.area
        if not area.contains(lon, lat):
            west, south, east, north = area.bbox
            raise OutsideAreaError(
                f"{label} ({lat:.5f}, {lon:.5f}) is outside the area this planner covers: {area.title}, "
                f"latitude {south:g} to {north:g}, longitude {west:g} to {east:g}"
            )
        try:
            return access.snapper.snap_one(lon, lat, self.params.max_snap_m)
        except OutsideAreaError as exc:
            raise OutsideAreaError(f"{label} {exc}") from None

    def profile(
        self,
        origin: tuple[float, float],
        destination: tuple[float, float],
        start: dt.datetime,
        window_min: int = 60,
        max_transfers: int | None = None,
    ) -> TravelTimeProfile:
        """Range query: the earliest arrival for every departure minute in ``[start, start + window)``.

        Street searches run once; the transit search runs once per minute with the access offsets shifted
        (repeated RAPTOR, not rRAPTOR's label reuse, which the measured speed has not needed).
        """
        if not 1 <= window_min <= 24 * 60:
            raise MaasError(f"window_min must be 1..1440, got {window_min}")
        with self.lock:
            return _profile(self, origin, destination, start, window_min, max_transfers)

    def plan(
        self,
        origin: tuple[float, float],
        destination: tuple[float, float],
        *,
        depart_at: dt.datetime | None = None,
        arrive_by: dt.datetime | None = None,
        modes: Sequence[str] = ("walk", "transit"),
        max_transfers: int | None = None,
        max_walk_m: float | None = None,
        shuttle: ShuttleQuoter | None = None,
        service_day: dt.date | None = None,
        max_fare: float | None = None,
        wheelchair: bool = False,
        unknown_accessibility: Unknown = "strict",
        bike_on_board: bool = False,
    ) -> PlanResult:
        """Itineraries from ``origin`` to ``destination`` (each ``(lat, lon)``).

        With ``"shuttle"`` in ``modes`` and a ``shuttle`` quoter, an end inside a shuttle zone is
        also offered a shuttle ride to or from the zone's hub station, quoted against the fleet's
        current plan; when no shuttle is available the other options remain.

        Give ``depart_at`` or ``arrive_by``: naive datetimes are the area's local wall clock, aware ones
        are converted to it. Any hour of any date the feeds cover can be asked: a search sees the
        previous day's trips past midnight and the next morning's (``service_day`` forces one day's
        frame, see :meth:`locate`). Raises :class:`OutsideAreaError` for a point off the street network
        and :class:`NoServiceError` for transit on a date no trip runs near; finding nothing is an empty
        result with its reason.

        Parameters
        ----------
        origin, destination
            ``(lat, lon)`` in degrees.
        depart_at, arrive_by
            The departure or arrival wanted (exactly one of them).
        modes
            Any of ``walk``, ``bike``, ``transit``, ``shuttle``, ``car``.
        max_transfers, max_walk_m
            Limits on the transit search (default: the area's settings).
        shuttle
            Quotes shuttle legs against the fleet's plan (needed for the ``shuttle`` mode).
        service_day
            Search in this service day's frame instead of the moment's local date.
        max_fare
            Leave out options known to cost more (in the fares' currency); options whose price is not
            published stay, marked as such.
        wheelchair, unknown_accessibility
            Plan for a wheelchair user (:meth:`for_wheelchair`): ``"strict"`` uses only trips and stops
            marked accessible, ``"lenient"`` also those with no information.
        bike_on_board
            The rider keeps the bike (:meth:`for_bike_on_board`): the options are cycling all the way
            and transit trips that allow bikes with cycling to and from the stops (depart-at only).

        Returns
        -------
        PlanResult
            The itineraries, best first (frozen dataclasses with legs and geometry), and why nothing
            was found when nothing was.
        """
        if bike_on_board:
            if wheelchair or arrive_by is not None or shuttle is not None:
                raise MaasError("a bike on board is planned for a departure time, without wheelchair or shuttle")
            return self.for_bike_on_board().plan(
                origin,
                destination,
                depart_at=depart_at,
                modes=("bike", "transit"),
                max_transfers=max_transfers,
                max_walk_m=max_walk_m,
                service_day=service_day,
                max_fare=max_fare,
            )
        if wheelchair:
            result = self.for_wheelchair(unknown_accessibility).plan(
                origin,
                destination,
                depart_at=depart_at,
                arrive_by=arrive_by,
                modes=modes,
                max_transfers=max_transfers,
                max_walk_m=max_walk_m,
                shuttle=shuttle,
                service_day=service_day,
                max_fare=max_fare,
            )
            if len(result):
                return result
            which = "marked accessible" if unknown_accessibility == "strict" else "not marked inaccessible"
            return PlanResult((), f"{result.reason} (for a wheelchair: only trips and stops {which}, no steps)")
        with self.lock:
            result = self._plan(
                origin, destination, depart_at, arrive_by, modes, max_transfers, max_walk_m, shuttle, service_day
            )
        if max_fare is None:
            return result
        if not (math.isfinite(max_fare) and max_fare >= 0):
            raise MaasError(f"max_fare must be a price >= 0, got {max_fare}")
        affordable = tuple(it for it in result if _price(it) <= max_fare or it.fare is None or not it.fare.complete)
        if affordable or not len(result):
            return PlanResult(affordable, result.reason)
        cheapest = min(_price(it) for it in result)
        return PlanResult((), f"every option costs more than {max_fare:.2f} (the cheapest {cheapest:.2f})")

    def _plan(
        self,
        origin: tuple[float, float],
        destination: tuple[float, float],
        depart_at: dt.datetime | None,
        arrive_by: dt.datetime | None,
        modes: Sequence[str],
        max_transfers: int | None,
        max_walk_m: float | None,
        shuttle: ShuttleQuoter | None,
        service_day: dt.date | None,
    ) -> PlanResult:
        unknown = sorted(set(modes) - set(MODES))
        if unknown:
            raise MaasError(f"unknown mode(s) {', '.join(unknown)}; choose from {', '.join(MODES)}")
        if (depart_at is None) == (arrive_by is None):
            raise MaasError("give exactly one of depart_at and arrive_by")
        if "shuttle" in modes and shuttle is None:
            raise MaasError("the shuttle mode needs a quoter (dispatch.quotes.ShuttleDispatcher on a service day)")
        moment = depart_at or arrive_by
        assert moment is not None
        date, clock = self.locate(moment, service_day)
        try:
            day = self.service_day(date)
        except NoServiceError:
            if "transit" in modes:
                raise
            day = self._by_date[self._data.timetable.service_date]  # streets only: any day's data
        if max_walk_m is not None and not (math.isfinite(max_walk_m) and max_walk_m >= 0):
            raise MaasError(f"max_walk_m must be a distance in metres >= 0, got {max_walk_m}")
        max_walk = self.params.max_walk_m if max_walk_m is None else max_walk_m
        rides = (self.params.max_transfers if max_transfers is None else max_transfers) + 1
        if not 1 <= rides <= 8:
            raise MaasError(f"max_transfers must be in 0..7, got {rides - 1}")
        o_lat, o_lon = origin
        d_lat, d_lon = destination
        query = _Query(self, day, date, (o_lon, o_lat), (d_lon, d_lat), max_walk, rides)
        query.shuttle = shuttle
        if max_walk_m is not None:  # the rider's own limit on walking bounds a walk-only trip too
            query.direct_walk_limit_m = min(query.direct_walk_limit_m, max_walk_m)
        if depart_at is not None:
            options = query.depart_at(clock, modes)
            options.sort(key=lambda it: (it.arrive, it.transfers, it.depart))
        else:
            options = query.arrive_by(clock, modes)
            options.sort(key=lambda it: (-it.depart, it.transfers, it.arrive))
        if not options:
            return PlanResult((), query.reason or "no journey found with these modes and limits")
        return PlanResult(tuple(options))


@dataclass(frozen=True, slots=True)
class TravelTimeProfile:
    """Earliest arrival for each departure minute of a window (walking directly where faster)."""

    departures: tuple[int, ...]  # seconds in the service day's frame (since midnight on most days)
    arrivals: tuple[int | None, ...]  # None where nothing arrives within max_trip_s

    @property
    def travel_times_s(self) -> tuple[int | None, ...]:
        return tuple(None if a is None else a - d for d, a in zip(self.departures, self.arrivals, strict=True))

    def percentile_s(self, percentile: float) -> int | None:
        """The travel time at ``percentile`` over the window's departures (None if none arrives)."""
        times = sorted(t for t in self.travel_times_s if t is not None)
        if not times:
            return None
        return times[max(math.ceil(percentile / 100 * len(times)) - 1, 0)]


def _profile(
    planner: Planner,
    origin: tuple[float, float],
    destination: tuple[float, float],
    start: dt.datetime,
    window_min: int,
    max_transfers: int | None,
) -> TravelTimeProfile:
    date, clock0 = planner.locate(start)
    day = planner.service_day(date)
    rides = (planner.params.max_transfers if max_transfers is None else max_transfers) + 1
    query = _Query(
        planner,
        day,
        date,
        (origin[1], origin[0]),
        (destination[1], destination[0]),
        planner.params.max_walk_m,
        rides,
    )
    # the walk is infinite where the search limit stops it (or no path joins the two places)
    walk_ok = query.direct_walk_m <= planner.params.max_direct_walk_m
    walk_s = math.ceil(query.direct_walk_m / planner.walk_speed) if walk_ok else int(INF)
    departures, arrivals = [], []
    for m in range(window_min):
        clock = clock0 + 60 * m
        best = min(query._transit_arrival(clock), clock + walk_s if walk_ok else int(INF))
        departures.append(clock)
        arrivals.append(best if best - clock <= planner.params.max_trip_s else None)
    return TravelTimeProfile(tuple(departures), tuple(arrivals))


class _Query:
    """One plan request: street searches done once, then transit runs at one or more departure times."""

    def __init__(
        self,
        planner: Planner,
        day: ServiceDay,
        date: dt.date,
        origin: tuple[float, float],
        destination: tuple[float, float],
        max_walk_m: float,
        rides: int,
    ) -> None:
        self.p = planner
        self.data = day.data
        self.tt = day.data.timetable
        self.day = day
        self.date = date
        self.origin = Place("Origin", origin[1], origin[0])
        self.destination = Place("Destination", destination[1], destination[0])
        self.max_walk_m = max_walk_m
        self.direct_walk_limit_m = planner.params.max_direct_walk_m
        self.rides = rides
        self.reason = ""
        w = planner.walk
        self.o_snap = planner.snap(w, origin[1], origin[0], "origin")
        self.d_snap = planner.snap(w, destination[1], destination[0], "destination")
        limit = max(max_walk_m, planner.params.max_direct_walk_m)
        w.from_origin.from_snap(self.o_snap, limit)
        w.from_destination.from_snap(self.d_snap, max_walk_m)
        # walk access and egress distances to the walk-linked stops
        self.walk_access_m = (
            w.point_costs(w.from_origin, self.o_snap, w.stop_edges, w.stop_fracs)
            + w.stop_link_m
            + self.o_snap.distance_m
        )
        self.walk_egress_m = (
            w.point_costs(w.from_destination, self.d_snap, w.stop_edges, w.stop_fracs)
            + w.stop_link_m
            + self.d_snap.distance_m
        )
        self.egress = np.full(self.tt.n_stops, INF, dtype=np.int64)
        ok = self.walk_egress_m <= max_walk_m
        self.egress[w.stops[ok]] = np.ceil(self.walk_egress_m[ok] / planner.walk_speed).astype(np.int64)
        direct = w.point_costs(
            w.from_origin, self.o_snap, np.array([self.d_snap.edge]), np.array([self.d_snap.fraction])
        )
        self.direct_walk_m = float(direct[0]) + self.o_snap.distance_m + self.d_snap.distance_m
        self._bike_ready = False
        self.shuttle: ShuttleQuoter | None = None

    # -- access offsets ------------------------------------------------------------------------
    def _walk_access(self) -> tuple[np.ndarray, np.ndarray]:
        ok = self.walk_access_m <= self.max_walk_m
        return self.p.walk.stops[ok], np.ceil(self.walk_access_m[ok] / self.p.walk_speed).astype(np.int64)

    def _bike_access(self) -> tuple[np.ndarray, np.ndarray]:
        b = self.p.bike
        if not self._bike_ready:
            self.b_snap = self.p.snap(b, self.origin.lat, self.origin.lon, "origin")
            self.bd_snap = self.p.snap(b, self.destination.lat, self.destination.lon, "destination")
            b.from_origin.from_snap(self.b_snap, self.p.params.max_bike_m)
            self.bike_access_m = (
                b.point_costs(b.from_origin, self.b_snap, b.stop_edges, b.stop_fracs)
                + b.stop_link_m
                + self.b_snap.distance_m
            )
            self._bike_ready = True
        ok = self.bike_access_m <= self.p.params.max_bike_m
        return b.stops[ok], np.ceil(self.bike_access_m[ok] / self.p.bike_speed).astype(np.int64)

    def _bike_egress(self) -> np.ndarray:
        """Seconds by bike from each stop to the destination (INF beyond the bike limit)."""
        self._bike_access()  # snaps the destination to the bike graph
        b = self.p.bike
        b.from_destination.from_snap(self.bd_snap, self.p.params.max_bike_m)
        self.bike_egress_m = (
            b.point_costs(b.from_destination, self.bd_snap, b.stop_edges, b.stop_fracs)
            + b.stop_link_m
            + self.bd_snap.distance_m
        )
        egress = np.full(self.tt.n_stops, INF, dtype=np.int64)
        ok = self.bike_egress_m <= self.p.params.max_bike_m
        egress[b.stops[ok]] = np.ceil(self.bike_egress_m[ok] / self.p.bike_speed).astype(np.int64)
        return egress

    def _bike_egress_leg(self, last: RideStep, egress: np.ndarray) -> BikeLeg:
        b = self.p.bike
        stop_place = self._stop_place(last.alight_stop)
        k = int(np.flatnonzero(b.stops == last.alight_stop)[0])
        geometry = b.path(b.from_destination, self.bd_snap, int(b.stop_edges[k]), float(b.stop_fracs[k]))
        geometry = _with_ends(geometry[::-1], stop_place, self.destination)
        seconds = int(egress[last.alight_stop])
        return BikeLeg(
            last.arrival,
            last.arrival + seconds,
            stop_place,
            self.destination,
            float(self.bike_egress_m[k]),
            _coords(geometry),
        )

    def _itinerary(self, legs: tuple[Leg, ...]) -> Itinerary:
        if self.p.step_free_walking:  # walking avoided steps; the shuttle holds a wheelchair place if asked
            wheelchair_place = getattr(self.shuttle, "wheelchairs", 0) > 0
            legs = tuple(
                replace(leg, step_free=True)
                if isinstance(leg, WalkLeg) or (isinstance(leg, ShuttleLeg) and wheelchair_place)
                else leg
                for leg in legs
            )
        itinerary = Itinerary(self.date, legs, self.p.clock.zone)
        if self.p.fares is None:
            return itinerary
        return replace(itinerary, fare=self.p.fares.price(itinerary))

    def _transit(self, clock: int, access_mode: str) -> list[Itinerary]:
        stops, seconds = self._walk_access() if access_mode == "walk" else self._bike_access()
        if not len(stops):
            self.reason = self.reason or f"no stop within {self.max_walk_m:.0f} m of the origin"
            return []
        by_bike = access_mode == "bike" and self.p.bike_on_board
        egress = self._bike_egress() if by_bike else self.egress
        if not (egress < INF).any():
            self.reason = self.reason or f"no stop within {self.max_walk_m:.0f} m of the destination"
            return []
        params = self.p.params
        result = self._raptor(stops, clock + seconds, egress)
        access_of = dict(zip(stops.tolist(), seconds.tolist(), strict=True))
        out = []
        for k, stop, arrival in zip(result.rides, result.egress_stops, result.arrivals, strict=True):
            if arrival - clock > params.max_trip_s:
                continue
            steps = reconstruct(self.tt, result, k, stop)
            last_leg = self._bike_egress_leg(steps[-1], egress) if by_bike else None
            out.append(self._assemble(steps, access_mode, access_of[steps[0].board_stop], egress_leg=last_leg))
        if not out and not self.reason:
            self.reason = f"no transit connection within {params.max_trip_s // 3600} h" + self._service_span(stops)
        return out

    def _service_span(self, stops: np.ndarray) -> str:
        """When the stops near the origin have departures on this day (a feed may cover part of the day)."""
        times = [self.tt.departures_from(str(self.tt.stop_ids[s])) for s in stops[:100]]
        times = [t for t in times if len(t)]
        day = f"{self.date:%A} {self.date.isoformat()}"
        if not times:
            return f"; no trip leaves the stops near the origin on {day}"
        # to the minute it starts in (a departure at 11:41:30 is "11:41")
        first, last = (
            local_clock(self.p.clock.moment(self.date, int(t) // 60 * 60), self.date)
            for t in (min(t[0] for t in times), max(t[-1] for t in times))
        )
        if self.tt.stats.trips_active == 0:
            return f"; no transit runs on {day} except the night before's trips, the last leaving at {last}"
        return f"; the stops near the origin have departures from {first} to {last} on {day}"

    def _raptor(
        self, stops: np.ndarray, at_stops: np.ndarray, egress: np.ndarray | None = None, journeys: bool = True
    ) -> TransitResult:
        params = self.p.params
        query = RaptorQuery(
            stops,
            at_stops,
            self.egress if egress is None else egress,
            max_rides=self.rides,
            walk_speed_mps=self.p.walk_speed,
            board_slack_s=params.board_slack_s,
            transfer_slack_s=params.transfer_slack_s,
            journeys=journeys,
        )
        return search(self.day.network, query, self.day.state)

    def _transit_arrival(self, clock: int) -> int:
        stops, seconds = self._walk_access()
        if not len(stops):
            return int(INF)
        result = self._raptor(stops, clock + seconds, journeys=False)  # the arrival alone
        return min(result.arrivals) if result.arrivals else int(INF)

    def depart_at(self, clock: int, modes: Sequence[str]) -> list[Itinerary]:
        options: list[Itinerary] = []
        if "transit" in modes:
            walk_based = self._transit(clock, "walk") if "walk" in modes or "bike" not in modes else []
            if "walk" in modes and self.direct_walk_m <= self.direct_walk_limit_m:
                walk_based.append(self._direct("walk", clock))
            options += _pareto(walk_based)
            if "bike" in modes:
                options += _pareto(self._transit(clock, "bike"))
            if "shuttle" in modes:
                options += _pareto(self._shuttle_trips(clock))
        elif "walk" in modes and self.direct_walk_m <= self.direct_walk_limit_m:
            options.append(self._direct("walk", clock))
        for mode in ("bike", "car"):
            if mode in modes:
                leg = self._direct(mode, clock)
                if leg is not None:
                    options.append(leg)
        if not options and "walk" in modes and not self.reason:
            self.reason = f"the walk is {self.direct_walk_m:.0f} m, over the {self.direct_walk_limit_m:.0f} m limit"
        return options

    def arrive_by(self, clock: int, modes: Sequence[str]) -> list[Itinerary]:
        options: list[Itinerary] = []
        if "transit" in modes:
            lo, hi = clock - self.p.params.max_trip_s, clock
            if self._transit_arrival(lo) <= clock:
                while hi - lo > 1:  # latest departure (to the second) that still arrives on time
                    mid = (lo + hi) // 2
                    if self._transit_arrival(mid) <= clock:
                        lo = mid
                    else:
                        hi = mid
                options += [it for it in self._transit(lo, "walk") if it.arrive <= clock]
        for mode in ("walk", "bike", "car"):
            if mode in modes and (mode != "walk" or self.direct_walk_m <= self.direct_walk_limit_m):
                it = self._direct(mode, 0)
                if it is not None:
                    shift = clock - it.arrive
                    options.append(_shift(it, shift))
        if options:
            options = _pareto(options) if "transit" in modes else options
        if "transit" in modes and "shuttle" in modes:  # a group of its own, as for depart-at
            options += self._shuttle_arrive_by(clock)
        if not options and not self.reason:
            self.reason = "no journey arrives in time with these modes and limits"
        return options

    def _shuttle_leg(self, origin: Place, destination: Place, earliest: int) -> ShuttleLeg | None:
        assert self.shuttle is not None
        quote = self.shuttle.quote((origin.lon, origin.lat), (destination.lon, destination.lat), earliest)
        if quote is None:
            self.reason = self.reason or f"no shuttle available: {self.shuttle.last_reason}"
            return None
        return ShuttleLeg(
            quote.pickup_s,
            quote.dropoff_s,
            origin,
            destination,
            quote.distance_m,
            quote.geometry,
            vehicle=quote.vehicle,
            pickup_earliest=quote.pickup_earliest_s,
            pickup_latest=quote.pickup_latest_s,
        )

    def _shuttle_arrive_by(self, clock: int) -> list[Itinerary]:
        """Shuttle options that arrive by ``clock``: departures are tried back from ``clock`` in 5-minute
        steps until one has an on-time shuttle option, then the last 5 minutes are bisected to the minute.

        A quote depends on the fleet's plan (and a departure before the day's clock gets none), so arrival
        is not monotonic in departure and a plain bisection over the whole range could miss every option;
        every option returned is on time, its pickup window the one that makes the arrival.
        """
        if self.shuttle is None or self.p.area.shuttle is None:
            return []

        def on_time(depart: int) -> bool:
            return any(it.arrive <= clock for it in self._shuttle_trips(depart))

        step = 300
        late = clock
        early = clock - step
        while early >= clock - self.p.params.max_trip_s and not on_time(early):
            late, early = early, early - step
        if early < clock - self.p.params.max_trip_s:
            return []
        while late - early > 60:
            mid = (early + late) // 2
            if on_time(mid):
                early = mid
            else:
                late = mid
        return [it for it in _pareto(self._shuttle_trips(early)) if it.arrive <= clock]

    def _shuttle_trips(self, clock: int) -> list[Itinerary]:
        """Shuttle to the hub then transit, or transit to the hub then shuttle, where an end is in a zone."""
        service = self.p.area.shuttle
        if service is None or self.shuttle is None:
            return []
        day = self.shuttle.service_date
        if day is not None and day != self.date:
            self.reason = self.reason or f"the shuttle's service day is {day.isoformat()}, not {self.date.isoformat()}"
            return []
        out: list[Itinerary] = []
        o_zone = zone_containing(service.zones, self.origin.lon, self.origin.lat)
        if o_zone is not None:
            hubs = np.array([self.tt.stop_index(s) for s in o_zone.hub_stop_ids], dtype=np.int64)
            leg = self._shuttle_leg(self.origin, self._stop_place(int(hubs[0])), clock)
            if leg is not None:
                result = self._raptor(hubs, np.full(len(hubs), leg.end + HUB_TRANSFER_S, dtype=np.int64))
                for k, stop, arrival in zip(result.rides, result.egress_stops, result.arrivals, strict=True):
                    if arrival - clock <= self.p.params.max_trip_s:
                        steps = reconstruct(self.tt, result, k, stop)
                        out.append(self._assemble(steps, "walk", 0, access_leg=leg))
        d_zone = zone_containing(service.zones, self.destination.lon, self.destination.lat)
        if d_zone is not None:
            hubs = np.array([self.tt.stop_index(s) for s in d_zone.hub_stop_ids], dtype=np.int64)
            egress = np.full(self.tt.n_stops, INF, dtype=np.int64)
            egress[hubs] = 0
            stops, seconds = self._walk_access()
            if len(stops):
                result = self._raptor(stops, clock + seconds, egress)
                access_of = dict(zip(stops.tolist(), seconds.tolist(), strict=True))
                journeys = [
                    reconstruct(self.tt, result, k, s) for k, s in zip(result.rides, result.egress_stops, strict=True)
                ]
                for steps in journeys:
                    hub = self._stop_place(steps[-1].alight_stop)
                    leg = self._shuttle_leg(hub, self.destination, steps[-1].arrival + HUB_TRANSFER_S)
                    if leg is not None:
                        out.append(self._assemble(steps, "walk", access_of[steps[0].board_stop], egress_leg=leg))
        return out

    # -- assembly ------------------------------------------------------------------------------
    def _direct(self, mode: str, clock: int) -> Itinerary:
        p = self.p
        if mode == "walk":
            geometry = p.walk.path(p.walk.from_origin, self.o_snap, self.d_snap.edge, self.d_snap.fraction)
            seconds = math.ceil(self.direct_walk_m / p.walk_speed)
            leg: Leg = WalkLeg(
                clock,
                clock + seconds,
                self.origin,
                self.destination,
                self.direct_walk_m,
                _coords(_with_ends(geometry, self.origin, self.destination)),
            )
            return self._itinerary((leg,))
        access = p.bike if mode == "bike" else p.car
        o = self.p.snap(access, self.origin.lat, self.origin.lon, "origin")
        d = self.p.snap(access, self.destination.lat, self.destination.lon, "destination")
        access.from_origin.from_snap(o, np.inf)
        cost = float(access.point_costs(access.from_origin, o, np.array([d.edge]), np.array([d.fraction]))[0])
        geometry = access.path(access.from_origin, o, d.edge, d.fraction)
        length = _polyline_m(geometry)
        walk_ends = o.distance_m + d.distance_m
        if mode == "bike":
            seconds = math.ceil((cost + walk_ends) / p.bike_speed)
            leg = BikeLeg(
                clock,
                clock + seconds,
                self.origin,
                self.destination,
                cost + walk_ends,
                _coords(_with_ends(geometry, self.origin, self.destination)),
            )
        else:
            seconds = math.ceil(cost + walk_ends / p.walk_speed)
            leg = CarLeg(
                clock,
                clock + seconds,
                self.origin,
                self.destination,
                length,
                _coords(_with_ends(geometry, self.origin, self.destination)),
            )
        return self._itinerary((leg,))

    def _stop_place(self, stop: int) -> Place:
        tt = self.tt
        return Place(
            str(tt.stop_names[stop]), float(tt.stop_lat[stop]), float(tt.stop_lon[stop]), str(tt.stop_ids[stop])
        )

    def _assemble(
        self,
        steps: list[RideStep],
        access_mode: str,
        access_s: int,
        access_leg: Leg | None = None,
        egress_leg: Leg | None = None,
    ) -> Itinerary:
        p = self.p
        legs: list[Leg] = []
        first = steps[0]
        board_place = self._stop_place(first.board_stop)
        end = first.departure - p.params.board_slack_s
        if access_leg is not None:
            legs.append(access_leg)
            return self._assemble_rides(steps, legs, egress_leg)
        access = p.walk if access_mode == "walk" else p.bike
        k = int(np.flatnonzero(access.stops == first.board_stop)[0])
        snap = self.o_snap if access_mode == "walk" else self.b_snap
        geometry = access.path(access.from_origin, snap, int(access.stop_edges[k]), float(access.stop_fracs[k]))
        geometry = _with_ends(geometry, self.origin, board_place)
        distance = (
            float(self.walk_access_m[np.flatnonzero(p.walk.stops == first.board_stop)[0]])
            if access_mode == "walk"
            else float(self.bike_access_m[k])
        )
        leg_type = WalkLeg if access_mode == "walk" else BikeLeg
        legs.append(leg_type(end - access_s, end, self.origin, board_place, distance, _coords(geometry)))
        return self._assemble_rides(steps, legs, egress_leg)

    def _assemble_rides(self, steps: list[RideStep], legs: list[Leg], egress_leg: Leg | None) -> Itinerary:
        p = self.p
        for i, step in enumerate(steps):
            if i and step.reached_board_stop_by == READY_WALK:
                legs.append(self._transfer_leg(steps[i - 1], step))
            legs.append(self._transit_leg(step))
        if egress_leg is not None:
            return self._itinerary((*legs, egress_leg))
        last = steps[-1]
        stop_place = self._stop_place(last.alight_stop)
        k = int(np.flatnonzero(p.walk.stops == last.alight_stop)[0])
        geometry = p.walk.path(
            p.walk.from_destination, self.d_snap, int(p.walk.stop_edges[k]), float(p.walk.stop_fracs[k])
        )
        geometry = _with_ends(geometry[::-1], stop_place, self.destination)
        egress_s = int(self.egress[last.alight_stop])
        legs.append(
            WalkLeg(
                last.arrival,
                last.arrival + egress_s,
                stop_place,
                self.destination,
                float(self.walk_egress_m[k]),
                _coords(geometry),
            )
        )
        return self._itinerary(tuple(legs))

    def _transfer_leg(self, before: RideStep, after: RideStep) -> WalkLeg:
        fp = self.data.footpaths
        a, b = before.alight_stop, after.board_stop
        q = int(np.flatnonzero(fp.to[fp.start[a] : fp.start[a + 1]] == b)[0]) + int(fp.start[a])
        distance = float(fp.distance_m[q])
        seconds = max(math.ceil(distance / self.p.walk_speed), int(fp.min_time_s[q]))
        origin, destination = self._stop_place(a), self._stop_place(b)
        geometry = np.array([[origin.lon, origin.lat], [destination.lon, destination.lat]])
        links = self.data.stop_links
        if not fp.approximate[q]:
            w = self.p.walk
            search = w.between_stops
            start = Snap(
                int(links.edge[a]), float(links.fraction[a]), float(links.distance_m[a]), origin.lon, origin.lat
            )
            search.from_snap(start, distance + 1)
            path = w.path(search, start, int(links.edge[b]), float(links.fraction[b]))
            geometry = _with_ends(path, origin, destination)
        return WalkLeg(
            before.arrival,
            before.arrival + seconds,
            origin,
            destination,
            distance,
            _coords(geometry),
            approximate=bool(fp.approximate[q]),
        )

    def _transit_leg(self, step: RideStep) -> TransitLeg:
        tt = self.tt
        p = step.pattern
        a = int(tt.pattern_stop_start[p])
        n = int(tt.pattern_stop_start[p + 1]) - a
        trip_global = int(tt.pattern_trip_start[p]) + step.trip
        arr, dep = tt.trip_times(p)
        stops = tt.pattern_stops[a + step.board_pos : a + step.alight_pos + 1]
        calls = tuple(
            StopCall(
                str(tt.stop_ids[s]),
                str(tt.stop_names[s]),
                float(tt.stop_lat[s]),
                float(tt.stop_lon[s]),
                int(arr[step.trip, step.board_pos + i]),
                int(dep[step.trip, step.board_pos + i]),
            )
            for i, s in enumerate(stops[1:-1], 1)
            if tt.pattern_can_board[a + step.board_pos + i] or tt.pattern_can_alight[a + step.board_pos + i]
        )
        stop_xy = np.column_stack([tt.stop_lon[stops], tt.stop_lat[stops]])
        shape = self.data.shapes.coords(str(tt.trip_shape_ids[trip_global]))
        if shape is not None and len(shape) >= 2:
            all_stops = tt.pattern_stops[a : a + n]
            pieces = cut_between(shape, np.column_stack([tt.stop_lon[all_stops], tt.stop_lat[all_stops]]))
            geometry = np.vstack(pieces[step.board_pos : step.alight_pos])
        else:
            geometry = stop_xy
        route = int(tt.pattern_route[p])
        return TransitLeg(
            step.departure,
            step.arrival,
            self._stop_place(step.board_stop),
            self._stop_place(step.alight_stop),
            str(tt.route_ids[route]),
            str(tt.route_short_names[route]),
            str(tt.route_long_names[route]),
            int(tt.route_types[route]),
            str(tt.trip_ids[trip_global]),
            str(tt.trip_headsigns[trip_global]),
            calls,
            _polyline_m(geometry),
            _coords(geometry),
            _step_free(
                int(tt.trip_wheelchair[trip_global]),
                int(tt.stop_wheelchair[step.board_stop]),
                int(tt.stop_wheelchair[step.alight_stop]),
            ),
            *self._scheduled(str(tt.trip_ids[trip_global]), step.board_pos, step.alight_pos),
            self._alerts(route, trip_global, stops, step.departure, step.arrival),
        )

    def _alerts(self, route: int, trip: int, stops: np.ndarray, start: int, end: int) -> tuple[str, ...]:
        """The headers of the real-time feed's alerts that concern the ride while it runs."""
        if not self.p.alerts:
            return ()
        tt = self.tt
        moment = self.p.clock.moment
        first, last = moment(self.date, start).timestamp(), moment(self.date, end).timestamp()
        stop_ids = [str(tt.stop_ids[s]) for s in stops]
        return tuple(
            alert.header
            for alert in self.p.alerts
            if (alert.active(first) or alert.active(last))
            and alert.concerns(str(tt.route_ids[route]), str(tt.trip_source_ids[trip]), stop_ids)
        )

    def _scheduled(self, trip_id: str, board_pos: int, alight_pos: int) -> tuple[int | None, int | None]:
        """The static timetable's departure and arrival of a ride, when real-time updates are applied."""
        static, g = self.day.static, self.day.scheduled.get(trip_id)
        if static is None or g is None:
            return None, None
        p = int(np.searchsorted(static.pattern_trip_start, g, side="right") - 1)
        arr, dep = static.trip_times(p)
        k = g - int(static.pattern_trip_start[p])
        return int(dep[k, board_pos]), int(arr[k, alight_pos])


def _step_free(*codes: int) -> bool | None:
    """GTFS accessibility codes of a ride (trip, boarding, alighting) as one answer."""
    if 2 in codes:
        return False
    return True if all(c == 1 for c in codes) else None


def _with_ends(geometry: np.ndarray, start: Place, end: Place) -> np.ndarray:
    return np.vstack([[start.lon, start.lat], geometry, [end.lon, end.lat]])


def _polyline_m(coords: np.ndarray) -> float:
    if len(coords) < 2:
        return 0.0
    return float(np.sum(haversine_m(coords[:-1, 0], coords[:-1, 1], coords[1:, 0], coords[1:, 1])))


def _shift(it: Itinerary, seconds: int) -> Itinerary:
    return replace(it, legs=tuple(replace(leg, start=leg.start + seconds, end=leg.end + seconds) for leg in it.legs))


def _price(it: Itinerary) -> float:
    """The fare as a criterion: unknown prices count as dearer than any known one."""
    amount = None if it.fare is None else it.fare.amount
    return math.inf if amount is None else amount


def _dominates(o: Itinerary, it: Itinerary) -> bool:
    """``o`` is as good as ``it`` on arrival, transfers and fare; a cheaper option arriving at the same
    time but leaving earlier does not hide ``it`` (a free walk does not hide the tram that lets the
    rider leave later)."""
    cheaper_but_leaves_earlier = _price(o) < _price(it) and o.arrive == it.arrive and o.depart < it.depart
    return (
        o.arrive <= it.arrive
        and o.transfers <= it.transfers
        and _price(o) <= _price(it)
        and not cheaper_but_leaves_earlier
    )


def _pareto(options: list[Itinerary]) -> list[Itinerary]:
    """Keep the itineraries no other one dominates (:func:`_dominates`), so a slower option that is
    cheaper stays; ties keep the one that leaves latest."""
    kept: list[Itinerary] = []
    for it in sorted(options, key=lambda x: (x.arrive, x.transfers, -x.depart, _price(x))):
        if not any(_dominates(o, it) for o in kept):
            kept.append(it)
    return kept


def _fare_rules(data: AreaData) -> FareRules | None:
    """The area's fares: the feed's and the shuttle's; None when neither is published."""
    shuttle = data.area.shuttle
    shuttle_fare = None
    if shuttle is not None and shuttle.fare is not None:
        shuttle_fare = ShuttleFare(shuttle.fare, shuttle.fare_with_transit, shuttle.fare_currency)
    rules = FareRules(data.timetable, shuttle_fare)
    return rules if rules.published or shuttle_fare is not None else None
