"""One service day of a GTFS feed as flat numpy arrays (``planner.timetable_compiler`` builds it).

The layout follows what RAPTOR needs (and nigiri/MOTIS do): stops, routes,
patterns and trips are integer indices; a pattern is a maximal set of trips of
one route that visit the same stops with the same pickup/drop-off rules and
never overtake one another, so within a pattern trips are sorted and
"the earliest trip I can catch at stop j" is a scan or binary search.

Times are integer seconds since noon-minus-12h of the service day (``planner.service_time``);
times past 24:00 stay past 86,400. So that a query near midnight sees every trip that can be
running then, the neighbouring service days' trips are included at their days' offsets (-86,400
and +86,400, or an hour more or less across a clock change): the previous day's from
``timetable_compiler.PREVIOUS_DAY_WINDOW_S`` before this day's origin (evening trips an arrive-by query just after
midnight may ride), and the next day's that leave within ``timetable_compiler.NEXT_DAY_WINDOW_S`` of its origin.

Array layout (P patterns, T trips, S stops):

* ``pattern_stop_start[P+1]`` slices ``pattern_stops`` / ``pattern_can_board`` /
  ``pattern_can_alight`` (the stops of pattern p in order);
* ``pattern_trip_start[P+1]`` slices the trip arrays (the trips of p, by departure);
* ``pattern_time_start[P]`` is where pattern p's times begin in ``arrivals`` /
  ``departures``: trip k of p at its stop j is at ``pattern_time_start[p] + k * n_stops(p) + j``;
* ``stop_pattern_start[S+1]`` slices ``stop_patterns`` (the patterns serving a stop).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from maas.cache import save_npz

DAY = 86_400
FORMAT_VERSION = 3


def fifo_chains(arrivals: np.ndarray, departures: np.ndarray, order: np.ndarray) -> list[list[int]]:
    """Runs (rows of the (runs, stops) time arrays, taken in ``order``) split into chains in which no run
    overtakes the one before it: each run joins the first chain whose last run it never overtakes."""
    chains: list[list[int]] = []
    for i in order:
        for chain in chains:
            j = chain[-1]
            if (arrivals[i] >= arrivals[j]).all() and (departures[i] >= departures[j]).all():
                chain.append(int(i))
                break
        else:
            chains.append([int(i)])
    return chains


@dataclass(frozen=True, slots=True)
class TimetableStats:
    """Facts about a compilation, for ``maas info`` and the closing checks."""

    trips_in_feed: int
    trips_active: int
    frequency_templates: int
    frequency_rows: int
    trips_after_expansion: int
    trips_from_previous_day: int
    trips_from_next_day: int
    patterns: int
    patterns_split_for_overtaking: int
    routes_active: int
    stop_times: int


@dataclass(frozen=True)
class Timetable:
    """One service day of a GTFS feed as flat arrays (see the module docstring)."""

    service_date: dt.date
    # stops
    stop_ids: np.ndarray
    stop_names: np.ndarray
    stop_lat: np.ndarray
    stop_lon: np.ndarray
    stop_parent: np.ndarray  # index of parent station or -1
    stop_location_type: np.ndarray
    stop_zone_ids: np.ndarray  # fare zone ("" none)
    stop_wheelchair: np.ndarray  # int8 wheelchair_boarding: 0 unknown, 1 yes, 2 no (a platform inherits its station's)
    # routes
    route_ids: np.ndarray
    route_short_names: np.ndarray
    route_long_names: np.ndarray
    route_types: np.ndarray
    route_agency_ids: np.ndarray  # "" where the feed names no agency
    # patterns
    pattern_route: np.ndarray
    pattern_stop_start: np.ndarray
    pattern_stops: np.ndarray
    pattern_can_board: np.ndarray
    pattern_can_alight: np.ndarray
    pattern_trip_start: np.ndarray
    pattern_time_start: np.ndarray
    # trips
    trip_ids: np.ndarray  # unique per compiled trip (expanded ones carry their start time)
    trip_source_ids: np.ndarray  # the trip_id in trips.txt
    trip_shape_ids: np.ndarray
    trip_headsigns: np.ndarray
    trip_from_frequency: np.ndarray
    trip_wheelchair: np.ndarray  # int8 wheelchair_accessible: 0 unknown, 1 yes, 2 no
    trip_bikes: np.ndarray  # int8 bikes_allowed: 0 unknown, 1 yes, 2 no
    arrivals: np.ndarray
    departures: np.ndarray
    # stop -> patterns
    stop_pattern_start: np.ndarray
    stop_patterns: np.ndarray
    # transfers.txt
    transfer_from: np.ndarray
    transfer_to: np.ndarray
    transfer_type: np.ndarray
    transfer_min_time: np.ndarray  # -1 where not given
    # fares (GTFS Fares v1, read by ``planner.fares``): fare_attributes.txt, then fare_rules.txt by row
    fare_ids: np.ndarray
    fare_prices: np.ndarray  # float64
    fare_currencies: np.ndarray
    fare_transfers: np.ndarray  # int16, -1 for unlimited (an empty ``transfers``)
    fare_durations_s: np.ndarray  # int32, -1 where not given
    fare_agency_ids: np.ndarray  # "" where not given
    fare_rule_fare: np.ndarray  # int32 index into the fare arrays
    fare_rule_route_ids: np.ndarray  # "" for any
    fare_rule_origins: np.ndarray  # zone, "" for any
    fare_rule_destinations: np.ndarray
    fare_rule_contains: np.ndarray
    stats: TimetableStats

    @property
    def n_stops(self) -> int:
        return len(self.stop_ids)

    @property
    def n_patterns(self) -> int:
        return len(self.pattern_route)

    @property
    def n_trips(self) -> int:
        return len(self.trip_ids)

    def stop_index(self, stop_id: str) -> int:
        """The index of a stop_id; ``KeyError`` for an unknown one."""
        hits = np.flatnonzero(self.stop_ids == stop_id)
        if not len(hits):
            raise KeyError(f"unknown stop_id {stop_id!r}")
        return int(hits[0])

    def pattern_stop_list(self, pattern: int) -> np.ndarray:
        """The stop indices of a pattern, in order."""
        return self.pattern_stops[self.pattern_stop_start[pattern] : self.pattern_stop_start[pattern + 1]]

    def trip_times(self, pattern: int) -> tuple[np.ndarray, np.ndarray]:
        """(arrivals, departures) of pattern p as (n_trips, n_stops) views."""
        n_stops = self.pattern_stop_start[pattern + 1] - self.pattern_stop_start[pattern]
        n_trips = self.pattern_trip_start[pattern + 1] - self.pattern_trip_start[pattern]
        start = self.pattern_time_start[pattern]
        end = start + n_trips * n_stops
        shape = (int(n_trips), int(n_stops))
        return self.arrivals[start:end].reshape(shape), self.departures[start:end].reshape(shape)

    def departures_from(self, stop_id: str) -> np.ndarray:
        """Sorted departure times of every trip that can be boarded at ``stop_id``."""
        stop = self.stop_index(stop_id)
        times = []
        for p in self.stop_patterns[self.stop_pattern_start[stop] : self.stop_pattern_start[stop + 1]]:
            stops = self.pattern_stop_list(p)
            board = self.pattern_can_board[self.pattern_stop_start[p] : self.pattern_stop_start[p + 1]]
            _, dep = self.trip_times(p)
            for j in np.flatnonzero((stops == stop) & board):
                times.append(dep[:, j])
        return np.sort(np.concatenate(times)) if times else np.empty(0, dtype=np.int32)

    def restricted(self, trip_ok: np.ndarray, stop_ok: np.ndarray) -> Timetable:
        """The same timetable with only the trips where ``trip_ok`` and boarding and alighting only at
        the stops where ``stop_ok`` (stop, route and pattern numbers unchanged; a pattern may be left
        with no trips)."""
        trip_ok = np.asarray(trip_ok, dtype=bool)
        n_stops = np.diff(self.pattern_stop_start)
        keep_times = np.zeros(len(self.arrivals), dtype=bool)
        for p in range(self.n_patterns):
            first, last = self.pattern_trip_start[p], self.pattern_trip_start[p + 1]
            rows = np.repeat(trip_ok[first:last], n_stops[p])
            start = self.pattern_time_start[p]
            keep_times[start : start + len(rows)] = rows
        running = np.r_[0, np.cumsum(trip_ok, dtype=np.int64)]
        kept_per_pattern = running[self.pattern_trip_start[1:]] - running[self.pattern_trip_start[:-1]]
        trip_start = np.r_[0, np.cumsum(kept_per_pattern)].astype(self.pattern_trip_start.dtype)
        time_start = np.r_[0, np.cumsum(kept_per_pattern * n_stops)[:-1]].astype(self.pattern_time_start.dtype)
        stop_allowed = np.asarray(stop_ok, dtype=bool)[self.pattern_stops]
        trip_fields = {f.name: getattr(self, f.name)[trip_ok] for f in fields(self) if f.name.startswith("trip_")}
        return replace(
            self,
            pattern_trip_start=trip_start,
            pattern_time_start=time_start[: self.n_patterns],
            pattern_can_board=self.pattern_can_board & stop_allowed,
            pattern_can_alight=self.pattern_can_alight & stop_allowed,
            arrivals=self.arrivals[keep_times],
            departures=self.departures[keep_times],
            **trip_fields,
        )

    # -- persistence -------------------------------------------------------------------------
    def save(self, path: Path) -> None:
        """Write the timetable to an ``.npz`` file."""
        arrays: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                arrays[f.name] = value
        arrays["service_date"] = np.array(self.service_date.isoformat())
        arrays["stats"] = np.array([getattr(self.stats, f.name) for f in fields(TimetableStats)])
        arrays["format_version"] = np.array(FORMAT_VERSION)
        save_npz(path, **arrays)

    @classmethod
    def load(cls, path: Path) -> Timetable:
        """Read a timetable written by :meth:`save`; ``ValueError`` for another format version."""
        with np.load(path, allow_pickle=False) as data:
            if int(data["format_version"]) != FORMAT_VERSION:
                raise ValueError(f"{path}: timetable format {int(data['format_version'])}, expected {FORMAT_VERSION}")
            values: dict[str, Any] = {}
            for f in fields(cls):
                if f.name == "service_date":
                    values[f.name] = dt.date.fromisoformat(str(data["service_date"]))
                elif f.name == "stats":
                    values[f.name] = TimetableStats(*(int(v) for v in data["stats"]))
                else:
                    values[f.name] = data[f.name]
        return cls(**values)
