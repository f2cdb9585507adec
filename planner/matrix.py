"""Many-to-many travel-time matrices over a departure window, in the shape r5py users know.

For each origin and each departure minute of the window, one RAPTOR run gives the
earliest arrival at every stop; each destination then takes the best stop plus
its walking egress, or walks directly. Travel time per minute is arrival minus
the departure minute; the matrix reports a percentile over the minutes. To make
results comparable with R5 (Conveyal), the same conventions are used: the
percentile is the non-interpolating one (the ``ceil(p/100 * n)``-th smallest of
the n per-minute values), and minutes are whole minutes rounded down.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from maas.errors import MaasError, OutsideAreaError
from planner.points import Point, read_points
from planner.raptor import INF, RaptorQuery, RaptorState
from planner.raptor import search as transit_search
from planner.router import Planner, ServiceDay, StreetAccess
from planner.street_graph import Snap
from planner.street_search import StreetSearch

__all__ = [
    "MatrixJob",
    "MatrixSettings",
    "Point",
    "TravelTimeMatrix",
    "origin_rows",
    "prepare_matrix",
    "read_points",
    "travel_time_matrix",
    "walk_egress",
]

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class MatrixSettings:
    """Defaults follow R5/r5py: 10-minute window, median, 30 min per walking leg, 8 rides, 2 h trips."""

    window_min: int = 10
    percentiles: tuple[float, ...] = (50.0,)
    max_walk_leg_s: int = 30 * 60
    max_egress_m: float = 2000.0
    max_rides: int = 8
    max_trip_s: int = 2 * 3600
    range_raptor: bool = True  # False: every departure minute searched afresh (slower, the same answer)

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.window_min <= 24 * 60:
            problems.append(f"window_min must be 1..1440, got {self.window_min}")
        if not self.percentiles:
            problems.append("percentiles must name at least one percentile")
        problems += [f"percentiles must be in (0, 100], got {p}" for p in self.percentiles if not 0 < p <= 100]
        if len(set(self.percentiles)) != len(self.percentiles):
            problems.append(f"percentiles repeat a value: {list(self.percentiles)}")
        if not 1 <= self.max_rides <= 8:
            problems.append(f"max_rides must be 1..8, got {self.max_rides}")
        if problems:
            raise MaasError("matrix settings: " + "; ".join(problems))


@dataclass(frozen=True)
class TravelTimeMatrix:
    origin_ids: tuple[str, ...]
    destination_ids: tuple[str, ...]
    # float minutes (NaN = not reachable within the limits), shape (origins, destinations, percentiles)
    by_percentile: np.ndarray
    percentiles: tuple[float, ...] = (50.0,)
    # points no street reaches: (origin or destination, id, why); their rows or columns are NaN
    unsnapped: tuple[tuple[str, str, str], ...] = ()

    @property
    def minutes(self) -> np.ndarray:
        """(origins, destinations) minutes at the first percentile asked for."""
        return self.by_percentile[:, :, 0]

    def write_unsnapped_csv(self, path: str | Path) -> None:
        """Write the points that are not near a street (role, id, reason) as CSV."""
        write_unsnapped_csv(path, self.unsnapped)

    def rows(self) -> list[tuple[str, str, int | None]]:
        """(from_id, to_id, minutes) for every pair at the first percentile; None where unreachable."""
        out = []
        for i, o in enumerate(self.origin_ids):
            for j, d in enumerate(self.destination_ids):
                v = self.minutes[i, j]
                out.append((o, d, None if np.isnan(v) else int(v)))
        return out


def write_unsnapped_csv(path: str | Path, unsnapped: Sequence[tuple[str, str, str]]) -> None:
    """Write the points that are not near a street (role, id, reason) as CSV."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["role", "id", "reason"])
        writer.writerows(unsnapped)


def percentile_index(n: int, percentile: float) -> int:
    """Index into n sorted values of the non-interpolating percentile (as R5 reduces travel times)."""
    return max(math.ceil(percentile / 100 * n) - 1, 0)


def _reduce(seconds_per_minute: np.ndarray, settings: MatrixSettings) -> np.ndarray:
    """(minutes, destinations) seconds -> (destinations, percentiles) whole minutes; NaN over the limit."""
    ordered = np.sort(seconds_per_minute, axis=0)
    picks = [percentile_index(ordered.shape[0], p) for p in settings.percentiles]
    value = ordered[picks].T
    return np.where(value <= settings.max_trip_s, np.floor(value / 60), np.nan)


@dataclass(frozen=True, slots=True)
class SnappedPoints:
    """Points where they meet the street graph; a point off the streets is ``missing`` (its snap is a
    stand-in and its results are NaN)."""

    ids: tuple[str, ...]
    lat: np.ndarray
    lon: np.ndarray
    edge: np.ndarray
    fraction: np.ndarray
    offset_m: np.ndarray
    missing: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def snap(self, index: int) -> Snap:
        """The street point of point ``index``."""
        return Snap(
            int(self.edge[index]),
            float(self.fraction[index]),
            float(self.offset_m[index]),
            float(self.lon[index]),
            float(self.lat[index]),
        )


@dataclass(frozen=True, slots=True)
class MatrixJob:
    """What every origin of one matrix shares: the snapped points, the service day and the walk from
    stops to each destination. Made once (:func:`prepare_matrix`), then handed to each chunk of
    origins, in this process or on other machines."""

    mode: str
    date: dt.date
    clock0: int  # seconds of the service day at the window's first minute
    settings: MatrixSettings
    origins: SnappedPoints
    destinations: SnappedPoints
    unsnapped: tuple[tuple[str, str, str], ...]
    egress: WalkEgress | None = None  # transit only; None until computed

    def with_egress(self, egress: WalkEgress) -> MatrixJob:
        """This job with its walking egress filled in."""
        return replace(self, egress=egress)


def travel_time_matrix(
    planner: Planner,
    origins: Sequence[Point],
    destinations: Sequence[Point] | None,
    depart: dt.datetime,
    modes: Sequence[str] = ("transit",),
    settings: MatrixSettings | None = None,
    progress: Progress | None = None,
) -> TravelTimeMatrix:
    """Travel times in whole minutes from every origin to every destination, held in memory.

    Parameters
    ----------
    planner
        The area's planner (its timetable and street graphs).
    origins, destinations
        Points with ids; ``destinations`` None means the origins.
    depart
        The departure (the start of the departure window with ``settings.window_min``).
    modes
        ``("transit",)`` (transit with walking, or walking alone where faster), ``("walk",)``,
        ``("bike",)`` or ``("car",)``.
    settings
        Window, percentiles, walk speed and limits (default: ``MatrixSettings()``).
    progress
        Called with (origins done, origins) as origins are done.

    Returns
    -------
    TravelTimeMatrix
        Minutes per pair and percentile (NaN where unreachable) and the points that are not near a
        street, with the reason; one such point never aborts the matrix. For matrices too large for
        memory, or to use several cores, see :mod:`planner.matrix_run`.
    """
    job = prepare_matrix(planner, origins, destinations, depart, modes, settings)
    result = origin_rows(planner, job, 0, len(job.origins), progress)
    return TravelTimeMatrix(job.origins.ids, job.destinations.ids, result, job.settings.percentiles, job.unsnapped)


def prepare_matrix(
    planner: Planner,
    origins: Sequence[Point],
    destinations: Sequence[Point] | None,
    depart: dt.datetime,
    modes: Sequence[str] = ("transit",),
    settings: MatrixSettings | None = None,
    with_egress: bool = True,
) -> MatrixJob:
    """Snap the points and find the service day; with ``with_egress`` also the walk from stops to every
    destination (else leave it to :func:`walk_egress` over parts of the destinations, in parallel)."""
    settings = settings or MatrixSettings()
    targets = list(destinations) if destinations is not None else list(origins)
    mode = "transit" if "transit" in modes else (modes[0] if modes else "")
    if mode not in ("transit", "walk", "bike", "car"):
        raise MaasError(f"matrix mode must be transit, walk, bike or car, got {modes}")
    with planner.lock:
        date, clock0 = planner.locate(depart)
        planner.service_day(date)  # a date without service fails here, before any work is shared out
        access = _access(planner, mode)
        unsnapped: list[tuple[str, str, str]] = []
        o_maybe = _snap_all(planner, access, origins, "origin", unsnapped)
        if destinations is None:  # the origins again: snapped once
            d_maybe = o_maybe
            unsnapped += [("destination", point, why) for _, point, why in list(unsnapped)]
        else:
            d_maybe = _snap_all(planner, access, targets, "destination", unsnapped)
    fallback = next((s for s in (*o_maybe, *d_maybe) if s is not None), None)
    if fallback is None:
        raise OutsideAreaError(f"none of the {len(origins) + len(targets)} points is near a street of the area")
    job = MatrixJob(
        mode,
        date,
        clock0,
        settings,
        _snapped(origins, o_maybe, fallback),
        _snapped(targets, d_maybe, fallback),
        tuple(unsnapped),
    )
    if with_egress and mode == "transit":
        job = job.with_egress(walk_egress(planner, job, 0, len(job.destinations)))
    return job


def _snapped(points: Sequence[Point], snaps: Sequence[Snap | None], fallback: Snap) -> SnappedPoints:
    filled = [s if s is not None else fallback for s in snaps]
    return SnappedPoints(
        tuple(p.id for p in points),
        np.array([p.lat for p in points], dtype=np.float64),
        np.array([p.lon for p in points], dtype=np.float64),
        np.array([s.edge for s in filled], dtype=np.int64),
        np.array([s.fraction for s in filled], dtype=np.float64),
        np.array([s.distance_m for s in filled], dtype=np.float64),
        np.array([s is None for s in snaps], dtype=bool),
    )


def _access(planner: Planner, mode: str) -> StreetAccess:
    return planner.walk if mode in ("transit", "walk") else (planner.bike if mode == "bike" else planner.car)


def _speed(planner: Planner, mode: str) -> float:
    return {"transit": planner.walk_speed, "walk": planner.walk_speed, "bike": planner.bike_speed, "car": 1.0}[mode]


def origin_rows(
    planner: Planner, job: MatrixJob, first: int, stop: int, progress: Progress | None = None
) -> np.ndarray:
    """Minutes from origins ``first:stop`` of ``job`` to every destination: an array of shape
    (origins, destinations, percentiles), NaN where unreachable."""
    if job.mode == "transit" and job.egress is None:
        raise MaasError("a transit matrix job needs its walking egress (prepare_matrix with_egress)")
    with planner.lock:  # the planner's street searches are used throughout
        return _origin_rows(planner, job, first, stop, progress)


def _origin_rows(planner: Planner, job: MatrixJob, first: int, stop: int, progress: Progress | None) -> np.ndarray:
    settings, mode, d = job.settings, job.mode, job.destinations
    day = planner.service_day(job.date)
    access = _access(planner, mode)
    speed = _speed(planner, mode)
    result = np.full((stop - first, len(d), len(settings.percentiles)), np.nan, dtype=np.float32)
    state = day.network.new_state()  # this chunk's own buffers: the planner's are for its plans
    # transit keeps a direct walk only up to one walking leg, so the street search stops there
    limit_s = min(settings.max_trip_s, settings.max_walk_leg_s) if mode == "transit" else settings.max_trip_s
    limit = float(limit_s) if mode == "car" else limit_s * speed
    origin_search = access.from_origin
    for row, i in enumerate(range(first, stop)):
        if not job.origins.missing[i]:
            snap = job.origins.snap(i)
            origin_search.from_snap(snap, limit)
            street = access.point_costs(origin_search, snap, d.edge, d.fraction)
            if mode == "car":
                direct_s = street + (d.offset_m + snap.distance_m) / planner.walk_speed
            else:
                direct_s = (street + d.offset_m + snap.distance_m) / speed
            direct_s = np.ceil(direct_s)
            same_point = (np.abs(d.lat - job.origins.lat[i]) < 1e-9) & (np.abs(d.lon - job.origins.lon[i]) < 1e-9)
            direct_s[same_point] = 0
            if mode != "transit":
                result[row] = _reduce(direct_s[None, :], settings)
            else:
                assert job.egress is not None
                per_minute = _by_transit(
                    planner, day, access, origin_search, snap, direct_s, job.egress, state, job.clock0, speed, settings
                )
                result[row] = _reduce(per_minute, settings)
        if progress:
            progress(row + 1, stop - first)
    result[:, d.missing] = np.nan
    return result


def _snap_all(
    planner: Planner, access: StreetAccess, points: Sequence[Point], role: str, unsnapped: list[tuple[str, str, str]]
) -> list[Snap | None]:
    """Each point snapped to the street graph, or None: one point off the streets (in a lake, or on a
    street the clipped extract cut off) must not abort a matrix of thousands; it is marked unreachable,
    as r5py does, and listed in ``unsnapped``."""
    out: list[Snap | None] = []
    for p in points:
        try:
            out.append(planner.snap(access, p.lat, p.lon, f"{role} {p.id}"))
        except OutsideAreaError as exc:
            unsnapped.append((role, p.id, str(exc)))
            out.append(None)
    return out


@dataclass(frozen=True, slots=True)
class WalkEgress:
    """Walking seconds from stops to each destination within reach, as compressed rows both ways:
    destination j's stops are ``stop[start[j]:start[j + 1]]`` at ``seconds`` of the same slice, and
    stop s's destinations are ``by_stop_destination[by_stop_start[s]:by_stop_start[s + 1]]`` at
    ``by_stop_seconds`` of that slice."""

    start: np.ndarray
    stop: np.ndarray
    seconds: np.ndarray
    by_stop_start: np.ndarray
    by_stop_destination: np.ndarray
    by_stop_seconds: np.ndarray

    @classmethod
    def of(cls, start: np.ndarray, stop: np.ndarray, seconds: np.ndarray, n_stops: int) -> WalkEgress:
        """The egress from its rows per destination (the rows per stop are derived)."""
        destination = np.repeat(np.arange(len(start) - 1, dtype=np.int64), np.diff(start))
        order = np.argsort(stop, kind="stable")
        by_stop_start = np.zeros(n_stops + 1, dtype=np.int64)
        np.cumsum(np.bincount(stop, minlength=n_stops), out=by_stop_start[1:])
        return cls(start, stop, seconds, by_stop_start, destination[order], seconds[order])

    @property
    def n_stops(self) -> int:
        return len(self.by_stop_start) - 1

    def arrivals(self, stop_arrival: np.ndarray) -> np.ndarray:
        """Each destination's earliest arrival from ``stop_arrival`` plus the walk (huge where none)."""
        from planner.egress_kernel import arrive_at_destinations  # numba: compiled on first use

        out = np.empty(len(self.start) - 1, dtype=np.int64)
        arrive_at_destinations(stop_arrival, self.start, self.stop, self.seconds, out)
        return out

    def improve(self, stop_arrival: np.ndarray, previous: np.ndarray, arrivals: np.ndarray) -> None:
        """Lower ``arrivals`` (those of ``previous``) in place to those of ``stop_arrival``, where no
        stop arrives later than in ``previous`` (range RAPTOR's earlier minute): only the stops that
        improved are walked from."""
        from planner.egress_kernel import improve_destinations

        improve_destinations(
            stop_arrival, previous, self.by_stop_start, self.by_stop_destination, self.by_stop_seconds, arrivals
        )

    @staticmethod
    def join(parts: Sequence[WalkEgress]) -> WalkEgress:
        """The egress of consecutive destination ranges, one after the other."""
        starts = [np.zeros(1, np.int64)]
        offset = 0
        for part in parts:
            starts.append(part.start[1:] + offset)
            offset += int(part.start[-1])
        return WalkEgress.of(
            np.concatenate(starts),
            np.concatenate([p.stop for p in parts]) if parts else np.zeros(0, np.int64),
            np.concatenate([p.seconds for p in parts]) if parts else np.zeros(0, np.int64),
            parts[0].n_stops if parts else 0,
        )


def walk_egress(planner: Planner, job: MatrixJob, first: int, stop: int) -> WalkEgress:
    """Walking seconds from the stops within reach of destinations ``first:stop`` (one street search
    each, from the destination); parts over consecutive ranges combine with :meth:`WalkEgress.join`."""
    speed = planner.walk_speed
    walk_limit_m = min(job.settings.max_walk_leg_s * speed, job.settings.max_egress_m)
    w = planner.walk
    d = job.destinations
    starts = [0]
    stops: list[np.ndarray] = []
    seconds: list[np.ndarray] = []
    with planner.lock:
        for j in range(first, stop):
            if not d.missing[j]:
                snap = d.snap(j)
                w.from_destination.from_snap(snap, walk_limit_m)
                metres = (
                    w.point_costs(w.from_destination, snap, w.stop_edges, w.stop_fracs)
                    + w.stop_link_m
                    + snap.distance_m
                )
                ok = metres <= walk_limit_m
                stops.append(w.stops[ok].astype(np.int64))
                seconds.append(np.ceil(metres[ok] / speed).astype(np.int64))
                starts.append(starts[-1] + int(ok.sum()))
            else:
                starts.append(starts[-1])
    return WalkEgress.of(
        np.array(starts, dtype=np.int64),
        np.concatenate(stops) if stops else np.zeros(0, np.int64),
        np.concatenate(seconds) if seconds else np.zeros(0, np.int64),
        len(planner.data.timetable.stop_lat),
    )


def _by_transit(
    planner: Planner,
    day: ServiceDay,
    access: StreetAccess,
    origin_search: StreetSearch,
    snap: Snap,
    direct_s: np.ndarray,
    egress: WalkEgress,
    state: RaptorState,
    clock0: int,
    speed: float,
    settings: MatrixSettings,
) -> np.ndarray:
    """(minutes of the window, destinations) travel times from one origin by transit or a short walk."""
    walk_ok = np.where(direct_s <= settings.max_walk_leg_s, direct_s, np.inf)
    metres = (
        access.point_costs(origin_search, snap, access.stop_edges, access.stop_fracs)
        + access.stop_link_m
        + snap.distance_m
    )
    ok = metres <= settings.max_walk_leg_s * speed
    stops = access.stops[ok]
    seconds = np.ceil(metres[ok] / speed).astype(np.int64)
    per_minute = np.empty((settings.window_min, len(direct_s)))
    destination_arrival: np.ndarray | None = None
    previous = np.zeros(0, dtype=np.int64)
    # range RAPTOR: the latest minute first, each earlier one keeping the labels of the one after it
    for m in reversed(range(settings.window_min)):
        clock = clock0 + 60 * m
        best = walk_ok.copy()
        if len(stops):
            ranged = settings.range_raptor and m < settings.window_min - 1
            query = RaptorQuery(
                stops,
                clock + seconds,
                None,
                max_rides=settings.max_rides,
                walk_speed_mps=speed,
                board_slack_s=planner.params.board_slack_s,
                transfer_slack_s=planner.params.transfer_slack_s,
                journeys=False,
                keep_labels=ranged,
            )
            arrival = transit_search(day.network, query, state).stop_arrival
            assert arrival is not None  # a search to every stop
            if ranged and destination_arrival is not None:
                # kept labels only improve, so only the stops that improved need walking from
                egress.improve(arrival, previous, destination_arrival)
            else:
                destination_arrival = egress.arrivals(arrival)
            previous = arrival
            by_transit = destination_arrival - clock
            best = np.minimum(best, np.where(by_transit < INF // 2, by_transit, np.inf))
        per_minute[m] = best
    return per_minute
