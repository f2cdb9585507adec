"""Compiling a feed for a day: frequency expansion, midnight, patterns, overtaking, round trip."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from feedmaker import BASE_TABLES, write_feed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.gtfs_feed import load_feed
from planner.timetable import Timetable
from planner.timetable_compiler import compile_timetable

TUESDAY = dt.date(2022, 2, 22)


def compile_with(tmp_path: Path, overrides: dict[str, str | None], date: dt.date = TUESDAY) -> Timetable:
    return compile_timetable(load_feed(write_feed(tmp_path, overrides)), date)


def hm(text: str) -> int:
    h, m = text.split(":")
    return int(h) * 3600 + int(m) * 60


def test_plain_trips_become_one_pattern_sorted_by_departure(tmp_path: Path) -> None:
    tt = compile_with(tmp_path, {})
    assert tt.n_patterns == 1 and tt.n_trips == 2
    arr, dep = tt.trip_times(0)
    assert dep[:, 0].tolist() == [hm("08:00"), hm("09:00")]
    assert arr[0].tolist() == [hm("08:00"), hm("08:05"), hm("08:10")]
    assert dep[0, 1] == hm("08:05") + 30
    assert [tt.stop_ids[s] for s in tt.pattern_stop_list(0)] == ["S1", "S2", "S3"]


def test_frequency_expansion_exact_times_1_end_exclusive(tmp_path: Path) -> None:
    frequencies = "trip_id,start_time,end_time,headway_secs,exact_times\nT1,07:00:00,08:00:00,1200,1\n"
    tt = compile_with(tmp_path, {"frequencies.txt": frequencies})
    from_freq = tt.trip_from_frequency
    assert from_freq.sum() == 3  # 07:00, 07:20, 07:40; 08:00 is the end and excluded
    starts = sorted(tt.departures_from("S1").tolist())
    assert starts == [hm("07:00"), hm("07:20"), hm("07:40"), hm("09:00")]  # T1 itself is a template only
    # relative times of the template are kept: S1 -> S2 takes 5 min, dwell 30 s
    p = 0
    arr, dep = tt.trip_times(p)
    assert (arr[:, 1] - dep[:, 0]).tolist() == [300] * 4
    assert sorted(t for t in tt.trip_ids if "@" in t) == ["T1@07:00:00", "T1@07:20:00", "T1@07:40:00"]


def test_frequency_expansion_exact_times_0_and_missing_column(tmp_path: Path) -> None:
    for header, row in (("exact_times", ",0"), ("", "")):
        cols = "trip_id,start_time,end_time,headway_secs" + ("," + header if header else "")
        frequencies = f"{cols}\nT2,06:00:00,06:31:00,600{row}\n"
        tt = compile_with(tmp_path / (header or "none"), {"frequencies.txt": frequencies})
        starts = tt.departures_from("S1").tolist()
        assert starts == [hm("06:00"), hm("06:10"), hm("06:20"), hm("06:30"), hm("08:00")]


def test_times_after_midnight_are_kept_and_previous_day_trips_included(tmp_path: Path) -> None:
    stop_times = BASE_TABLES["stop_times.txt"] + (
        "T3,23:50:00,23:50:00,S1,1\nT3,24:05:00,24:05:00,S2,2\nT3,25:10:00,25:10:00,S3,3\n"
    )
    trips = BASE_TABLES["trips.txt"] + "R1,WK,T3,Late\n"
    tt = compile_with(tmp_path, {"stop_times.txt": stop_times, "trips.txt": trips})
    today = [t for t in tt.trip_ids if t == "T3"]
    yesterday = [t for t in tt.trip_ids if t == "T3@prev-day"]
    assert today and yesterday
    arr, _ = tt.trip_times(0)
    assert hm("25:10") in arr[:, 2].tolist()  # past 24:00, not wrapped
    assert hm("25:10") - 86400 in arr[:, 2].tolist()  # Monday's late trip on Tuesday's clock
    # Monday (first day of the calendar) has no previous-day service
    monday = compile_with(tmp_path / "mon", {"stop_times.txt": stop_times, "trips.txt": trips}, dt.date(2022, 2, 21))
    assert "T3@prev-day" not in monday.trip_ids.tolist()
    assert tt.stats.trips_from_previous_day == 1


def test_different_stop_sequences_and_pickup_rules_make_different_patterns(tmp_path: Path) -> None:
    trips = BASE_TABLES["trips.txt"] + "R1,WK,T3,Short\nR1,WK,T4,NoPickup\nR2,WK,T5,Tram\n"
    stop_times = BASE_TABLES["stop_times.txt"] + (
        "T3,10:00:00,10:00:00,S1,1\nT3,10:05:00,10:05:00,S2,2\n"
        "T4,11:00:00,11:00:00,S1,1\nT4,11:05:00,11:05:00,S2,2\nT4,11:10:00,11:10:00,S3,3\n"
        "T5,12:00:00,12:00:00,S1,1\nT5,12:05:00,12:05:00,S2,2\nT5,12:10:00,12:10:00,S3,3\n"
    )
    stop_times = stop_times.replace(
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence",
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence,pickup_type",
    )
    lines = stop_times.splitlines()
    lines = [lines[0]] + [line + (",1" if line.startswith("T4") and line.endswith(",2") else ",") for line in lines[1:]]
    tt = compile_with(tmp_path, {"trips.txt": trips, "stop_times.txt": "\n".join(lines) + "\n"})
    # T1+T2 | T3 (shorter) | T4 (no pickup at S2) | T5 (other route)
    assert tt.n_patterns == 4
    sizes = sorted(int(n) for n in np.diff(tt.pattern_trip_start))
    assert sizes == [1, 1, 1, 2]
    t4 = [
        p
        for p in range(tt.n_patterns)
        if not tt.pattern_can_board[tt.pattern_stop_start[p] : tt.pattern_stop_start[p + 1]].all()
    ]
    assert len(t4) == 1
    assert tt.departures_from("S2").tolist() == [hm("08:05") + 30, hm("09:05"), hm("10:05"), hm("12:05")]


def test_overtaking_trips_are_split_into_fifo_patterns(tmp_path: Path) -> None:
    # T_EXP leaves after T1 but arrives before it: it overtakes, so it needs its own pattern.
    trips = BASE_TABLES["trips.txt"] + "R1,WK,TEXP,Express\n"
    stop_times = BASE_TABLES["stop_times.txt"] + (
        "TEXP,08:02:00,08:02:00,S1,1\nTEXP,08:04:00,08:04:00,S2,2\nTEXP,08:06:00,08:06:00,S3,3\n"
    )
    tt = compile_with(tmp_path, {"trips.txt": trips, "stop_times.txt": stop_times})
    assert tt.n_patterns == 2
    assert tt.stats.patterns_split_for_overtaking == 1
    for p in range(tt.n_patterns):
        arr, dep = tt.trip_times(p)
        assert (np.diff(arr, axis=0) >= 0).all() and (np.diff(dep, axis=0) >= 0).all()


def test_missing_intermediate_times_are_interpolated(tmp_path: Path) -> None:
    stop_times = BASE_TABLES["stop_times.txt"].replace("T2,09:05:00,09:05:00,S2,2", "T2,,,S2,2")
    tt = compile_with(tmp_path, {"stop_times.txt": stop_times})
    arr, _ = tt.trip_times(0)
    assert arr[1, 1] == hm("09:05")


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    frequencies = "trip_id,start_time,end_time,headway_secs,exact_times\nT1,07:00:00,08:00:00,1200,1\n"
    transfers = "from_stop_id,to_stop_id,transfer_type,min_transfer_time\nS1,S2,2,120\n"
    tt = compile_with(tmp_path, {"frequencies.txt": frequencies, "transfers.txt": transfers})
    tt.save(tmp_path / "tt.npz")
    loaded = Timetable.load(tmp_path / "tt.npz")
    assert loaded.service_date == tt.service_date and loaded.stats == tt.stats
    for name in ("arrivals", "departures", "trip_ids", "pattern_stops", "stop_patterns", "transfer_min_time"):
        assert np.array_equal(getattr(loaded, name), getattr(tt, name))
    assert loaded.transfer_min_time.tolist() == [120]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(st.integers(0, 3600), st.lists(st.integers(60, 900), min_size=3, max_size=3)), min_size=1, max_size=12
    )
)
def test_random_trips_each_compiled_once_and_every_pattern_fifo(tmp_path: Path, trips: list) -> None:
    """Independent check: the multiset of (departure at S1, arrival at S4) is preserved and
    every compiled pattern is FIFO at every stop."""
    trip_rows = ["route_id,service_id,trip_id"]
    st_rows = ["trip_id,arrival_time,departure_time,stop_id,stop_sequence"]
    expected = []
    for i, (start, legs) in enumerate(trips):
        trip_rows.append(f"R1,WK,X{i}")
        t = 6 * 3600 + start
        times = [t]
        for leg in legs:
            t += leg
            times.append(t)
        for j, time in enumerate(times):
            clock = f"{time // 3600:02d}:{time // 60 % 60:02d}:{time % 60:02d}"
            st_rows.append(f"X{i},{clock},{clock},S{j + 1},{j + 1}")
        expected.append((times[0], times[-1]))
    tt = compile_with(
        tmp_path / f"h{abs(hash(str(trips)))}",
        {"trips.txt": "\n".join(trip_rows) + "\n", "stop_times.txt": "\n".join(st_rows) + "\n"},
    )
    got = []
    for p in range(tt.n_patterns):
        arr, dep = tt.trip_times(p)
        assert (np.diff(arr, axis=0) >= 0).all() and (np.diff(dep, axis=0) >= 0).all()
        got += list(zip(dep[:, 0].tolist(), arr[:, -1].tolist(), strict=True))
    assert sorted(got) == sorted(expected)
