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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from maas.errors import MaasError, OutsideAreaError
from planner.points import Point, read_points

__all__ = ["MatrixSettings", "Point", "read_points", "travel_time_matrix"]
from planner.raptor import INF, RaptorQuery, RaptorState
from planner.raptor import search as transit_search
from planner.router import Planner, ServiceDay, StreetAccess
from planner.street_graph import Snap
from planner.street_search import StreetSearch

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class MatrixSettings:
    """Defaults follow R5/r5py: 10-minute window, median, 30 min per walking leg, 8 rides, 2 h trips."""

    window_min: int = 10
    percentile: float = 50.0
    max_walk_leg_s: int = 30 * 60
    max_egress_m: float = 2000.0
    max_rides: int = 8
    max_trip_s: int = 2 * 3600
    range_raptor: bool = True  # False: every departure minute searched afresh (slower, the same answer)

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.window_min <= 24 * 60:
            problems.append(f"window_min must be 1..1440, got {self.window_min}")
        if not 0 < self.percentile <= 100:
            problems.append(f"percentile must be in (0, 100], got {self.percentile}")
        if not 1 <= self.max_rides <= 8:
            problems.append(f"max_rides must be 1..8, got {self.max_rides}")
        if problems:
            raise MaasError("matrix settings: " + "; ".join(problems))


@dataclass(frozen=True)
class TravelTimeMatrix:
    origin_ids: tuple[str, ...]
    destination_ids: tuple[str, ...]
    minutes: np.ndarray  # float (NaN = not reachable within the limits), shape (origins, destinations)
    # points no street reaches: (origin or destination, id, why); their rows or columns are NaN
    unsnapped: tuple[tuple[str, str, str], ...] = ()

    def write_unsnapped_csv(self, path: str | Path) -> None:
        """Write the points that are not near a street (role, id, reason) as CSV."""
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["role", "id", "reason"])
            writer.writerows(self.unsnapped)

    def rows(self) -> list[tuple[str, str, int | None]]:
        """(from_id, to_id, minutes) for every reachable pair, as r5py writes them."""
        out = []
        for i, o in enumerate(self.origin_ids):
            for j, d in enumerate(self.destination_ids):
                v = self.minutes[i, j]
                out.append((o, d, None if np.isnan(v) else int(v)))
        return out

    def write_csv(self, path: str | Path) -> None:
        """Write the matrix as ``from_id,to_id,travel_time`` CSV (minutes; unreachable pairs left out)."""
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["from_id", "to_id", "travel_time"])
            for o, d, t in self.rows():
                writer.writerow([o, d, "" if t is None else t])


def percentile_index(n: int, percentile: float) -> int:
    """Index into n sorted values of the non-interpolating percentile (as R5 reduces travel times)."""
    return max(math.ceil(percentile / 100 * n) - 1, 0)


def _reduce(seconds_per_minute: np.ndarray, settings: MatrixSettings) -> np.ndarray:
    """(minutes, destinations) seconds -> whole minutes at the percentile; NaN where over the limit."""
    ordered = np.sort(seconds_per_minute, axis=0)
    value = ordered[percentile_index(ordered.shape[0], settings.percentile)]
    return np.where(value <= settings.max_trip_s, np.floor(value / 60), np.nan)


def travel_time_matrix(
    planner: Planner,
    origins: Sequence[Point],
    destinations: Sequence[Point] | None,
    depart: dt.datetime,
    modes: Sequence[str] = ("transit",),
    settings: MatrixSettings | None = None,
    progress: Progress | None = None,
) -> TravelTimeMatrix:
    """Travel times in whole minutes from every origin to every destination.

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
        Window, percentile, walk speed and limits (default: ``MatrixSettings()``).
    progress
        Called with a line of text as origins are done.

    Returns
    -------
    TravelTimeMatrix
        Minutes per pair (unreachable pairs left out) and the points that are not near a street,
        with the reason; one such point never aborts the matrix.
    """
    with planner.lock:  # the planner's search state is used throughout
        return _matrix(planner, origins, destinations, depart, modes, settings, progress)


def _matrix(
    planner: Planner,
    origins: Sequence[Point],
    destinations: Sequence[Point] | None,
    depart: dt.datetime,
    modes: Sequence[str],
    settings: MatrixSettings | None,
    progress: Progress | None,
) -> TravelTimeMatrix:
    settings = settings or MatrixSettings()
    targets = list(destinations) if destinations is not None else list(origins)
    mode = "transit" if "transit" in modes else (modes[0] if modes else "")
    if mode not in ("transit", "walk", "bike", "car"):
        raise MaasError(f"matrix mode must be transit, walk, bike or car, got {modes}")
    date, clock0 = planner.locate(depart)
    day = planner.service_day(date)
    access = planner.walk if mode in ("transit", "walk") else (planner.bike if mode == "bike" else planner.car)
    speed = {"transit": planner.walk_speed, "walk": planner.walk_speed, "bike": planner.bike_speed, "car": 1.0}[mode]
    unsnapped: list[tuple[str, str, str]] = []
    o_maybe = _snap_all(planner, access, origins, "origin", unsnapped)
    d_maybe = _snap_all(planner, access, targets, "destination", unsnapped)
    d_missing = np.array([s is None for s in d_maybe], dtype=bool)
    fallback = next((s for s in (*o_maybe, *d_maybe) if s is not None), None)
    if fallback is None:
        raise OutsideAreaError(f"none of the {len(origins) + len(targets)} points is near a street of the area")
    d_snaps = [s if s is not None else fallback for s in d_maybe]
    d_edges = np.array([s.edge for s in d_snaps], dtype=np.int64)
    d_fracs = np.array([s.fraction for s in d_snaps])
    d_off = np.array([s.distance_m for s in d_snaps])
    result = np.full((len(origins), len(targets)), np.nan)
    state = day.network.new_state()  # this matrix's own buffers: the planner's are for its plans
    walk_limit_m = min(settings.max_walk_leg_s * speed, settings.max_egress_m)
    egress = _walk_egress(planner, d_snaps, d_missing, walk_limit_m, speed) if mode == "transit" else None
    for i, (origin, maybe) in enumerate(zip(origins, o_maybe, strict=True)):
        if maybe is None:
            if progress:
                progress(i + 1, len(origins))
            continue
        snap = maybe
        origin_search = access.from_origin
        limit = settings.max_trip_s * speed if mode != "car" else float(settings.max_trip_s)
        origin_search.from_snap(snap, limit)
        street = access.point_costs(origin_search, snap, d_edges, d_fracs)
        if mode == "car":
            direct_s = street + (d_off + snap.distance_m) / planner.walk_speed
        else:
            direct_s = (street + d_off + snap.distance_m) / speed
        direct_s = np.ceil(direct_s)
        same_point = np.array([abs(origin.lat - d.lat) < 1e-9 and abs(origin.lon - d.lon) < 1e-9 for d in targets])
        direct_s[same_point] = 0
        if mode != "transit":
            result[i] = _reduce(direct_s[None, :], settings)
        else:
            assert egress is not None
            per_minute = _by_transit(
                planner, day, access, origin_search, snap, direct_s, egress, state, clock0, speed, settings
            )
            result[i] = _reduce(per_minute, settings)
        if progress:
            progress(i + 1, len(origins))
    result[:, d_missing] = np.nan
    return TravelTimeMatrix(tuple(p.id for p in origins), tuple(p.id for p in targets), result, tuple(unsnapped))


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
    """Walking seconds from stops to each destination within reach, as compressed rows:
    destination j's stops are ``stop[start[j]:start[j + 1]]``, at ``seconds`` of the same slice."""

    start: np.ndarray
    stop: np.ndarray
    seconds: np.ndarray

    def arrivals(self, stop_arrival: np.ndarray) -> np.ndarray:
        """Each destination's earliest arrival from ``stop_arrival`` plus the walk (huge where none)."""
        from planner.egress_kernel import arrive_at_destinations  # numba: compiled on first use

        out = np.empty(len(self.start) - 1, dtype=np.int64)
        arrive_at_destinations(stop_arrival, self.start, self.stop, self.seconds, out)
        return out


def _walk_egress(
    planner: Planner, d_snaps: Sequence[Snap], d_missing: np.ndarray, walk_limit_m: float, speed: float
) -> WalkEgress:
    """Walking seconds from the stops within ``walk_limit_m`` of each destination, computed once per matrix."""
    w = planner.walk
    starts = [0]
    stops: list[np.ndarray] = []
    seconds: list[np.ndarray] = []
    for j, snap in enumerate(d_snaps):
        if not d_missing[j]:
            w.from_destination.from_snap(snap, walk_limit_m)
            metres = (
                w.point_costs(w.from_destination, snap, w.stop_edges, w.stop_fracs) + w.stop_link_m + snap.distance_m
            )
            ok = metres <= walk_limit_m
            stops.append(w.stops[ok].astype(np.int64))
            seconds.append(np.ceil(metres[ok] / speed).astype(np.int64))
            starts.append(starts[-1] + int(ok.sum()))
        else:
            starts.append(starts[-1])
    return WalkEgress(
        np.array(starts, dtype=np.int64),
        np.concatenate(stops) if stops else np.zeros(0, np.int64),
        np.concatenate(seconds) if seconds else np.zeros(0, np.int64),
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
    # range RAPTOR: the latest minute first, each earlier one keeping the labels of the one after it
    for m in reversed(range(settings.window_min)):
        clock = clock0 + 60 * m
        best = walk_ok.copy()
        if len(stops):
            query = RaptorQuery(
                stops,
                clock + seconds,
                None,
                max_rides=settings.max_rides,
                walk_speed_mps=speed,
                board_slack_s=planner.params.board_slack_s,
                transfer_slack_s=planner.params.transfer_slack_s,
                journeys=False,
                keep_labels=settings.range_raptor and m < settings.window_min - 1,
            )
            arrival = transit_search(day.network, query, state).stop_arrival
            assert arrival is not None  # a search to every stop
            by_transit = egress.arrivals(arrival) - clock
            best = np.minimum(best, np.where(by_transit < INF // 2, by_transit, np.inf))
        per_minute[m] = best
    return per_minute
