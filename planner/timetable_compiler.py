"""Compile a validated GTFS feed for one service day into a :class:`~planner.timetable.Timetable`.

The parse-to-arrays step: pandas tables from ``planner.gtfs_feed`` in, flat numpy arrays out.
Which trips a day holds (its own, the previous evening's, the next morning's, each at its day's
offset), frequency expansion and the split of trips into FIFO patterns are decided here; the
array layout is described in ``planner.timetable``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import numpy as np
import pandas as pd

from planner.gtfs_feed import GtfsFeed, format_gtfs_time, parse_gtfs_times
from planner.service_time import ServiceClock
from planner.timetable import Timetable, TimetableStats

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


def compile_timetable(gtfs: GtfsFeed, service_date: dt.date, clock: ServiceClock | None = None) -> Timetable:
    """Compile ``gtfs`` for ``service_date`` in the frame of ``clock`` (a zone-less 24-hour clock when None).

    A date with no service of its own still compiles when a neighbouring day's trips reach into it
    (the previous evening's night trips); with no service on either side, NoServiceError lists the
    dates that have service.
    """
    clock = clock or ServiceClock()
    yesterday = service_date - dt.timedelta(days=1)
    tomorrow = service_date + dt.timedelta(days=1)
    active_today = gtfs.calendar.active_services(service_date)
    active_yesterday = gtfs.calendar.active_services(yesterday)
    active_tomorrow = gtfs.calendar.active_services(tomorrow)
    if not (active_today or active_yesterday or active_tomorrow):
        gtfs.require_service(service_date)  # raises, naming the dates with service
    stops = gtfs.table("stops")
    routes = gtfs.table("routes")
    trips = gtfs.table("trips")
    stop_times = gtfs.table("stop_times")
    frequencies = gtfs.table("frequencies")
    transfers = gtfs.table("transfers")
    assert stops is not None and routes is not None and trips is not None and stop_times is not None

    stop_ids = _strings(stops["stop_id"])
    stop_idx = {s: i for i, s in enumerate(stop_ids)}
    route_ids = _strings(routes["route_id"])
    route_idx = {r: i for i, r in enumerate(route_ids)}

    # Trips of today (offset 0) and of the neighbouring days at their origins' offsets in today's frame.
    trips = trips.reset_index(drop=True)
    previous_offset = clock.offset_s(service_date, yesterday)
    next_offset = clock.offset_s(service_date, tomorrow)
    day_offsets = [(0, active_today), (previous_offset, active_yesterday), (next_offset, active_tomorrow)]
    runs = []
    for offset, services in day_offsets:
        if services:
            chosen = trips[trips["service_id"].isin(services)]
            runs.append(pd.DataFrame({"trip_row": chosen.index.to_numpy(), "offset": offset}))
    trip_runs = pd.concat(runs, ignore_index=True)
    used_rows = np.unique(trip_runs["trip_row"].to_numpy())
    source_trip_ids = _strings(trips["trip_id"])

    # Stop times of the used source trips, ordered by trip then stop_sequence.
    trip_row_of = pd.Series(np.arange(len(trips)), index=source_trip_ids)
    st = stop_times[stop_times["trip_id"].isin(set(source_trip_ids[used_rows]))]
    st = st.assign(trip_row=trip_row_of.loc[st["trip_id"].astype(str)].to_numpy())
    st = st.sort_values(["trip_row", "stop_sequence"], kind="stable")
    st_trip_row = st["trip_row"].to_numpy()
    boundaries = np.flatnonzero(np.diff(st_trip_row)) + 1
    trip_start = np.concatenate([[0], boundaries, [len(st)]])
    trip_rows_with_times = st_trip_row[trip_start[:-1]]
    arrival = parse_gtfs_times(st["arrival_time"])
    departure = parse_gtfs_times(st["departure_time"])
    arrival = np.where(arrival < 0, departure, arrival)
    departure = np.where(departure < 0, arrival, departure)
    arrival = _interpolate_missing(arrival, trip_start)
    departure = _interpolate_missing(departure, trip_start)
    st_stop = np.array([stop_idx[s] for s in st["stop_id"].astype(str)], dtype=np.int32)
    pickup = st["pickup_type"].fillna(0).to_numpy() if "pickup_type" in st else np.zeros(len(st))
    dropoff = st["drop_off_type"].fillna(0).to_numpy() if "drop_off_type" in st else np.zeros(len(st))
    can_board = np.asarray(pickup != 1, dtype=bool)
    can_alight = np.asarray(dropoff != 1, dtype=bool)

    # One "template" per source trip: its stops and times relative to nothing (absolute).
    template_of_row = {int(r): k for k, r in enumerate(trip_rows_with_times)}
    route_of_row = _strings(trips["route_id"])

    # Frequency expansion: a template listed in frequencies.txt runs at start, start+h, ... < end
    # (end exclusive, as the GTFS reference's example). exact_times=0 (headway-based service) is
    # expanded the same way, since RAPTOR needs explicit trips; the schedule then represents the
    # average headway rather than exact departures.
    freq_by_row: dict[int, list[tuple[int, int, int]]] = {}
    n_freq_rows = 0
    if frequencies is not None and len(frequencies):
        f_start = parse_gtfs_times(frequencies["start_time"])
        f_end = parse_gtfs_times(frequencies["end_time"])
        f_head = frequencies["headway_secs"].to_numpy(dtype=np.int64)
        for tid, s, e, h in zip(_strings(frequencies["trip_id"]), f_start, f_end, f_head, strict=True):
            row = int(trip_row_of[tid])
            if row in template_of_row:
                freq_by_row.setdefault(row, []).append((int(s), int(e), int(h)))
                n_freq_rows += 1

    # Every compiled trip: (template k, time shift, is frequency, label).
    inst_template: list[int] = []
    inst_shift: list[int] = []
    inst_freq: list[bool] = []
    inst_label: list[str] = []
    earliest_end = -PREVIOUS_DAY_WINDOW_S  # a previous-day trip must end after this (today's frame)
    latest_start = next_offset + NEXT_DAY_WINDOW_S  # a next-day trip must start before this

    def outside(first: int, last: int, offset: int) -> bool:
        return (offset < 0 and last < earliest_end) or (offset > 0 and first >= latest_start)

    for row, offset in zip(trip_runs["trip_row"], trip_runs["offset"], strict=True):
        k = template_of_row.get(int(row))
        if k is None:
            continue  # a trip without stop_times never runs
        first_dep = int(departure[trip_start[k]])
        last_arr = int(arrival[trip_start[k + 1] - 1])
        suffix = "" if offset == 0 else ("@prev-day" if offset < 0 else "@next-day")
        if int(row) in freq_by_row:
            for s, e, h in freq_by_row[int(row)]:
                for start in range(s, e, h):
                    shift = start - first_dep + offset
                    if outside(first_dep + shift, last_arr + shift, offset):
                        continue
                    inst_template.append(k)
                    inst_shift.append(shift)
                    inst_freq.append(True)
                    inst_label.append(f"{source_trip_ids[row]}@{format_gtfs_time(start)}{suffix}")
        else:
            if outside(first_dep + offset, last_arr + offset, offset):
                continue
            inst_template.append(k)
            inst_shift.append(offset)
            inst_freq.append(False)
            inst_label.append(f"{source_trip_ids[row]}{suffix}")

    if not active_today and not inst_template:
        gtfs.require_service(service_date)  # no trips of its own, none of a neighbour's reach it: raises

    # Pattern key: route, stop sequence and pickup/drop-off rules of the template.
    key_of_template: list[tuple[Any, ...]] = []
    for k, row in enumerate(trip_rows_with_times):
        a, b = trip_start[k], trip_start[k + 1]
        key_of_template.append(
            (route_idx[route_of_row[row]], st_stop[a:b].tobytes(), can_board[a:b].tobytes(), can_alight[a:b].tobytes())
        )
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, k in enumerate(inst_template):
        groups.setdefault(key_of_template[k], []).append(i)

    pattern_route: list[int] = []
    pattern_stops: list[np.ndarray] = []
    pattern_board: list[np.ndarray] = []
    pattern_alight: list[np.ndarray] = []
    pattern_trips: list[list[int]] = []
    pattern_arr: list[np.ndarray] = []
    pattern_dep: list[np.ndarray] = []
    n_split = 0
    inst_template_arr = np.array(inst_template, dtype=np.int64)
    inst_shift_arr = np.array(inst_shift, dtype=np.int64)
    for key in sorted(groups, key=lambda key: (key[0], key[1])):
        members = np.array(groups[key])
        k0 = inst_template_arr[members[0]]
        a, b = trip_start[k0], trip_start[k0 + 1]
        n = b - a
        arr_m = np.stack([arrival[trip_start[t] : trip_start[t] + n] for t in inst_template_arr[members]])
        dep_m = np.stack([departure[trip_start[t] : trip_start[t] + n] for t in inst_template_arr[members]])
        arr_m = arr_m + inst_shift_arr[members][:, None]
        dep_m = dep_m + inst_shift_arr[members][:, None]
        order = np.lexsort((arr_m[:, -1], dep_m[:, 0]))
        # Greedy FIFO split: a trip joins the first sub-pattern whose last trip it never overtakes.
        subs: list[list[int]] = []
        for i in order:
            for sub in subs:
                j = sub[-1]
                if (arr_m[i] >= arr_m[j]).all() and (dep_m[i] >= dep_m[j]).all():
                    sub.append(int(i))
                    break
            else:
                subs.append([int(i)])
        n_split += len(subs) - 1
        for sub in subs:
            pattern_route.append(key[0])
            pattern_stops.append(st_stop[a:b])
            pattern_board.append(can_board[a:b])
            pattern_alight.append(can_alight[a:b])
            pattern_trips.append([int(members[i]) for i in sub])
            pattern_arr.append(arr_m[sub].ravel())
            pattern_dep.append(dep_m[sub].ravel())

    n_patterns = len(pattern_route)
    stop_counts = np.array([len(s) for s in pattern_stops], dtype=np.int64)
    trip_counts = np.array([len(t) for t in pattern_trips], dtype=np.int64)
    pattern_stop_start = np.concatenate([[0], np.cumsum(stop_counts)]).astype(np.int32)
    pattern_trip_start = np.concatenate([[0], np.cumsum(trip_counts)]).astype(np.int32)
    pattern_time_start = (
        np.concatenate([[0], np.cumsum(stop_counts * trip_counts)[:-1]]).astype(np.int64)
        if n_patterns
        else np.zeros(0, dtype=np.int64)
    )
    flat_stops = np.concatenate(pattern_stops).astype(np.int32) if n_patterns else np.zeros(0, np.int32)
    trip_order = np.array([i for t in pattern_trips for i in t], dtype=np.int64)

    # stop -> patterns (each pattern once per stop even if it loops through the stop twice)
    pairs = (
        np.unique(np.stack([flat_stops, np.repeat(np.arange(n_patterns), stop_counts)]), axis=1)
        if n_patterns
        else np.zeros((2, 0), dtype=np.int64)
    )
    stop_pattern_start = np.searchsorted(pairs[0], np.arange(len(stop_ids) + 1)).astype(np.int32)

    source_rows = trip_rows_with_times[inst_template_arr[trip_order]] if len(trip_order) else np.zeros(0, np.int64)
    headsigns = _optional_strings(trips, "trip_headsign")
    shapes = _optional_strings(trips, "shape_id")

    parent = np.full(len(stop_ids), -1, dtype=np.int32)
    if "parent_station" in stops:
        for i, p in enumerate(_strings(stops["parent_station"])):
            if p:
                parent[i] = stop_idx.get(p, -1)
    location_type = (
        stops["location_type"].fillna(0).to_numpy(dtype=np.int8)
        if "location_type" in stops
        else np.zeros(len(stop_ids), np.int8)
    )

    if transfers is not None and len(transfers):
        t_from = np.array([stop_idx[s] for s in _strings(transfers["from_stop_id"])], dtype=np.int32)
        t_to = np.array([stop_idx[s] for s in _strings(transfers["to_stop_id"])], dtype=np.int32)
        t_type = transfers["transfer_type"].fillna(0).to_numpy(dtype=np.int8)
        t_min = (
            transfers["min_transfer_time"].fillna(-1).to_numpy(dtype=np.int32)
            if "min_transfer_time" in transfers
            else np.full(len(t_from), -1, np.int32)
        )
    else:
        t_from = t_to = np.zeros(0, np.int32)
        t_type = np.zeros(0, np.int8)
        t_min = np.zeros(0, np.int32)

    active_routes = {key[0] for key in groups}
    stats = TimetableStats(
        trips_in_feed=len(trips),
        trips_active=int(trips["service_id"].isin(active_today).sum()),
        frequency_templates=len(freq_by_row),
        frequency_rows=n_freq_rows,
        trips_after_expansion=len(inst_template),
        trips_from_previous_day=sum(label.endswith("@prev-day") for label in inst_label),
        trips_from_next_day=sum(label.endswith("@next-day") for label in inst_label),
        patterns=n_patterns,
        patterns_split_for_overtaking=n_split,
        routes_active=len(active_routes),
        stop_times=int(stop_counts @ trip_counts) if n_patterns else 0,
    )
    return Timetable(
        service_date=service_date,
        stop_ids=stop_ids,
        stop_names=_optional_strings(stops, "stop_name"),
        stop_lat=stops["stop_lat"].to_numpy(dtype=np.float64),
        stop_lon=stops["stop_lon"].to_numpy(dtype=np.float64),
        stop_parent=parent,
        stop_location_type=location_type,
        route_ids=route_ids,
        route_short_names=_optional_strings(routes, "route_short_name"),
        route_long_names=_optional_strings(routes, "route_long_name"),
        route_types=routes["route_type"].to_numpy(dtype=np.int32),
        pattern_route=np.array(pattern_route, dtype=np.int32),
        pattern_stop_start=pattern_stop_start,
        pattern_stops=flat_stops,
        pattern_can_board=np.concatenate(pattern_board) if n_patterns else np.zeros(0, bool),
        pattern_can_alight=np.concatenate(pattern_alight) if n_patterns else np.zeros(0, bool),
        pattern_trip_start=pattern_trip_start,
        pattern_time_start=pattern_time_start,
        trip_ids=np.array([inst_label[i] for i in trip_order], dtype=str),
        trip_source_ids=source_trip_ids[source_rows],
        trip_shape_ids=shapes[source_rows],
        trip_headsigns=headsigns[source_rows],
        trip_from_frequency=np.array([inst_freq[i] for i in trip_order], dtype=bool),
        arrivals=np.concatenate(pattern_arr).astype(np.int32) if n_patterns else np.zeros(0, np.int32),
        departures=np.concatenate(pattern_dep).astype(np.int32) if n_patterns else np.zeros(0, np.int32),
        stop_pattern_start=stop_pattern_start,
        stop_patterns=pairs[1].astype(np.int32),
        transfer_from=t_from,
        transfer_to=t_to,
        transfer_type=t_type,
        transfer_min_time=t_min,
        stats=stats,
    )
