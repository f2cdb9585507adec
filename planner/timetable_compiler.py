"""Compile a validated GTFS feed for one service day into a :class:`~planner.timetable.Timetable`.

The parse-to-arrays step: pandas tables from ``planner.gtfs_feed`` in, flat numpy arrays out.
Which trips a day holds (its own, the previous evening's, the next morning's, each at its day's
offset), frequency expansion and the split of trips into FIFO patterns are decided here; the
array layout is described in ``planner.timetable``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from planner.gtfs_feed import GtfsFeed, format_gtfs_time, parse_gtfs_times
from planner.service_time import ServiceClock
from planner.timetable import Timetable, TimetableStats, fifo_chains

PREVIOUS_DAY_WINDOW_S = 6 * 3600
NEXT_DAY_WINDOW_S = 6 * 3600


def _strings(series: pd.Series) -> np.ndarray:
    return series.astype("string").fillna("").to_numpy(dtype=str)


def _optional_strings(df: pd.DataFrame, column: str) -> np.ndarray:
    return _strings(df[column]) if column in df else np.full(len(df), "")


def _interpolate_missing(times: np.ndarray, trip_start: np.ndarray) -> np.ndarray:
    """Fill -1 entries of each trip linearly between its known neighbours (by stop position)."""
    if not (times < 0).any():
        return times
    out = times.astype(np.float64)
    for a, b in itertools.pairwise(trip_start):
        seg = out[a:b]
        known = seg >= 0
        if not known.all():
            idx = np.arange(b - a)
            seg[~known] = np.interp(idx[~known], idx[known], seg[known])
    return np.round(out).astype(np.int64)


@dataclass(frozen=True)
class _StopTimes:
    """The stop times of every trip that runs, one *template* per source trip (``start[k]:start[k+1]``)."""

    start: np.ndarray  # template k's rows
    trip_row: np.ndarray  # template k's row in trips.txt
    arrival: np.ndarray
    departure: np.ndarray
    stop: np.ndarray
    can_board: np.ndarray
    can_alight: np.ndarray


@dataclass(frozen=True)
class _Runs:
    """Every compiled trip: its template, time shift, whether it came from frequencies.txt, its label."""

    template: np.ndarray
    shift: np.ndarray
    from_frequency: list[bool]
    label: list[str]


def compile_timetable(gtfs: GtfsFeed, service_date: dt.date, clock: ServiceClock | None = None) -> Timetable:
    """Compile ``gtfs`` for ``service_date`` in the frame of ``clock`` (a zone-less 24-hour clock when None).

    A date with no service of its own still compiles when a neighbouring day's trips reach into it
    (the previous evening's night trips); with no service on either side, NoServiceError lists the
    dates that have service.
    """
    clock = clock or ServiceClock()
    stops, routes, trips, stop_times = (gtfs.table(name) for name in ("stops", "routes", "trips", "stop_times"))
    assert stops is not None and routes is not None and trips is not None and stop_times is not None
    trips = trips.reset_index(drop=True)
    stop_ids = _strings(stops["stop_id"])
    stop_idx = {s: i for i, s in enumerate(stop_ids)}
    route_ids = _strings(routes["route_id"])
    source_trip_ids = _strings(trips["trip_id"])
    trip_row_of = pd.Series(np.arange(len(trips)), index=source_trip_ids)

    days = _day_offsets(gtfs, service_date, clock)  # (offset, services) of the day and its neighbours
    active_today = days[0][1]
    rows = [(np.flatnonzero(trips["service_id"].isin(on)), at) for at, on in days if on]
    trip_runs = pd.concat([pd.DataFrame({"trip_row": r, "offset": at}) for r, at in rows], ignore_index=True)
    st = _read_stop_times(stop_times, source_trip_ids, trip_row_of, np.unique(trip_runs["trip_row"]), stop_idx)
    template_of_row = {int(r): k for k, r in enumerate(st.trip_row)}
    freq_by_row, n_freq_rows = _frequencies(gtfs.table("frequencies"), trip_row_of, template_of_row)
    runs = _expand_runs(trip_runs, template_of_row, freq_by_row, st, source_trip_ids, next_offset=days[2][0])
    if not active_today and not len(runs.template):
        gtfs.require_service(service_date)  # no trips of its own, none of a neighbour's reach it: raises

    groups = _pattern_groups(st, runs, _strings(trips["route_id"]), route_ids)
    patterns = _fifo_patterns(groups, runs, st)
    arrays = _pattern_arrays(patterns, len(stop_ids))
    trip_order = np.array([i for t in patterns.trips for i in t], dtype=np.int64)
    n_patterns = len(patterns.route)
    stop_counts = np.diff(arrays["pattern_stop_start"]).astype(np.int64)
    trip_counts = np.diff(arrays["pattern_trip_start"]).astype(np.int64)
    source_rows = st.trip_row[runs.template[trip_order]] if len(trip_order) else np.zeros(0, np.int64)
    t_from, t_to, t_type, t_min = _transfers(gtfs.table("transfers"), stop_idx)
    stats = TimetableStats(
        trips_in_feed=len(trips),
        trips_active=int(trips["service_id"].isin(active_today).sum()),
        frequency_templates=len(freq_by_row),
        frequency_rows=n_freq_rows,
        trips_after_expansion=len(runs.template),
        trips_from_previous_day=sum(label.endswith("@prev-day") for label in runs.label),
        trips_from_next_day=sum(label.endswith("@next-day") for label in runs.label),
        patterns=n_patterns,
        patterns_split_for_overtaking=patterns.split,
        routes_active=len({key[0] for key in groups}),
        stop_times=int(stop_counts @ trip_counts) if n_patterns else 0,
    )
    parent, location_type = _stations(stops, stop_idx)
    stop_wheelchair = _codes(stops, "wheelchair_boarding")
    inherits = (stop_wheelchair == 0) & (parent >= 0)
    stop_wheelchair[inherits] = stop_wheelchair[parent[inherits]]
    return Timetable(
        service_date=service_date,
        stop_ids=stop_ids,
        stop_names=_optional_strings(stops, "stop_name"),
        stop_lat=stops["stop_lat"].to_numpy(dtype=np.float64),
        stop_lon=stops["stop_lon"].to_numpy(dtype=np.float64),
        stop_parent=parent,
        stop_location_type=location_type,
        stop_zone_ids=_optional_strings(stops, "zone_id"),
        stop_wheelchair=stop_wheelchair,
        route_ids=route_ids,
        route_short_names=_optional_strings(routes, "route_short_name"),
        route_long_names=_optional_strings(routes, "route_long_name"),
        route_types=routes["route_type"].to_numpy(dtype=np.int32),
        route_agency_ids=_optional_strings(routes, "agency_id"),
        trip_ids=np.array([runs.label[i] for i in trip_order], dtype=str),
        trip_source_ids=source_trip_ids[source_rows],
        trip_shape_ids=_optional_strings(trips, "shape_id")[source_rows],
        trip_headsigns=_optional_strings(trips, "trip_headsign")[source_rows],
        trip_from_frequency=np.array([runs.from_frequency[i] for i in trip_order], dtype=bool),
        trip_wheelchair=_codes(trips, "wheelchair_accessible")[source_rows],
        trip_bikes=_codes(trips, "bikes_allowed")[source_rows],
        transfer_from=t_from,
        transfer_to=t_to,
        transfer_type=t_type,
        transfer_min_time=t_min,
        stats=stats,
        **_fare_arrays(gtfs.table("fare_attributes"), gtfs.table("fare_rules")),
        **arrays,
    )


def _day_offsets(gtfs: GtfsFeed, date: dt.date, clock: ServiceClock) -> list[tuple[int, frozenset[str]]]:
    """(offset in ``date``'s frame, services running) for the day itself, the day before and the day after."""
    yesterday, tomorrow = date - dt.timedelta(days=1), date + dt.timedelta(days=1)
    days = [
        (0, gtfs.calendar.active_services(date)),
        (clock.offset_s(date, yesterday), gtfs.calendar.active_services(yesterday)),
        (clock.offset_s(date, tomorrow), gtfs.calendar.active_services(tomorrow)),
    ]
    if not any(services for _, services in days):
        gtfs.require_service(date)  # raises, naming the dates with service
    return days


def _read_stop_times(
    stop_times: pd.DataFrame,
    source_trip_ids: np.ndarray,
    trip_row_of: pd.Series,
    used_rows: np.ndarray,
    stop_idx: dict[str, int],
) -> _StopTimes:
    """Stop times of the trips that run, by trip then stop_sequence, missing times interpolated."""
    st = stop_times[stop_times["trip_id"].isin(set(source_trip_ids[used_rows]))]
    st = st.assign(trip_row=trip_row_of.loc[st["trip_id"].astype(str)].to_numpy())
    st = st.sort_values(["trip_row", "stop_sequence"], kind="stable")
    st_trip_row = st["trip_row"].to_numpy()
    boundaries = np.flatnonzero(np.diff(st_trip_row)) + 1
    start = np.concatenate([[0], boundaries, [len(st)]])
    arrival = parse_gtfs_times(st["arrival_time"])
    departure = parse_gtfs_times(st["departure_time"])
    arrival = np.where(arrival < 0, departure, arrival)
    departure = np.where(departure < 0, arrival, departure)
    pickup = st["pickup_type"].fillna(0).to_numpy() if "pickup_type" in st else np.zeros(len(st))
    dropoff = st["drop_off_type"].fillna(0).to_numpy() if "drop_off_type" in st else np.zeros(len(st))
    return _StopTimes(
        start=start,
        trip_row=st_trip_row[start[:-1]],
        arrival=_interpolate_missing(arrival, start),
        departure=_interpolate_missing(departure, start),
        stop=np.array([stop_idx[s] for s in st["stop_id"].astype(str)], dtype=np.int32),
        can_board=np.asarray(pickup != 1, dtype=bool),
        can_alight=np.asarray(dropoff != 1, dtype=bool),
    )


def _frequencies(
    frequencies: pd.DataFrame | None, trip_row_of: pd.Series, template_of_row: dict[int, int]
) -> tuple[dict[int, list[tuple[int, int, int]]], int]:
    """(start, end, headway) rows of frequencies.txt by the trips.txt row of their template trip.

    A template runs at start, start + h, ... < end (end exclusive, as the GTFS reference's example).
    exact_times=0 (headway-based service) is expanded the same way, since RAPTOR needs explicit
    trips; the schedule then represents the average headway rather than exact departures.
    """
    by_row: dict[int, list[tuple[int, int, int]]] = {}
    rows = 0
    if frequencies is None or not len(frequencies):
        return by_row, rows
    f_start = parse_gtfs_times(frequencies["start_time"])
    f_end = parse_gtfs_times(frequencies["end_time"])
    f_head = frequencies["headway_secs"].to_numpy(dtype=np.int64)
    for tid, s, e, h in zip(_strings(frequencies["trip_id"]), f_start, f_end, f_head, strict=True):
        row = int(trip_row_of[tid])
        if row in template_of_row:
            by_row.setdefault(row, []).append((int(s), int(e), int(h)))
            rows += 1
    return by_row, rows


def _expand_runs(
    trip_runs: pd.DataFrame,
    template_of_row: dict[int, int],
    freq_by_row: dict[int, list[tuple[int, int, int]]],
    st: _StopTimes,
    source_trip_ids: np.ndarray,
    next_offset: int,
) -> _Runs:
    """Every trip the day holds: frequencies expanded, the neighbouring days' kept inside their windows."""
    earliest_end = -PREVIOUS_DAY_WINDOW_S  # a previous-day trip must end after this (today's frame)
    latest_start = next_offset + NEXT_DAY_WINDOW_S  # a next-day trip must start before this

    def outside(first: int, last: int, offset: int) -> bool:
        return (offset < 0 and last < earliest_end) or (offset > 0 and first >= latest_start)

    template: list[int] = []
    shift: list[int] = []
    from_frequency: list[bool] = []
    label: list[str] = []
    for row, offset in zip(trip_runs["trip_row"], trip_runs["offset"], strict=True):
        k = template_of_row.get(int(row))
        if k is None:
            continue  # a trip without stop_times never runs
        first_dep = int(st.departure[st.start[k]])
        last_arr = int(st.arrival[st.start[k + 1] - 1])
        suffix = "" if offset == 0 else ("@prev-day" if offset < 0 else "@next-day")
        if int(row) in freq_by_row:
            for s, e, h in freq_by_row[int(row)]:
                for begin in range(s, e, h):
                    moved = begin - first_dep + offset
                    if outside(first_dep + moved, last_arr + moved, offset):
                        continue
                    template.append(k)
                    shift.append(moved)
                    from_frequency.append(True)
                    label.append(f"{source_trip_ids[row]}@{format_gtfs_time(begin)}{suffix}")
        elif not outside(first_dep + offset, last_arr + offset, offset):
            template.append(k)
            shift.append(offset)
            from_frequency.append(False)
            label.append(f"{source_trip_ids[row]}{suffix}")
    return _Runs(np.array(template, dtype=np.int64), np.array(shift, dtype=np.int64), from_frequency, label)


@dataclass
class _Patterns:
    route: list[int] = field(default_factory=list)
    stops: list[np.ndarray] = field(default_factory=list)
    board: list[np.ndarray] = field(default_factory=list)
    alight: list[np.ndarray] = field(default_factory=list)
    trips: list[list[int]] = field(default_factory=list)
    arrivals: list[np.ndarray] = field(default_factory=list)
    departures: list[np.ndarray] = field(default_factory=list)
    split: int = 0


def _fifo_patterns(groups: dict[tuple[Any, ...], list[int]], runs: _Runs, st: _StopTimes) -> _Patterns:
    """Each group of runs (same route, stops and pickup/drop-off rules) as patterns whose trips never
    overtake: a trip joins the first sub-pattern whose last trip it never overtakes (greedy FIFO split)."""
    out = _Patterns()
    for key in sorted(groups, key=lambda key: (key[0], key[1])):
        members = np.array(groups[key])
        k0 = runs.template[members[0]]
        a, b = st.start[k0], st.start[k0 + 1]
        n = b - a
        arr_m = np.stack([st.arrival[st.start[t] : st.start[t] + n] for t in runs.template[members]])
        dep_m = np.stack([st.departure[st.start[t] : st.start[t] + n] for t in runs.template[members]])
        arr_m = arr_m + runs.shift[members][:, None]
        dep_m = dep_m + runs.shift[members][:, None]
        subs = fifo_chains(arr_m, dep_m, np.lexsort((arr_m[:, -1], dep_m[:, 0])))
        out.split += len(subs) - 1
        for sub in subs:
            out.route.append(key[0])
            out.stops.append(st.stop[a:b])
            out.board.append(st.can_board[a:b])
            out.alight.append(st.can_alight[a:b])
            out.trips.append([int(members[i]) for i in sub])
            out.arrivals.append(arr_m[sub].ravel())
            out.departures.append(dep_m[sub].ravel())
    return out


def _pattern_groups(
    st: _StopTimes, runs: _Runs, route_of_row: np.ndarray, route_ids: np.ndarray
) -> dict[tuple[Any, ...], list[int]]:
    """The runs grouped by route, stop sequence and pickup/drop-off rules (a pattern before the FIFO split)."""
    route_idx = {r: i for i, r in enumerate(route_ids)}
    keys = [
        (
            route_idx[route_of_row[row]],
            st.stop[a:b].tobytes(),
            st.can_board[a:b].tobytes(),
            st.can_alight[a:b].tobytes(),
        )
        for row, a, b in zip(st.trip_row, st.start[:-1], st.start[1:], strict=True)
    ]
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, k in enumerate(runs.template):
        groups.setdefault(keys[k], []).append(i)
    return groups


def _pattern_arrays(patterns: _Patterns, n_stops: int) -> dict[str, np.ndarray]:
    """The patterns as the Timetable's flat arrays (layout in ``planner.timetable``)."""
    n_patterns = len(patterns.route)
    stop_counts = np.array([len(x) for x in patterns.stops], dtype=np.int64)
    trip_counts = np.array([len(t) for t in patterns.trips], dtype=np.int64)
    flat_stops = np.concatenate(patterns.stops).astype(np.int32) if n_patterns else np.zeros(0, np.int32)
    # stop -> patterns (each pattern once per stop even if it loops through the stop twice)
    pairs = (
        np.unique(np.stack([flat_stops, np.repeat(np.arange(n_patterns), stop_counts)]), axis=1)
        if n_patterns
        else np.zeros((2, 0), dtype=np.int64)
    )
    return {
        "pattern_route": np.array(patterns.route, dtype=np.int32),
        "pattern_stop_start": np.concatenate([[0], np.cumsum(stop_counts)]).astype(np.int32),
        "pattern_stops": flat_stops,
        "pattern_can_board": np.concatenate(patterns.board) if n_patterns else np.zeros(0, bool),
        "pattern_can_alight": np.concatenate(patterns.alight) if n_patterns else np.zeros(0, bool),
        "pattern_trip_start": np.concatenate([[0], np.cumsum(trip_counts)]).astype(np.int32),
        "pattern_time_start": (
            np.concatenate([[0], np.cumsum(stop_counts * trip_counts)[:-1]]).astype(np.int64)
            if n_patterns
            else np.zeros(0, dtype=np.int64)
        ),
        "arrivals": np.concatenate(patterns.arrivals).astype(np.int32) if n_patterns else np.zeros(0, np.int32),
        "departures": np.concatenate(patterns.departures).astype(np.int32) if n_patterns else np.zeros(0, np.int32),
        "stop_pattern_start": np.searchsorted(pairs[0], np.arange(n_stops + 1)).astype(np.int32),
        "stop_patterns": pairs[1].astype(np.int32),
    }


def _transfers(
    transfers: pd.DataFrame | None, stop_idx: dict[str, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """transfers.txt as (from, to, type, min_transfer_time; -1 where not given)."""
    if transfers is None or not len(transfers):
        return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.int8), np.zeros(0, np.int32)
    t_from = np.array([stop_idx[s] for s in _strings(transfers["from_stop_id"])], dtype=np.int32)
    t_to = np.array([stop_idx[s] for s in _strings(transfers["to_stop_id"])], dtype=np.int32)
    t_type = transfers["transfer_type"].fillna(0).to_numpy(dtype=np.int8)
    t_min = (
        transfers["min_transfer_time"].fillna(-1).to_numpy(dtype=np.int32)
        if "min_transfer_time" in transfers
        else np.full(len(t_from), -1, np.int32)
    )
    return t_from, t_to, t_type, t_min


def _stations(stops: pd.DataFrame, stop_idx: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Each stop's parent station index (-1 if none) and location_type."""
    parent = np.full(len(stops), -1, dtype=np.int32)
    if "parent_station" in stops:
        for i, p in enumerate(_strings(stops["parent_station"])):
            if p:
                parent[i] = stop_idx.get(p, -1)
    location_type = (
        stops["location_type"].fillna(0).to_numpy(dtype=np.int8)
        if "location_type" in stops
        else np.zeros(len(stops), np.int8)
    )
    return parent, location_type


def _codes(df: pd.DataFrame, column: str) -> np.ndarray:
    """A 0/1/2 accessibility column as int8 (0, "no information", where empty or absent)."""
    if column not in df:
        return np.zeros(len(df), np.int8)
    return pd.to_numeric(df[column], errors="coerce").fillna(0).to_numpy(dtype=np.int8)


def _fare_arrays(attributes: pd.DataFrame | None, rules: pd.DataFrame | None) -> dict[str, np.ndarray]:
    """fare_attributes.txt and fare_rules.txt as flat arrays (empty when the feed has no fares)."""
    if attributes is None or not len(attributes):
        attributes = pd.DataFrame({"fare_id": pd.Series([], dtype="string"), "price": [], "currency_type": []})
    fare_ids = _strings(attributes["fare_id"])
    index = {f: i for i, f in enumerate(fare_ids)}
    if rules is None:
        rules = pd.DataFrame({"fare_id": pd.Series([], dtype="string")})

    def number(column: str, dtype: type, missing: int) -> np.ndarray:
        if column not in attributes:
            return np.full(len(attributes), missing, dtype)
        return pd.to_numeric(attributes[column], errors="coerce").fillna(missing).to_numpy(dtype=dtype)

    return {
        "fare_ids": fare_ids,
        "fare_prices": pd.to_numeric(attributes["price"], errors="coerce").to_numpy(dtype=np.float64),
        "fare_currencies": _strings(attributes["currency_type"]),
        "fare_transfers": number("transfers", np.int16, -1),
        "fare_durations_s": number("transfer_duration", np.int32, -1),
        "fare_agency_ids": _optional_strings(attributes, "agency_id"),
        "fare_rule_fare": np.array([index[f] for f in _strings(rules["fare_id"])], dtype=np.int32),
        "fare_rule_route_ids": _optional_strings(rules, "route_id"),
        "fare_rule_origins": _optional_strings(rules, "origin_id"),
        "fare_rule_destinations": _optional_strings(rules, "destination_id"),
        "fare_rule_contains": _optional_strings(rules, "contains_id"),
    }
